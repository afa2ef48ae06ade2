"""Access checks that routes declare as powertools middlewares.

Routes say what they need, for example
``@router.post("/api/v1/snapshots", middlewares=[access.require_api_key(rate_limit_per_minute=30)])``
or ``middlewares=[access.require_admin()]``. The checks live in ``frontline.accounts.guard``; a check
that passes stores the caller (a ``frontline.accounts.guard.Principal``) in ``app.context["principal"]``,
one that fails answers with the project's error shape (401, 403 or 429 with Retry-After).
"""

from __future__ import annotations

from frontline.accounts import guard
from frontline.accounts.guard import Middleware


def require_api_key(*, rate_limit_per_minute: int | None = None) -> Middleware:
    """The request must present a valid, enabled API key whose owner is not banned; over the
    per-key rate limit (per route, per minute; ``API_KEY_RATE_LIMIT_PER_MINUTE`` when not given) it
    gets 429 with Retry-After."""
    return guard.middleware(lambda app: guard.authenticate_api_key(app, rate_limit_per_minute))


def require_admin() -> Middleware:
    """The caller (API key or session) must have the role ``admin``; the action is audited."""
    return guard.middleware(guard.authorize_admin)
