"""Forward-only SQL migrations: ``migrations/NNNN_name.sql``, applied in file-name order.

Every applied file is recorded in ``schema_migrations`` with the sha256 of its bytes; a recorded file
whose bytes later change makes the runner refuse to go on. A session-level advisory lock makes runs
single-flight: it dies with its connection, so a killed run leaves no stale lock. A file whose first
line is ``-- frontline: no-transaction`` runs statement by statement outside a transaction (for
``CREATE INDEX CONCURRENTLY``); such a file ends each statement with ``;`` at the end of a line.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from frontline import db
from frontline.config import settings

MIGRATION_LOCK_KEY = 7_246_601_001  # any constant bigint shared by every runner
NO_TRANSACTION_MARKER = "-- frontline: no-transaction"
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT        PRIMARY KEY,
    name       TEXT        NOT NULL,
    checksum   TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    checksum: str

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def transactional(self) -> bool:
        return not self.sql.lstrip().startswith(NO_TRANSACTION_MARKER)


@dataclass(frozen=True)
class Status:
    applied: list[str]
    pending: list[str]

    @property
    def current(self) -> bool:
        return not self.pending


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or settings().migrations_dir
    if not directory.is_dir():
        raise MigrationError(f"migrations folder not found: {directory}")
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        found.append(Migration(match.group(1), path.name, path, hashlib.sha256(path.read_bytes()).hexdigest()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number in {directory}")
    return found


def directory_hash(directory: Path | None = None) -> str:
    """One hash over every migration's name and bytes: the deploy hook's change trigger."""
    digest = hashlib.sha256()
    for migration in discover(directory):
        digest.update(f"{migration.name}\0{migration.checksum}\n".encode())
    return digest.hexdigest()


def _applied(conn: psycopg.Connection) -> dict[str, tuple[str, str]]:
    exists = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def _verify_unchanged(migrations: list[Migration], applied: dict[str, tuple[str, str]]) -> None:
    for migration in migrations:
        recorded = applied.get(migration.version)
        if recorded and recorded[1] != migration.checksum:
            raise MigrationError(
                f"{migration.name} was applied with checksum {recorded[1][:12]}… but the file now has "
                f"{migration.checksum[:12]}…; applied migrations are never edited: add a new migration instead"
            )


def status(conn: psycopg.Connection, directory: Path | None = None) -> Status:
    migrations = discover(directory)
    applied = _applied(conn)
    _verify_unchanged(migrations, applied)
    return Status(
        applied=[m.name for m in migrations if m.version in applied],
        pending=[m.name for m in migrations if m.version not in applied],
    )


def _acquire_lock(conn: psycopg.Connection, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise MigrationError(f"another migration run held the lock for more than {wait_seconds:.0f}s")
        time.sleep(0.1)


def _statements(sql: str) -> list[str]:
    """Split a no-transaction file at lines ending in ';' (the documented format for such files)."""
    statements, current = [], []
    for line in sql.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if any(not part.strip().startswith("--") for part in statement.splitlines() if part.strip()):
                statements.append(statement)
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current).strip())
    return statements


def _apply(conn: psycopg.Connection, migration: Migration, lock_timeout: str) -> None:
    record = "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
    params = (migration.version, migration.name, migration.checksum)
    if migration.transactional:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (lock_timeout,))
            conn.execute(migration.sql)
            conn.execute(record, params)
        return
    # Outside a transaction the setting is the session's: give the caller's value back afterwards.
    previous = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (lock_timeout,))
    try:
        for statement in _statements(migration.sql):
            conn.execute(statement)
        conn.execute(record, params)
    finally:
        if not conn.broken:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (previous,))


def migrate(
    conn: psycopg.Connection | None = None,
    directory: Path | None = None,
    *,
    lock_wait_seconds: float = 120.0,
    lock_timeout: str = "10s",
) -> list[str]:
    """Apply every pending migration; return the names applied (empty when already current)."""
    own = conn is None
    conn = conn or db.connect()
    try:
        if not conn.autocommit:
            raise MigrationError("the migration runner needs an autocommit connection")
        migrations = discover(directory)
        _acquire_lock(conn, lock_wait_seconds)
        try:
            conn.execute(CREATE_LEDGER)
            applied = _applied(conn)
            _verify_unchanged(migrations, applied)
            done = []
            for migration in migrations:
                if migration.version not in applied:
                    _apply(conn, migration, lock_timeout)
                    done.append(migration.name)
            return done
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    finally:
        if own:
            conn.close()
