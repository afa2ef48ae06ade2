"""StarForge HTTP routes: ingestion, reads, admin. Each function's handler includes one router."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from frontline import access, db
from frontline.starforge import ingest, queries
from frontline.starforge.settings import settings
from frontline.web import UUID_PATTERN, ApiError, json_response

# Snapshot ids stay text in path parameters (what the access layer's audit records), checked as UUIDs.
SnapshotId = Annotated[str, Path(pattern=UUID_PATTERN)]

ingest_router = Router()
read_router = Router()
admin_router = Router()


def _answer(router: Router, answer: ingest.Answer):
    body = answer.body
    if "error" in body:
        body = {"error": {**body["error"], "request_id": router.current_event.request_context.request_id}}
    return json_response(answer.status, body, {"Cache-Control": "no-store"})


def _caller(router: Router) -> str | None:
    """The user id of whoever the access middleware let in (``app.context["principal"]``)."""
    principal = router.context.get("principal")
    return principal.user_id if principal else None


@ingest_router.post("/api/v1/snapshots", middlewares=[access.require_api_key(rate_limit_per_minute=30)])
def post_snapshot():
    event = ingest_router.current_event
    # The raw bytes, not decoded_body: that decodes as UTF-8 and would raise on a binary body, which
    # must be a 400 invalid_json like any other unparseable body.
    body = base64.b64decode(event.body or "") if event.is_base64_encoded else (event.body or "").encode()
    answer = ingest.ingest(body,
                            idempotency_key=event.headers.get("idempotency-key"),
                            scope=_caller(ingest_router) or "")
    return _answer(ingest_router, answer)


@read_router.get("/api/v1/profile/summary/<namecode>")
def get_profile_summary(namecode: Annotated[str, Path(min_length=1, max_length=64)]):
    summary, eta = queries.profile_summary(db.connection(), namecode)
    if summary is not None:
        return json_response(200, summary, {"Cache-Control": "max-age=30"})
    if eta is not None:
        return json_response(202, {"namecode": namecode, "status": "queued", "estimated_ready_in_seconds": eta},
                             {"Cache-Control": "no-store", "Retry-After": str(eta)})
    raise ApiError(404, "not_found", f"no profile for namecode {namecode}")


def encode_cursor(row: dict) -> str:
    return base64.urlsafe_b64encode(f"{row['amount']}:{row['level']}:{row['hero_id']}".encode()).decode()


INT4 = range(-2**31, 2**31)


def decode_cursor(cursor: str) -> tuple[int, int, UUID]:
    try:
        amount, level, hero_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        after = int(amount), int(level), UUID(hero_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        after = None
    if after is None or after[0] not in INT4 or after[1] not in INT4:  # amount and level are INT columns
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API returned")
    return after


@read_router.get("/api/v1/troops/<troop_id>/owners")
def get_troop_owners(
    troop_id: int,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
):
    rows = queries.troop_owners(db.connection(), troop_id, limit + 1, decode_cursor(cursor) if cursor else None)
    page = rows[:limit]
    return json_response(200, {
        "troop_id": troop_id,
        "owners": [{"namecode": r["namecode"], "name": r["name"], "amount": r["amount"], "level": r["level"],
                    "current_rarity": r["current_rarity"]} for r in page],
        "troop_name": page[0]["troop_name"] if page else None,
        "next_cursor": encode_cursor(page[-1]) if len(rows) > limit else None,
    })


@read_router.get("/api/v1/snapshots/<snapshot_id>/status")
def get_snapshot_status(snapshot_id: SnapshotId):
    status = queries.snapshot_status(db.connection(), snapshot_id, settings().claim_ttl_seconds)
    if status is None:
        raise ApiError(404, "not_found", f"no snapshot {snapshot_id}")
    return json_response(200, status, {"Cache-Control": "no-store"})


@admin_router.post("/api/v1/admin/snapshots/<snapshot_id>/reprocess", middlewares=[access.require_admin()])
def post_reprocess(snapshot_id: SnapshotId):
    event = admin_router.current_event
    reset = queries.reset_for_reprocess(db.connection(), snapshot_id, settings().claim_ttl_seconds,
                                        _caller(admin_router), event.request_context.http.source_ip,
                                        event.request_context.http.user_agent)
    if reset is None:
        raise ApiError(404, "not_found", f"no snapshot {snapshot_id}")
    if not reset:
        raise ApiError(409, "snapshot_processing", "the snapshot is being processed; try again when it is done")
    try:
        ingest.enqueue(snapshot_id)
    except ingest.QueueUnavailable:
        raise ApiError(503, "queue_unavailable", "the snapshot was reset but could not be queued; retry") from None
    return json_response(202, {"snapshot_id": snapshot_id, "status": "queued"}, {"Cache-Control": "no-store"})
