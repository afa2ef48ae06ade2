"""Every SQL statement of the accounts domain. Functions take a connection and return plain dicts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

RATE_WINDOW = timedelta(minutes=1)


def _one(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchone()


def _all(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return conn.cursor(row_factory=dict_row).execute(sql, params).fetchall()


# --- users ---------------------------------------------------------------------------------------

def create_user(conn: psycopg.Connection, username: str) -> dict[str, Any] | None:
    """None when the username is taken."""
    return _one(conn, """
        INSERT INTO "User" (username, name) VALUES (%(username)s, %(username)s)
        ON CONFLICT (username) DO NOTHING
        RETURNING id, username, role, banned
    """, {"username": username})


def user_by_username(conn: psycopg.Connection, username: str) -> dict[str, Any] | None:
    return _one(conn, 'SELECT id, username, role, banned FROM "User" WHERE username = %(username)s',
                {"username": username})


def set_role(conn: psycopg.Connection, username: str, role: str) -> dict[str, Any] | None:
    return _one(conn, """
        UPDATE "User" SET role = %(role)s, "updatedAt" = now() WHERE username = %(username)s
        RETURNING id, username, role, banned
    """, {"username": username, "role": role})


def set_banned(conn: psycopg.Connection, user_id: str, banned: bool) -> dict[str, Any] | None:
    """Ban (and revoke every session at once) or unban a user; None when there is no such user."""
    return _one(conn, """
        WITH target AS (
            UPDATE "User" SET banned = %(banned)s, "updatedAt" = now() WHERE id = %(user_id)s
            RETURNING id, username, role, banned
        ), revoked AS (
            DELETE FROM "Session" s USING target WHERE s."userId" = target.id AND target.banned
        )
        SELECT id, username, role, banned FROM target
    """, {"user_id": user_id, "banned": banned})


# --- API keys ------------------------------------------------------------------------------------

_KEY_COLUMNS = 'id, visible, description, enabled, "createdAt"'


def insert_api_key(conn: psycopg.Connection, user_id: str, key_hash: str, visible: str,
                   description: str) -> dict[str, Any]:
    return _one(conn, f"""
        INSERT INTO "ApiKey" (hash, visible, "userId", description)
        VALUES (%(hash)s, %(visible)s, %(user_id)s, %(description)s)
        RETURNING {_KEY_COLUMNS}
    """, {"hash": key_hash, "visible": visible, "user_id": user_id, "description": description})


def list_api_keys(conn: psycopg.Connection, user_id: str) -> list[dict[str, Any]]:
    return _all(conn, f'SELECT {_KEY_COLUMNS} FROM "ApiKey" WHERE "userId" = %(user_id)s ORDER BY id',
                {"user_id": user_id})


def set_api_key_enabled(conn: psycopg.Connection, user_id: str, key_id: str, enabled: bool) -> dict[str, Any] | None:
    return _one(conn, f"""
        UPDATE "ApiKey" SET enabled = %(enabled)s WHERE id = %(key_id)s AND "userId" = %(user_id)s
        RETURNING {_KEY_COLUMNS}
    """, {"user_id": user_id, "key_id": key_id, "enabled": enabled})


def delete_api_key(conn: psycopg.Connection, user_id: str, key_id: str) -> bool:
    cur = conn.execute('DELETE FROM "ApiKey" WHERE id = %(key_id)s AND "userId" = %(user_id)s',
                       {"user_id": user_id, "key_id": key_id})
    return cur.rowcount == 1


def authenticate_api_key(conn: psycopg.Connection, key_hash: str, scope: str) -> dict[str, Any] | None:
    """Find the key by hash and, when it is usable, count this request in its current fixed window
    for ``scope``, dropping the key's expired windows of that scope: one round trip. ``hits`` is null
    for a disabled key or a banned owner (such requests are refused, not counted)."""
    return _one(conn, """
        WITH key AS (
            SELECT k.id AS api_key_id, k.enabled, u.id AS user_id, u.username, u.role, u.banned
            FROM "ApiKey" k JOIN "User" u ON u.id = k."userId"
            WHERE k.hash = %(hash)s
        ), current_window AS (
            SELECT date_bin(%(window)s, now(), TIMESTAMPTZ 'epoch') AS started
        ), expired AS (
            DELETE FROM api_key_rate_window w USING key, current_window
            WHERE w.api_key_id = key.api_key_id AND w.scope = %(scope)s AND w.window_start < current_window.started
        ), hit AS (
            INSERT INTO api_key_rate_window AS w (api_key_id, scope, window_start, hits)
            SELECT key.api_key_id, %(scope)s, current_window.started, 1
            FROM key, current_window WHERE key.enabled AND NOT key.banned
            ON CONFLICT (api_key_id, scope, window_start) DO UPDATE SET hits = w.hits + 1
            RETURNING hits, window_start
        )
        SELECT key.*, hit.hits,
               greatest(1, ceil(extract(epoch FROM hit.window_start + %(window)s - now())))::int AS retry_after
        FROM key LEFT JOIN hit ON true
    """, {"hash": key_hash, "scope": scope, "window": RATE_WINDOW})


# --- sessions ------------------------------------------------------------------------------------

def insert_session(conn: psycopg.Connection, token_hash: str, user_id: str, ttl: timedelta,
                   ip_address: str | None, user_agent: str | None) -> dict[str, Any]:
    """A new session; the user's expired sessions go in the same statement."""
    return _one(conn, """
        WITH expired AS (
            DELETE FROM "Session" WHERE "userId" = %(user_id)s AND "expiresAt" <= now()
        )
        INSERT INTO "Session" (token, "userId", "expiresAt", "ipAddress", "userAgent")
        VALUES (%(token)s, %(user_id)s, now() + %(ttl)s, %(ip)s, %(ua)s)
        RETURNING id, "expiresAt"
    """, {"token": token_hash, "user_id": user_id, "ttl": ttl, "ip": ip_address, "ua": user_agent})


