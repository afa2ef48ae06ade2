"""Test fixtures: one embedded PostgreSQL per session; each test gets its own database, copied from a
migrated template database in a few milliseconds."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from frontline import db, migrate
from frontline.config import settings
from frontline.local.postgres import EmbeddedPostgres

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
H1_SAMPLES = SHARED / "upstream-samples" / "h1"
TEMPLATE_DB = "frontline_template"


def wait_until_blocked(conn, sessions: int = 1, *, lock: str = "%", thread: threading.Thread | None = None) -> None:
    """Wait until ``sessions`` sessions of this database wait for a lock of the kind ``lock``
    (pg_stat_activity's wait_event: ``advisory``, ``transactionid``; by default any). Fails after
    10 s, or once ``thread`` (the one expected to wait) has ended without waiting."""
    deadline = time.monotonic() + 10
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                       " AND wait_event_type = 'Lock' AND wait_event LIKE %s", (lock,)).fetchone()[0] < sessions:
        assert time.monotonic() < deadline, f"fewer than {sessions} sessions wait for a lock ({lock})"
        assert thread is None or thread.is_alive(), "the thread ended without waiting for a lock"
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def _fresh_settings():
    settings.cache_clear()
    yield
    db.reset()
    settings.cache_clear()


@pytest.fixture(scope="session")
def pg_server() -> EmbeddedPostgres:
    # Not under pytest's tmp_path: pytest prunes old basetemp folders, and a concurrent session's
    # pruning would delete this server's data directory under it.
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="frontline-test-pg-")) / "data", delete=True)
    # A throwaway server: durability buys nothing, and without fsync a per-test database is 3x quicker.
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            conn.execute(f"ALTER SYSTEM SET {setting}")
        conn.execute("SELECT pg_reload_conf()")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_db(pg_server) -> str:
    with psycopg.connect(pg_server.ensure_database(TEMPLATE_DB), autocommit=True) as conn:
        migrate.migrate(conn)
    return TEMPLATE_DB


def _scratch_database(pg_server: EmbeddedPostgres, monkeypatch, template: str | None):
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_server.ensure_database(name, template=template)
    monkeypatch.setenv("POSTGRES_URL", url)
    settings.cache_clear()
    db.reset()
    try:
        yield url
    finally:
        db.reset()
        pg_server.drop_database(name)


@pytest.fixture
def database(pg_server, template_db, monkeypatch) -> str:
    """A migrated database of the test's own; POSTGRES_URL points at it. Yields its URL."""
    yield from _scratch_database(pg_server, monkeypatch, template_db)


@pytest.fixture
def empty_database(pg_server, monkeypatch) -> str:
    """An empty database (no migrations applied); POSTGRES_URL points at it."""
    yield from _scratch_database(pg_server, monkeypatch, None)


@pytest.fixture
def conn(database) -> psycopg.Connection:
    with psycopg.connect(database, autocommit=True) as connection:
        yield connection


@pytest.fixture
def conn_factory():
    """Open a fresh autocommit connection to whatever POSTGRES_URL names now."""
    return lambda: psycopg.connect(settings().postgres_url, autocommit=True)


@pytest.fixture
def h1_simulator(monkeypatch):
    """A generated upstream on loopback with a frozen clock (tests move it with ``clock.set``);
    H1_API_URL points at it, and client retries do not back off, to keep fault tests quick."""
    from frontline.h1 import client
    from frontline.h1.simulator import Simulator

    simulator = Simulator.generated(seed=7, timeout_sleep=1.0).start()
    simulator.world.clock.set(simulator.world.clock.start)
    monkeypatch.setenv("H1_API_URL", simulator.url)
    monkeypatch.setenv("H1_TIMEOUT_SECONDS", "0.4")
    monkeypatch.setattr(client, "RETRIES", client.RETRIES.new(backoff_factor=0))
    client._pool.cache_clear()
    yield simulator
    simulator.stop()
    client._pool.cache_clear()
