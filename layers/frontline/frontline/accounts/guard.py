"""Who is calling: an API key (``Authorization: Bearer <key>`` or ``X-API-Key``) or a session cookie.

The checks raise ``ApiError`` (401 unknown credentials, 403 disabled key / banned user / missing role,
429 over the rate limit); a check that passes leaves the caller in ``app.context["principal"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response

from frontline import db
from frontline.accounts import audit, store, tokens
from frontline.accounts.settings import account_settings
from frontline.web import ApiError

SESSION_COOKIE = "__Host-fl_session"
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str | None
    role: str
    via: Literal["api_key", "session"]
    api_key_id: str | None = None


def _header(app: Any, name: str) -> str | None:
    return app.current_event.headers.get(name)  # case-insensitive


def presented_api_key(app: Any) -> str | None:
    key = _header(app, "x-api-key")
    if key:
        return key.strip()
    scheme, _, credentials = (_header(app, "authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def cookie(app: Any, name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    for pair in app.current_event.cookies or []:
        try:
            jar.load(pair)
        except CookieError:
            continue  # a malformed cookie of someone else's is not our problem
    morsel = jar.get(name)
    return morsel.value if morsel else None


def client_ip(app: Any) -> str | None:
    return app.current_event.request_context.http.source_ip or None


def user_agent(app: Any) -> str | None:
    return app.current_event.request_context.http.user_agent or None


def _scope(app: Any) -> str:
    request = app.request
    return f"{request.method} {request.route}"


def authenticate_api_key(app: Any, rate_limit_per_minute: int | None = None) -> Principal:
    key = presented_api_key(app)
    if not key:
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthenticated", "this route needs an API key")
    row = store.authenticate_api_key(db.connection(), tokens.digest(key), _scope(app))
    if row is None:
        raise ApiError(HTTPStatus.UNAUTHORIZED, "invalid_api_key", "unknown API key")
    if row["banned"]:
        raise ApiError(HTTPStatus.FORBIDDEN, "banned", "the key's owner is banned")
    if not row["enabled"]:
        raise ApiError(HTTPStatus.FORBIDDEN, "api_key_disabled", "this API key is disabled")
    limit = rate_limit_per_minute or account_settings().api_key_rate_limit_per_minute
    if row["hits"] > limit:
        raise ApiError(HTTPStatus.TOO_MANY_REQUESTS, "rate_limited",
                       f"more than {limit} requests per minute with this key on this route",
                       headers={"Retry-After": str(row["retry_after"])})
    return Principal(row["user_id"], row["username"], row["role"], "api_key", row["api_key_id"])


def session_row(app: Any) -> dict[str, Any] | None:
    """The live session of the request's cookie, or None. A banned user's sessions are all revoked
    (by the lookup itself) and the request gets 403."""
    token = cookie(app, SESSION_COOKIE)
    if not token:
        return None
    row = store.session_user(db.connection(), tokens.digest(token))
    if row is not None and row["banned"]:
        raise ApiError(HTTPStatus.FORBIDDEN, "banned", "this user is banned; their sessions are revoked")
    return row


def authenticate_session(app: Any) -> Principal:
    row = session_row(app)
    if row is None:
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthenticated", "sign in first")
    return Principal(row["user_id"], row["username"], row["role"], "session")


def authenticate(app: Any) -> Principal:
    """The caller by API key when one is presented, else by session cookie."""
    if presented_api_key(app):
        return authenticate_api_key(app)
    return authenticate_session(app)


def principal(app: Any) -> Principal:
    """The caller a check has already established for this request."""
    return app.context["principal"]


Middleware = Callable[[Any, Callable[[Any], Response]], Response]


def middleware(check: Callable[[Any], Principal]) -> Middleware:
    """A powertools middleware that runs ``check`` and keeps its answer as the request's principal."""

    def run_check(app: Any, next_middleware: Callable[[Any], Response]) -> Response:
        app.context["principal"] = check(app)
        return next_middleware(app)

    return run_check


def require_user() -> Middleware:
    """A signed-in user, by session or API key."""
    return middleware(authenticate)


def require_session() -> Middleware:
    """A signed-in user by session only: what a leaked API key must not reach (minting more keys)."""
    return middleware(authenticate_session)


def authorize_admin(app: Any) -> Principal:
    """The caller (already established, else by key or session) must have the admin role. The action
    is written to the audit log before it runs, so none escapes the log, even one that then fails."""
    caller = app.context.get("principal") or authenticate(app)
    if caller.role != ADMIN_ROLE:
        raise ApiError(HTTPStatus.FORBIDDEN, "forbidden", "this route needs the admin role")
    audit.record_request(app, caller)
    return caller

