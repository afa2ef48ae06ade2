"""GET /api/health: database, migration ledger and the poller's heartbeat, from one statement."""

from __future__ import annotations

from frontline import health
from frontline.config import settings
from tests.integration.test_h1_api import request, statements  # noqa: F401 (statements is a fixture)

STALE_AFTER = 3 * 60  # three poll intervals of one minute


def beat(conn, seconds_ago: int) -> None:
    conn.execute("""INSERT INTO worker_heartbeat (worker_type, last_beat, started_at)
                    VALUES ('h1_poller', now() - make_interval(secs => %s), now())""", (seconds_ago,))


def test_a_fresh_deployment_is_healthy_before_the_first_poll_in_one_statement(conn, statements):
    answer = request("GET", "/api/health")
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["database"] == "reachable" and body["migrations"]["current"] is True
    assert body["worker"]["status"] == "not started" and body["worker"]["stale_after_seconds"] == STALE_AFTER
    assert statements == [health.HEALTH]
    assert answer.headers["cache-control"] == "no-store"


def test_a_recent_heartbeat_is_healthy(conn):
    beat(conn, 30)
    body = request("GET", "/api/health").json()
    assert body["status"] == "ok" and body["worker"]["last_beat_age_seconds"] in (30, 31)


def test_a_heartbeat_older_than_three_poll_intervals_is_503(conn, monkeypatch):
    beat(conn, STALE_AFTER + 5)
    answer = request("GET", "/api/health")
    assert answer.status == 503 and answer.json()["worker"]["status"] == "stale"
    monkeypatch.setenv("POLL_INTERVAL_MINUTES", "5")  # the same beat is fresh at a five-minute poll rate
    settings.cache_clear()
    assert request("GET", "/api/health").status == 200


def test_a_poller_that_never_beat_long_after_the_deploy_is_503(conn):
    conn.execute("UPDATE schema_migrations SET applied_at = now() - interval '1 hour'")
    answer = request("GET", "/api/health")
    assert answer.status == 503 and answer.json()["worker"]["status"] == "never beat"


def test_pending_and_edited_migrations_are_503(conn):
    conn.execute("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
    conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0001'")
    beat(conn, 1)
    answer = request("GET", "/api/health")
    migrations = answer.json()["migrations"]
    assert answer.status == 503 and migrations["current"] is False
    assert len(migrations["pending"]) == 1 and migrations["edited"] == ["0001_h1_core.sql"]


def test_an_unmigrated_database_is_503(empty_database):
    answer = request("GET", "/api/health")
    assert answer.status == 503
    assert answer.json()["database"] == "reachable" and answer.json()["migrations"]["current"] is False


def test_an_unreachable_database_is_503(monkeypatch):
    monkeypatch.setenv("POSTGRES_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    settings.cache_clear()
    answer = request("GET", "/api/health")
    assert answer.status == 503 and answer.json()["database"] == "unreachable"
