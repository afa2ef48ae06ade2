"""The one owner of database connections.

A Lambda container keeps a single psycopg connection and reuses it across invocations; a closed or
broken connection is replaced on the next call. Connections are in autocommit mode, so every
transaction is explicit: ``with transaction() as conn: ...``.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import psycopg
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.conninfo import make_conninfo
from psycopg.pq import Format

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
    raise DatabaseNotConfigured("set POSTGRES_URL (locally: the export line that `frontline dev` prints) "
                                "or DB_SECRET_ARN (AWS)")


# psycopg's own default: a statement is prepared on the server from its sixth execution on.
PREPARE_THRESHOLD = 5


def connect() -> psycopg.Connection:
    """A new autocommit connection. Statements stay unnamed (``prepare_threshold=None``), which is what
    RDS Proxy multiplexing and PgBouncer in transaction mode need, unless ``DB_PREPARED_STATEMENTS``
    asks for server-side prepared statements, which spare repeated statements their planning."""
    cfg = settings()
    return psycopg.connect(
        conninfo(),
        autocommit=True,
        prepare_threshold=PREPARE_THRESHOLD if cfg.db_prepared_statements else None,
        connect_timeout=cfg.db_connect_timeout,
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


_INT4 = postgres.types["int4"]


def jsonb_text(value: object) -> str:
    """``value`` as compact JSON text, for a ``jsonb`` parameter. orjson writes it 5-10 times faster than
    the json module (for a 700-troop profile's JSON columns: 0.6 of the ETL's 1.5 ms of statement
    building); an integer beyond 64 bits, which orjson refuses, goes through the json module."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Int4Array(bytes):
    """An ``int4[]`` already in PostgreSQL's binary array format; ``int4_array`` makes one."""


def int4_array(values: list) -> Int4Array | list:
    """``values`` packed as a binary ``int4[]`` in one ``struct.pack`` call, or ``values`` unchanged
    (for psycopg's own list dumper) when one is not an int4: None, a float, a bigger integer.

    psycopg's generic list dumper packs one element at a time in Python: 130 us for 700 ints against
    30 us here; under a profiler it was a third of the StarForge ETL's Python time for 700-troop profiles."""
    if not values:
        return Int4Array(struct.pack(">3i", 0, 0, _INT4.oid))
    if not set(map(type, values)) <= {int}:  # struct.pack would take bools and other __index__ types
        return values
    pairs = [4] * (2 * len(values))  # each element: its length (4 bytes), then its value
    pairs[1::2] = values
    try:
        return Int4Array(struct.pack(f">5i{len(pairs)}i", 1, 0, _INT4.oid, len(values), 1, *pairs))
    except struct.error:
        return values


class Int4ArrayDumper(Dumper):
    format = Format.BINARY
    oid = _INT4.array_oid

    def dump(self, obj: Int4Array) -> bytes:
        return obj


psycopg.adapters.register_dumper(Int4Array, Int4ArrayDumper)
