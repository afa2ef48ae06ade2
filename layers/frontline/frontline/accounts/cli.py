"""``frontline users …`` and ``frontline keys …``: start a deployment without OAuth (first admin, first
key). They use the database named by POSTGRES_URL (or DB_SECRET_ARN)."""

from __future__ import annotations

import argparse
import sys

from frontline import db
from frontline.accounts import audit, guard, store, tokens


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _cmd_users_create(args: argparse.Namespace) -> int:
    user = store.create_user(db.connection(), args.username)
    if user is None:
        return _fail(f"username {args.username!r} is taken")
    print(f"created user {user['username']} ({user['id']})")
    return 0


def _cmd_users_grant_admin(args: argparse.Namespace) -> int:
    with db.transaction() as conn:
        user = store.set_role(conn, args.username, guard.ADMIN_ROLE)
        if user is None:
            return _fail(f"no user {args.username!r}")
        audit.record_cli("cli users grant-admin", {"user_id": user["id"], "username": user["username"]})
    print(f"{user['username']} is now an admin")
    return 0


def _cmd_keys_create(args: argparse.Namespace) -> int:
    user = store.user_by_username(db.connection(), args.username)
    if user is None:
        return _fail(f"no user {args.username!r}")
    new_key = tokens.new_api_key()
    row = store.insert_api_key(db.connection(), user["id"], new_key.hash, new_key.visible, args.description)
    print(f"API key {row['id']} for {user['username']} (shown once, store it now):", file=sys.stderr)
    print(new_key.plaintext)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("create", help="create a user (no OAuth account needed)")
    p.add_argument("--username", required=True)
    p.set_defaults(func=_cmd_users_create)
    p = users.add_parser("grant-admin", help="give a user the admin role (audited)")
    p.add_argument("--username", required=True)
    p.set_defaults(func=_cmd_users_grant_admin)

    keys = subparsers.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("create", help="create an API key for a user and print it once")
    p.add_argument("--username", required=True)
    p.add_argument("--description", default="")
    p.set_defaults(func=_cmd_keys_create)