def session_user(conn: psycopg.Connection, token_hash: str) -> dict[str, Any] | None:
    """The live session's user. When that user is banned, every session of theirs is deleted by the
    same statement (the caller answers 403)."""
    return _one(conn, """
        WITH found AS (
            SELECT s.id AS session_id, s."expiresAt", u.id AS user_id, u.username, u.name, u.image, u.role, u.banned
            FROM "Session" s JOIN "User" u ON u.id = s."userId"
            WHERE s.token = %(token)s AND s."expiresAt" > now()
        ), revoked AS (
            DELETE FROM "Session" s USING found WHERE s."userId" = found.user_id AND found.banned
        )
        SELECT * FROM found
    """, {"token": token_hash})


def delete_session(conn: psycopg.Connection, token_hash: str) -> None:
    conn.execute('DELETE FROM "Session" WHERE token = %(token)s', {"token": token_hash})


# --- OAuth ---------------------------------------------------------------------------------------

def insert_oauth_state(conn: psycopg.Connection, state: str, value: dict[str, Any], ttl: timedelta) -> None:
    """Remember a login's state (Verification.identifier) with its PKCE verifier; expired states of
    earlier logins go in the same statement."""
    conn.execute("""
        WITH expired AS (DELETE FROM "Verification" WHERE "expiresAt" <= now())
        INSERT INTO "Verification" (identifier, value, "expiresAt") VALUES (%(state)s, %(value)s, now() + %(ttl)s)
    """, {"state": state, "value": json.dumps(value), "ttl": ttl})


def take_oauth_state(conn: psycopg.Connection, state: str) -> str | None:
    """Consume a live state: it works once."""
    row = conn.execute("""
        DELETE FROM "Verification" WHERE identifier = %(state)s AND "expiresAt" > now() RETURNING value
    """, {"state": state}).fetchone()
    return row[0] if row else None


