"""``POST /api/v1/snapshots``: store a raw profile snapshot and queue it for the ETL.

The answer is 202 only once the snapshot row is committed and its job is on the queue. The content
hash is the sha256 of the payload's compact JSON (key order as sent), so whitespace does not defeat
the dedupe window. ``raw`` holds the payload as sent: the game's envelope or a bare ProfileData.

The snapshot is linked to its ``users`` row (created here when the namecode is new) at insert time,
so the ETL never has to change an indexed column of the snapshot (see ``etl._FINISH``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from frontline import db, queues
from frontline.starforge.models import SnapshotJob, SnapshotRequest, profile_data_of
from frontline.starforge.settings import settings

log = logging.getLogger(__name__)
MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: a status and a JSON body. Error bodies are ``{"error": {"code", "message", ...}}``."""

    status: int
    body: dict[str, Any]


def error(status: int, code: str, message: str, **fields: Any) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message, **fields}})


def describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


class QueueUnavailable(RuntimeError):
    pass


def enqueue(snapshot_id: UUID | str) -> None:
    queue_url = settings().etl_queue_url
    if not queue_url:
        raise QueueUnavailable("STARFORGE_ETL_QUEUE_URL is not set")
    try:
        queues.send(queue_url, SnapshotJob(snapshot_id=snapshot_id).model_dump_json())
    except Exception as exc:
        raise QueueUnavailable(f"could not queue the ETL job: {type(exc).__name__}") from exc


# A key is claimed when new, or when its previous use has expired: it then starts afresh.
_CLAIM_KEY = """
INSERT INTO starforge.ingest_idempotency_keys AS k (scope, key, request_hash) VALUES (%s, %s, %s)
ON CONFLICT (scope, key) DO UPDATE SET
    request_hash = EXCLUDED.request_hash, status_code = NULL, response = NULL, snapshot_id = NULL, created_at = now()
WHERE k.created_at < now() - make_interval(hours => %s)
RETURNING true
"""
_REMEMBERED_KEY = """
SELECT request_hash, status_code, response FROM starforge.ingest_idempotency_keys WHERE scope = %s AND key = %s
"""
_REMEMBER_ANSWER = """
UPDATE starforge.ingest_idempotency_keys SET status_code = %s, response = %s, snapshot_id = %s
WHERE scope = %s AND key = %s
"""
# Serializes writers of the same content, so two identical posts in the same instant cannot both
# miss each other in the dedupe window.
_LOCK_CONTENT = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
# A statement of its own: when another transaction is inserting the same new namecode, this waits for
# it, and only a later statement's snapshot sees the row it committed (the insert below reads it).
_ENSURE_USER = "INSERT INTO starforge.users (namecode) VALUES (%s) ON CONFLICT (namecode) DO NOTHING"
_INSERT_UNLESS_RECENT = """
WITH recent AS (
    SELECT id FROM starforge.hero_snapshots
    WHERE content_hash = %(content_hash)s AND created_at > now() - make_interval(secs => %(window)s)
    ORDER BY created_at DESC
    LIMIT 1
), inserted AS (
    INSERT INTO starforge.hero_snapshots (namecode, user_id, source, raw, size_bytes, content_hash)
    SELECT %(namecode)s::varchar, (SELECT id FROM starforge.users WHERE namecode = %(namecode)s::varchar),
           %(source)s, %(raw)s::jsonb, %(size_bytes)s, %(content_hash)s
    WHERE NOT EXISTS (SELECT 1 FROM recent)
    RETURNING id
)
SELECT id, true FROM inserted
UNION ALL
SELECT id, false FROM recent
"""
_FORGET_SNAPSHOT = "DELETE FROM starforge.hero_snapshots WHERE id = %s"


def _json_numbers_only(payload: Any) -> bool:
    """False when the payload holds NaN or an infinity: pydantic's parser accepts them, JSON (and
    jsonb) does not. Only checked when the body has such a token, inside a string or not."""
    try:
        json.dumps(payload, allow_nan=False)
    except ValueError:
        return False
    return True


def ingest(body: bytes, *, idempotency_key: str | None = None, scope: str = "") -> Answer:
    cfg = settings()
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        return error(400, "invalid_idempotency_key",
                     f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if len(body) > cfg.max_payload_bytes:
        return error(413, "payload_too_large", f"the body exceeds {cfg.max_payload_bytes} bytes")
    try:
        request = SnapshotRequest.model_validate_json(body)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            return error(400, "invalid_json", "the body is not valid JSON")
        return error(400, "invalid_request", describe(exc))
    if (b"NaN" in body or b"Infinity" in body) and not _json_numbers_only(request.payload):
        return error(400, "invalid_json", "the body is not valid JSON: NaN and Infinity are not JSON numbers")

    raw = db.jsonb_text(request.payload)
    raw_bytes = raw.encode()
    content_hash = hashlib.sha256(raw_bytes).hexdigest()
    profile = profile_data_of(request.payload)
    payload_namecode = profile.get("NameCode") if isinstance(profile, dict) else None
    namecode = (payload_namecode if isinstance(payload_namecode, str) and 0 < len(payload_namecode) <= 64
                else request.namecode)
    request_hash = hashlib.sha256(body).hexdigest()

    with db.transaction() as conn:
        if idempotency_key is not None:
            if not conn.execute(_CLAIM_KEY, (scope, idempotency_key, request_hash,
                                             cfg.idempotency_key_ttl_hours)).fetchone():
                seen_hash, status, response = conn.execute(_REMEMBERED_KEY, (scope, idempotency_key)).fetchone()
                if seen_hash != request_hash:
                    return error(422, "idempotency_key_reused",
                                 "this Idempotency-Key was used with a different body")
                return Answer(status, response)
        conn.execute(_LOCK_CONTENT, (content_hash,))
        if namecode is not None:
            conn.execute(_ENSURE_USER, (namecode,))
        snapshot_id, created = conn.execute(_INSERT_UNLESS_RECENT, {
            "content_hash": content_hash, "window": cfg.dedupe_window_seconds, "namecode": namecode,
            "source": request.source.value, "raw": raw, "size_bytes": len(raw_bytes),
        }).fetchone()
        answer = (Answer(202, {"snapshot_id": str(snapshot_id), "status": "queued"}) if created else
                   error(409, "duplicate_snapshot",
                         f"identical content was received in the last {cfg.dedupe_window_seconds} s",
                         snapshot_id=str(snapshot_id)))
        if idempotency_key is not None:
            conn.execute(_REMEMBER_ANSWER, (answer.status, json.dumps(answer.body), snapshot_id, scope,
                                            idempotency_key))
    if created:
        try:
            enqueue(snapshot_id)
        except QueueUnavailable:
            # Nothing was acknowledged: forget the row (and its remembered key) so a retry starts afresh.
            log.exception("snapshot %s not queued; removed", snapshot_id)
            db.connection().execute(_FORGET_SNAPSHOT, (snapshot_id,))
            return error(503, "queue_unavailable", "the snapshot could not be queued; retry later")
    return answer
