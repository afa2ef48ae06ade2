"""One poll cycle: single-flight lock, fetch, ingest (with the heartbeat), relay, final backfills, metrics.

On the usual path that is six statements: the lock, the four of the ingest, the unlock.

The scheduled Lambda, ``frontline h1 poll`` and the tests all call :func:`run_poll_cycle`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from frontline import db
from frontline.config import settings
from frontline.h1 import client, ingest
from frontline.h1.models import UpstreamModel
from frontline.push.relay import relay_outbox
from frontline.telemetry import new_metrics

logger = Logger()
metrics = new_metrics()

WORKER_TYPE = "h1_poller"
POLL_LOCK_KEY = 7_246_601_101
PROCESS_STARTED_AT = datetime.now(timezone.utc)

# A failed poll's heartbeat: last_beat stays the last *successful* poll (the epoch when there never was
# one). A successful poll's heartbeat is written by the poll's own confirming statement.
BEAT_FAILURE = """
INSERT INTO worker_heartbeat AS h (worker_type, last_beat, poll_duration_ms, last_error, started_at, updated_at)
VALUES (%(worker)s, to_timestamp(0), %(duration_ms)s, %(error)s, %(started_at)s, now())
ON CONFLICT (worker_type) DO UPDATE SET
    poll_duration_ms = EXCLUDED.poll_duration_ms, last_error = EXCLUDED.last_error,
    started_at = EXCLUDED.started_at, updated_at = now()
"""


@dataclass(frozen=True)
class PollOutcome:
    status: str  # "ok" | "skipped" | "failed"
    season: int | None = None
    rows_written: int = 0
    duration_ms: int = 0
    backfilled: tuple[int, ...] = ()
    relayed: int = 0
    error: str | None = None


def _beat_failure(duration_ms: int, error: str) -> None:
    params = {"worker": WORKER_TYPE, "duration_ms": duration_ms, "error": error, "started_at": PROCESS_STARTED_AT}
    try:
        db.connection().execute(BEAT_FAILURE, params)
    except psycopg.Error:
        # The failure may have been the connection itself: one retry on a fresh connection.
        db.reset()
        db.connection().execute(BEAT_FAILURE, params)


def _report_unknown_keys(action: str, response: UpstreamModel) -> None:
    """Keys upstream added are not stored, and the rebroadcast would miss them: say so."""
    if unknown := response.unknown_keys():
        logger.warning("upstream sent keys the models do not know", extra={"action": action, "keys": unknown[:20]})
        metrics.add_metric(name="UpstreamUnknownKeys", unit=MetricUnit.Count, value=len(unknown))


def backfill_season(conn: psycopg.Connection, season: int) -> int:
    """Fetch and store one season's get_snapshots; return the rows written."""
    snapshots = client.get_snapshots(season)
    _report_unknown_keys("get_snapshots", snapshots)
    return ingest.ingest_snapshots(conn, season, snapshots, settings().bucket_size)


def _final_backfills(conn: psycopg.Connection, seasons: list[int]) -> tuple[int, ...]:
    done = []
    for season in seasons:
        try:
            backfill_season(conn, season)
            done.append(season)
        except (client.UpstreamFailure, psycopg.Error):
            # The season stays marked; the next poll tries again.
            logger.exception("final backfill failed", extra={"season": season})
            metrics.add_metric(name="BackfillFailures", unit=MetricUnit.Count, value=1)
    return tuple(done)


def _relay(conn: psycopg.Connection) -> int:
    """Send the committed transitions on to the push queue. A failure leaves them in the outbox for the
    next poll: the poll itself has succeeded."""
    try:
        return relay_outbox(conn)
    except Exception:  # SQS or database: either way the rows stay unrelayed and nothing is lost
        logger.exception("outbox relay failed")
        metrics.add_metric(name="RelayFailures", unit=MetricUnit.Count, value=1)
        return 0


def run_poll_cycle() -> PollOutcome:
    conn = db.connection()
    if not conn.execute("SELECT pg_try_advisory_lock(%s)", (POLL_LOCK_KEY,)).fetchone()[0]:
        logger.info("another poll holds the lock; exiting")
        metrics.add_metric(name="PollSkipped", unit=MetricUnit.Count, value=1)
        return PollOutcome("skipped")
    started = time.monotonic()
    try:
        poll = client.get_campaign_status()
        _report_unknown_keys("get_campaign_status", poll)
        heartbeat = ingest.Heartbeat(WORKER_TYPE, PROCESS_STARTED_AT, started)
        result = ingest.ingest_campaign_status(conn, poll, settings().bucket_size, heartbeat)
        # The relay first: a slow get_snapshots (retries, timeouts) must not hold back notifications.
        relayed = _relay(conn) if result.outbox_pending else 0
        backfilled = _final_backfills(conn, result.final_backfills_due)
    except (client.UpstreamFailure, psycopg.Error) as exc:
        duration_ms = int((time.monotonic() - started) * 1000)
        error = f"{getattr(exc, 'kind', 'database')}: {exc}"[:2000]
        logger.exception("poll failed", extra={"error_kind": getattr(exc, "kind", "database")})
        metrics.add_metric(name="PollFailures", unit=MetricUnit.Count, value=1)
        _beat_failure(duration_ms, error)
        return PollOutcome("failed", duration_ms=duration_ms, error=error)
    finally:
        if not conn.broken and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (POLL_LOCK_KEY,))
    duration_ms = int((time.monotonic() - started) * 1000)
    metrics.add_metric(name="PollDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
    metrics.add_metric(name="RowsWritten", unit=MetricUnit.Count, value=result.rows_written)
    logger.info("poll stored", extra={"season": result.season, "rows_written": result.rows_written,
                                      "transitions": result.transitions, "relayed": relayed,
                                      "duration_ms": duration_ms, "backfilled": backfilled})
    return PollOutcome("ok", result.season, result.rows_written, duration_ms, backfilled, relayed)
