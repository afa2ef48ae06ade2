"""Shared HTTP API plumbing: the resolver every read handler uses, the one error shape, and
conditional reads (one statement yields the body and its ETag; If-None-Match gets 304).

Errors are ``{"error": {"code", "message"}}`` with a 4xx status; a request id is added when API
Gateway gave one. JSON integers stay exact (Python's json never turns a BIGINT into a float).
"""

from __future__ import annotations

import hashlib
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from psycopg import DataError
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

JSON = content_types.APPLICATION_JSON
# A path or query parameter that names a row by its UUID (checked before any SQL sees it).
UUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"


class ApiError(Exception):
    """Raised by domain code for a client error: it becomes the documented error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=dumps(body), headers=headers or {})


def error_response(
    status: int, code: str, message: str, request_id: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if request_id:
        error["request_id"] = request_id
    return json_response(status, {"error": error}, headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def make_resolver(*routers: Router) -> APIGatewayHttpResolver:
    """An HTTP API resolver with pydantic validation and the project's error shape."""
    app = APIGatewayHttpResolver(enable_validation=True, serializer=dumps)
    for router in routers:
        app.include_router(router)

    def request_id() -> str | None:
        event = app.current_event
        return event.request_context.request_id if event else None

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return error_response(HTTPStatus.BAD_REQUEST, "invalid_json", "the body is not valid JSON", request_id())
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_request", _describe_validation(exc), request_id())

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, request_id(), exc.headers)

    # powertools decodes every body as UTF-8 before validating it: a binary body raises there.
    @app.exception_handler(UnicodeDecodeError)
    def _not_text(_exc: UnicodeDecodeError) -> Response:
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_json", "the body is not UTF-8 text", request_id())

    # Values PostgreSQL refuses to store (a NUL character in text or JSON, a number out of range) are
    # the client's input, not our fault: 400, and the transaction that met them has rolled back.
    @app.exception_handler(DataError)
    def _unstorable(exc: DataError) -> Response:
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_value",
                              f"a value cannot be stored: {exc.diag.message_primary or type(exc).__name__}",
                              request_id())

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route", request_id())

    return app


# --- conditional reads: ETag, Cache-Control, 304 ---------------------------------------------------


def request_etags(if_none_match: str | None) -> list[str]:
    """The opaque tags an If-None-Match header names (``W/`` and quotes dropped: If-None-Match uses
    the weak comparison), or ``["*"]``."""
    tags = []
    for part in (if_none_match or "").split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag:
            tags.append(tag)
    return tags


def etag_matches(etags: list[str], etag: str) -> bool:
    return "*" in etags or etag.strip('"') in etags


class VersionedQuery:
    """One read statement that answers a conditional request.

    ``version_sql`` yields one row per answerable request (none when the resource does not exist) with
    a text column ``v`` that changes whenever the data behind the answer changes; its other columns are
    visible to ``body_sql``, a scalar subquery building the JSON text. The ETag is md5(query hash ‖ v),
    so a changed query (a new response shape) also changes every ETag. When the request already holds
    the current ETag, PostgreSQL skips building the body.
    """

    def __init__(self, version_sql: str, body_sql: str):
        self.sql = f"""
WITH version AS ({version_sql})
SELECT e.etag,
       CASE WHEN e.etag = ANY(%(if_none_match)s::text[]) OR '*' = ANY(%(if_none_match)s::text[]) THEN NULL
            ELSE ({body_sql})::text END
FROM version CROSS JOIN LATERAL (SELECT md5(%(etag_salt)s || version.v) AS etag) e
"""
        self.salt = hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def fetch(self, conn: Any, params: dict[str, Any], if_none_match: list[str]) -> tuple[str, str | None] | None:
        """``(etag, body)``; body is None when the request's ETag is current; None when nothing matched."""
        row = conn.execute(self.sql, {**params, "if_none_match": if_none_match, "etag_salt": self.salt}).fetchone()
        return None if row is None else (f'"{row[0]}"', row[1])


def cached_response(etag: str, body: str | None, max_age: int, private: bool = False) -> Response:
    """200 with a JSON text body, or 304 when ``body`` is None (the client's copy is current).
    ``private``: an answer to an authenticated request, which no shared cache (a CDN) may keep."""
    headers = {"ETag": etag, "Cache-Control": f"{'private' if private else 'public'}, max-age={max_age}"}
    if body is None:
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=headers)
    return Response(status_code=HTTPStatus.OK, content_type=JSON, body=body, headers=headers)
