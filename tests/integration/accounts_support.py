"""Shared by the accounts and access tests: call a resolver with an API Gateway event, make users,
sessions and keys through the accounts package itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from frontline.accounts import guard, store, tokens
from frontline.local.events import http_api_event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: Any


def call(app, method: str, path: str, *, headers: dict[str, str] | None = None,
         cookies: dict[str, str] | None = None, body: Any = None, source_ip: str = "203.0.113.7") -> Answer:
    raw_path, _, query = path.partition("?")
    all_headers = {"user-agent": "pytest-agent", **(headers or {})}
    if cookies:
        all_headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    event = http_api_event(method=method, raw_path=raw_path, raw_query=query, headers=all_headers,
                           body=json.dumps(body).encode() if body is not None else b"",
                           route_key=f"{method} {raw_path}", path_parameters={}, source_ip=source_ip)
    result = app.resolve(event, None)
    text = result.get("body")
    return Answer(result["statusCode"], {k.lower(): v for k, v in (result.get("headers") or {}).items()},
                  result.get("cookies") or [], json.loads(text) if text else None)


def make_user(conn, username: str, *, role: str = "user") -> str:
    user = store.create_user(conn, username)
    if role != "user":
        store.set_role(conn, username, role)
    return user["id"]


def session_cookie(conn, user_id: str) -> dict[str, str]:
    token = tokens.new_session_token()
    store.insert_session(conn, tokens.digest(token), user_id, timedelta(hours=1), "203.0.113.7", "pytest-agent")
    return {guard.SESSION_COOKIE: token}


def api_key_header(conn, user_id: str, description: str = "test") -> dict[str, str]:
    new_key = tokens.new_api_key()
    store.insert_api_key(conn, user_id, new_key.hash, new_key.visible, description)
    return {"x-api-key": new_key.plaintext}


def audit_rows(conn) -> list[tuple]:
    return conn.execute(
        "SELECT action, user_id::text, metadata, ip_address, user_agent FROM starforge.audit_logs ORDER BY created_at"
    ).fetchall()
