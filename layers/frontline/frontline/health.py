"""``GET /api/health``: is the database reachable, are the migrations current, is the poller alive?

One statement reads the migration ledger and the poller's heartbeat. 503 when the database is
unreachable, a migration is pending or was edited after it ran, or the heartbeat is older than three
poll intervals; the body says which. A poller that has not beaten yet counts as stale only once the
schema has been in place for three poll intervals (a fresh deployment is not unhealthy).
"""

from __future__ import annotations

import psycopg
from aws_lambda_powertools.event_handler.api_gateway import Router

from frontline import db, migrate
from frontline.config import settings
from frontline.web import json_response

HEARTBEAT_WORKER = "h1_poller"  # frontline.h1.poller.WORKER_TYPE; importing the poller would slow read handlers
STALE_AFTER_POLL_INTERVALS = 3

router = Router()

HEALTH = """
SELECT (SELECT array_agg(version || ':' || checksum) FROM schema_migrations),
       floor(extract(epoch FROM now() - (SELECT max(applied_at) FROM schema_migrations)))::int,
       floor(extract(epoch FROM now() - hb.last_beat))::int, hb.last_error
FROM (SELECT) AS one LEFT JOIN worker_heartbeat hb ON hb.worker_type = %s
"""


def heartbeat_stale_after_seconds() -> int:
    return STALE_AFTER_POLL_INTERVALS * settings().poll_interval_minutes * 60


def _migrations(recorded: list[str]) -> tuple[bool, dict]:
    try:
        files = migrate.discover()
    except migrate.MigrationError as exc:
        return False, {"current": False, "error": str(exc)}
    applied = dict(entry.split(":", 1) for entry in recorded)
    edited = [m.name for m in files if m.version in applied and applied[m.version] != m.checksum]
    pending = [m.name for m in files if m.version not in applied]
    report = {"current": not (edited or pending), "applied": len(files) - len(pending), "pending": pending}
    if edited:
        report["edited"] = edited
    return not (edited or pending), report


def _worker(beat_age: int | None, schema_age: int | None, last_error: str | None) -> tuple[bool, dict]:
    stale_after = heartbeat_stale_after_seconds()
    report = {"name": HEARTBEAT_WORKER, "stale_after_seconds": stale_after, "last_error": last_error}
    if beat_age is None:
        alive = (schema_age or 0) <= stale_after
        return alive, {**report, "status": "not started" if alive else "never beat", "last_beat_age_seconds": None}
    alive = beat_age <= stale_after
    return alive, {**report, "status": "ok" if alive else "stale", "last_beat_age_seconds": beat_age}


def health_report() -> tuple[bool, dict]:
    try:
        recorded, schema_age, beat_age, last_error = db.connection().execute(HEALTH, (HEARTBEAT_WORKER,)).fetchone()
    except psycopg.errors.UndefinedTable as exc:
        return False, {"status": "unhealthy", "database": "reachable",
                       "migrations": {"current": False, "error": f"the schema is not in place: {exc.diag.message_primary}"}}
    except Exception as exc:  # any failure to reach the database is the answer, not a 500
        return False, {"status": "unhealthy", "database": "unreachable", "error": type(exc).__name__}
    migrations_ok, migrations = _migrations(recorded or [])
    worker_ok, worker = _worker(beat_age, schema_age, last_error)
    healthy = migrations_ok and worker_ok
    return healthy, {"status": "ok" if healthy else "unhealthy", "database": "reachable",
                     "migrations": migrations, "worker": worker}


@router.get("/api/health", summary="Database, migrations and poller heartbeat", tags=["platform"])
def get_health():
    healthy, report = health_report()
    return json_response(200 if healthy else 503, report, {"Cache-Control": "no-store"})
