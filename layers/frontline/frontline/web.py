"""Shared HTTP API plumbing: the resolver every read handler uses, and the one error shape.

Errors are ``{"error": {"code", "message"}}`` with a 4xx status; a request id is added when API
Gateway gave one. JSON integers stay exact (Python's json never turns a BIGINT into a float).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

JSON = content_types.APPLICATION_JSON


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
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_request", _describe_validation(exc), request_id())

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, request_id(), exc.headers)

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route", request_id())

    return app
