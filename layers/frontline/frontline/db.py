"""The one owner of database connections.

A Lambda container keeps a single psycopg connection and reuses it across invocations; a closed or
broken connection is replaced on the next call. Connections are in autocommit mode, so every
transaction is explicit: ``with transaction() as conn: ...``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import make_conninfo

from frontline.config import settings

_local = threading.local()


class DatabaseNotConfigured(RuntimeError):
    pass


def conninfo() -> str:
    cfg = settings()
    if cfg.postgres_url:
        return cfg.postgres_url
    if cfg.db_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(cfg.db_secret_arn, transform="json", max_age=300)
        return make_conninfo(
            host=secret["host"],
            port=secret.get("port", 5432),
            user=secret["username"],
            password=secret["password"],
            dbname=secret.get("dbname", "postgres"),
            sslmode="require",
        )
    raise DatabaseNotConfigured("set POSTGRES_URL (local) or DB_SECRET_ARN (AWS)")


def connect() -> psycopg.Connection:
    """A new autocommit connection. ``prepare_threshold=None`` keeps statements unnamed, which is
    what RDS Proxy and PgBouncer in transaction mode need."""
    return psycopg.connect(
        conninfo(),
        autocommit=True,
        prepare_threshold=None,
        connect_timeout=settings().db_connect_timeout,
        application_name="frontline",
    )


def connection() -> psycopg.Connection:
    """This container's (thread's) connection, reopened when closed or broken."""
    conn: psycopg.Connection | None = getattr(_local, "conn", None)
    if conn is None or conn.closed or conn.broken:
        conn = connect()
        _local.conn = conn
    return conn


def reset() -> None:
    """Close and forget this thread's connection (tests, configuration changes)."""
    conn: psycopg.Connection | None = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None and not conn.closed:
        conn.close()


@contextmanager
def transaction() -> Iterator[psycopg.Connection]:
    conn = connection()
    with conn.transaction():
        yield conn
