"""Access checks that routes declare as powertools middlewares.

Routes say what they need, for example
``@router.post("/api/v1/snapshots", middlewares=[access.require_api_key(rate_limit_per_minute=30)])``
or ``middlewares=[access.require_admin()]``. The accounts module provides the checks; a check that
passes stores the caller in ``app.context["principal"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response

Middleware = Callable[[Any, Callable[[Any], Response]], Response]


def require_api_key(*, rate_limit_per_minute: int | None = None) -> Middleware:
    """The request must present a valid, enabled API key whose owner is not banned; over the
    per-key rate limit it gets 429 with Retry-After."""

    def middleware(app: Any, next_middleware: Callable[[Any], Response]) -> Response:
        # Public until the accounts module lands (issue "Accounts"): it replaces this body.
        return next_middleware(app)

    return middleware


def require_admin() -> Middleware:
    """The caller (API key or session) must have the role ``admin``."""

    def middleware(app: Any, next_middleware: Callable[[Any], Response]) -> Response:
        # Open until the accounts module lands (issue "Accounts"): it replaces this body.
        return next_middleware(app)

    return middleware