def upsert_oauth_user(conn: psycopg.Connection, provider: str, profile: dict[str, Any],
                      link_to_user_id: str | None) -> dict[str, Any]:
    """The user owning (provider, account id), creating the user (or linking the account to
    ``link_to_user_id``, the signed-in user) the first time. A username or email already used by
    another user is left empty rather than merged: accounts are linked only by signing in.
    Raises ``AccountLinkedElsewhere``. Call inside a transaction."""
    params = {"provider": provider, **profile}
    owner = _one(conn, """
        UPDATE "Account" SET scope = %(scope)s, "updatedAt" = now()
        WHERE "providerId" = %(provider)s AND "accountId" = %(account_id)s
        RETURNING "userId"
    """, params)
    if owner is not None:
        if link_to_user_id is not None and owner["userId"] != link_to_user_id:
            raise AccountLinkedElsewhere(provider)
        user_id = owner["userId"]
    else:
        user_id = link_to_user_id or _one(conn, """
            INSERT INTO "User" (name, username, email, "emailVerified", image)
            SELECT %(name)s,
                   CASE WHEN EXISTS (SELECT FROM "User" WHERE username = %(username)s) THEN NULL ELSE %(username)s END,
                   CASE WHEN EXISTS (SELECT FROM "User" WHERE email = %(email)s) THEN NULL ELSE %(email)s END,
                   %(email_verified)s, %(image)s
            RETURNING id
        """, params)["id"]
        conn.execute("""
            INSERT INTO "Account" ("userId", "accountId", "providerId", scope)
            VALUES (%(user_id)s, %(account_id)s, %(provider)s, %(scope)s)
        """, {**params, "user_id": user_id})
    return _one(conn, 'SELECT id, username, role, banned FROM "User" WHERE id = %(id)s', {"id": user_id})


class AccountLinkedElsewhere(Exception):
    pass


# --- settings ------------------------------------------------------------------------------------

def get_settings(conn: psycopg.Connection, user_id: str) -> dict[str, Any]:
    row = conn.execute('SELECT settings FROM "Settings" WHERE "userId" = %(user_id)s', {"user_id": user_id}).fetchone()
    return row[0] if row else {}


def put_settings(conn: psycopg.Connection, user_id: str, settings: dict[str, Any]) -> dict[str, Any]:
    return conn.execute("""
        INSERT INTO "Settings" ("userId", settings) VALUES (%(user_id)s, %(settings)s)
        ON CONFLICT ("userId") DO UPDATE SET settings = excluded.settings
        RETURNING settings
    """, {"user_id": user_id, "settings": Jsonb(settings)}).fetchone()[0]


# --- reviews -------------------------------------------------------------------------------------

_REVIEW_COLUMNS = ('r.id, r.title, r.content, r.published, r."authorId", r."createdAt", r."updatedAt", '
                   '(SELECT u.username FROM "User" u WHERE u.id = r."authorId") AS author')


def insert_review(conn: psycopg.Connection, author_id: str, title: str, content: str | None) -> dict[str, Any]:
    return _one(conn, f"""
        INSERT INTO "Review" AS r (title, content, "authorId") VALUES (%(title)s, %(content)s, %(author_id)s)
        RETURNING {_REVIEW_COLUMNS}
    """, {"title": title, "content": content, "author_id": author_id})


def list_reviews(conn: psycopg.Connection, *, author_id: str | None = None, published_only: bool,
                 before: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest first (ids are UUIDv7, so id order is creation order), ``before`` an id for the next page."""
    return _all(conn, f"""
        SELECT {_REVIEW_COLUMNS}
        FROM "Review" r
        WHERE (%(author_id)s::text IS NULL OR r."authorId" = %(author_id)s)
          AND (NOT %(published_only)s OR r.published)
          AND (%(before)s::text IS NULL OR r.id < lower(%(before)s))  -- ids are lowercase text
        ORDER BY r.id DESC
        LIMIT %(limit)s
    """, {"author_id": author_id, "published_only": published_only, "before": before, "limit": limit})


def set_review_published(conn: psycopg.Connection, review_id: str, published: bool) -> dict[str, Any] | None:
    return _one(conn, f"""
        UPDATE "Review" AS r SET published = %(published)s, "updatedAt" = now() WHERE id = %(review_id)s
        RETURNING {_REVIEW_COLUMNS}
    """, {"review_id": review_id, "published": published})


# --- audit ---------------------------------------------------------------------------------------

def insert_audit(conn: psycopg.Connection, action: str, user_id: str | None, metadata: dict[str, Any],
                 ip_address: str | None, user_agent: str | None) -> None:
    conn.execute("""
        INSERT INTO starforge.audit_logs (action, user_id, metadata, ip_address, user_agent)
        VALUES (left(%(action)s, 255), %(user_id)s::uuid, %(metadata)s, left(%(ip)s, 45), left(%(ua)s, 512))
    """, {"action": action, "user_id": user_id, "metadata": Jsonb(metadata), "ip": ip_address, "ua": user_agent})
