import threading
import time

import psycopg
import pytest

from frontline import migrate


def _copy_migrations(tmp_path):
    target = tmp_path / "migrations"
    target.mkdir()
    for m in migrate.discover():
        (target / m.name).write_bytes(m.path.read_bytes())
    return target


def test_applies_to_empty_database_and_rerun_changes_nothing(empty_database):
    with psycopg.connect(empty_database, autocommit=True) as conn:
        applied = migrate.migrate(conn)
        assert applied == [m.name for m in migrate.discover()]
        before = conn.execute("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1").fetchall()
        assert migrate.migrate(conn) == []
        after = conn.execute("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1").fetchall()
        assert before == after
        assert migrate.status(conn).current


def test_edited_migration_is_refused(empty_database, tmp_path):
    folder = _copy_migrations(tmp_path)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        migrate.migrate(conn, folder)
        first = sorted(folder.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
        with pytest.raises(migrate.MigrationError, match="never edited"):
            migrate.migrate(conn, folder)
        with pytest.raises(migrate.MigrationError):
            migrate.status(conn, folder)


def test_failed_migration_rolls_back_and_records_nothing(empty_database, tmp_path):
    folder = _copy_migrations(tmp_path)
    (folder / "9000_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedFunction):
            migrate.migrate(conn, folder)
        assert conn.execute("SELECT to_regclass('half_done')").fetchone()[0] is None
        assert migrate.status(conn, folder).pending == ["9000_broken.sql"]


def test_no_transaction_file_runs_statement_by_statement(empty_database, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_table.sql").write_text("CREATE TABLE t (id int, v text);\n")
    (folder / "0002_index.sql").write_text(
        "-- frontline: no-transaction\n-- two statements\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n"
        "CREATE INDEX CONCURRENTLY t_v\n    ON t (v);\n"
    )
    with psycopg.connect(empty_database, autocommit=True) as conn:
        assert migrate.migrate(conn, folder) == ["0001_table.sql", "0002_index.sql"]
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 't'")}
        assert names == {"t_id", "t_v"}


def test_lock_timeout_is_set_for_migrations(empty_database, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_probe.sql").write_text(
        "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS lock_timeout;\n"
    )
    with psycopg.connect(empty_database, autocommit=True) as conn:
        migrate.migrate(conn, folder, lock_timeout="7s")
        assert conn.execute("SELECT lock_timeout FROM probe").fetchone()[0] == "7s"


def test_concurrent_runners_serialize(empty_database, tmp_path):
    """Two runners start together; the lock makes one wait, so each migration is applied exactly once
    and the slow migration's start and end never interleave with the other runner's work."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_slow.sql").write_text(
        "CREATE TABLE log (at timestamptz DEFAULT clock_timestamp(), what text);\n"
        "INSERT INTO log (what) VALUES ('slow start');\nSELECT pg_sleep(0.5);\n"
        "INSERT INTO log (what) VALUES ('slow end');\n"
    )
    results, errors = [], []

    def run():
        try:
            with psycopg.connect(empty_database, autocommit=True) as conn:
                results.append(migrate.migrate(conn, folder))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results, key=len) == [[], ["0001_slow.sql"]]
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 1
        assert [r[0] for r in conn.execute("SELECT what FROM log ORDER BY at")] == ["slow start", "slow end"]


def test_killed_runner_leaves_no_stale_lock(empty_database, tmp_path):
    holder = psycopg.connect(empty_database, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (migrate.MIGRATION_LOCK_KEY,))
    with psycopg.connect(empty_database, autocommit=True) as conn:
        with pytest.raises(migrate.MigrationError, match="held the lock"):
            migrate.migrate(conn, lock_wait_seconds=0.3)
    holder.close()  # the "killed" run: its session ends, and the lock with it
    with psycopg.connect(empty_database, autocommit=True) as conn:
        assert migrate.migrate(conn, lock_wait_seconds=2)


def test_a_no_transaction_file_gives_the_session_its_lock_timeout_back(empty_database, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_index.sql").write_text("-- frontline: no-transaction\nCREATE TABLE t (id int);\n")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '42s'")
        migrate.migrate(conn, folder, lock_timeout="3s")
        assert conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0] == "42s"
