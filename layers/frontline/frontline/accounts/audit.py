"""The audit trail of admin actions: ``starforge.audit_logs`` (seed 003's table, the one audit log of the
deployment). ``user_id`` is the acting Frontline ``"User".id`` (a UUIDv7); ``metadata`` holds the target
(path parameters), the actor's username and how they authenticated. Never a secret: no key, no token,
no request body."""

from __future__ import annotations

import getpass
from typing import Any

from frontline import db
from frontline.accounts import store


def record_request(app: Any, actor: Any) -> None:
    """An admin route about to run: action is the route (``POST /api/admin/users/{user_id}/ban``)."""
    request = app.request
    http = app.current_event.request_context.http
    store.insert_audit(
        db.connection(),
        action=f"{request.method} {request.route}",
        user_id=actor.user_id,
        metadata={"target": request.path_parameters, "actor": actor.username, "via": actor.via,
                  "api_key_id": actor.api_key_id},
        ip_address=http.source_ip or None,
        user_agent=http.user_agent or None,
    )


def record_cli(action: str, target: dict[str, Any]) -> None:
    """An admin action from the command line: the actor is the operating-system user."""
    store.insert_audit(db.connection(), action=action, user_id=None,
                       metadata={"target": target, "actor": getpass.getuser(), "via": "cli"},
                       ip_address=None, user_agent=None)
