"""The SQL of push subscriptions and of the deliveries one notification fans out to."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class Subscription:
    id: int
    endpoint: str
    keys_p256dh: str
    keys_auth: str


def upsert(
    conn: psycopg.Connection,
    endpoint: str,
    p256dh: str,
    auth: str,
    factions: Sequence[int] | None,
    kinds: Sequence[str] | None,
) -> tuple[int, bool]:
    """Insert or update the subscription of this endpoint; returns (id, created)."""
    row = conn.execute(
        """
        INSERT INTO push_subscription (endpoint, keys_p256dh, keys_auth, factions, kinds)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (endpoint) DO UPDATE
            SET keys_p256dh = EXCLUDED.keys_p256dh, keys_auth = EXCLUDED.keys_auth,
                factions = EXCLUDED.factions, kinds = EXCLUDED.kinds, updated_at = now()
        RETURNING id, old.id IS NULL AS created
        """,
        (endpoint, p256dh, auth, factions, kinds),
    ).fetchone()
    return row[0], row[1]


def delete(conn: psycopg.Connection, endpoint: str) -> bool:
    return conn.execute("DELETE FROM push_subscription WHERE endpoint = %s", (endpoint,)).rowcount > 0


# Longer than PushFunction's timeout (template.yaml, 120 s; a test keeps it so): the lease of a
# consumer that died while sending expires before SQS brings the message back.
SENDING_LEASE_SECONDS = 300


@contextmanager
def sending(conn: psycopg.Connection, outbox_id: int) -> Iterator[bool]:
    """Hold the right to send one notification's pending deliveries: True when this consumer took the
    lease, False while another one holds it. A lease in the dispatch row, since each page commits on
    its own; it lapses by itself if its holder dies."""
    taken = conn.execute(
        """UPDATE push_dispatch SET sending_until = now() + make_interval(secs => %s)
           WHERE outbox_id = %s AND (sending_until IS NULL OR sending_until < now()) RETURNING true""",
        (SENDING_LEASE_SECONDS, outbox_id)).fetchone() is not None
    try:
        yield taken
    finally:
        if taken and not conn.closed:
            try:
                conn.execute("UPDATE push_dispatch SET sending_until = NULL WHERE outbox_id = %s", (outbox_id,))
            except psycopg.Error:  # the connection broke: the lease lapses by itself
                pass


def claim_dispatch(conn: psycopg.Connection, outbox_id: int, kind: str, enemy: int | None) -> int | None:
    """Take on one outbox notification: record the claim and one pending delivery per matching
    subscription, in one statement. Returns the number of recipients, or None if it was claimed before."""
    row = conn.execute(
        """
        WITH matching AS (
            SELECT id FROM push_subscription
            WHERE (kinds IS NULL OR %(kind)s = ANY (kinds))
              AND (factions IS NULL OR %(enemy)s::integer IS NULL OR %(enemy)s = ANY (factions))
        ), claim AS (
            INSERT INTO push_dispatch (outbox_id, recipients)
            SELECT %(outbox_id)s, count(*) FROM matching
            ON CONFLICT (outbox_id) DO NOTHING
            RETURNING outbox_id, recipients
        ), deliveries AS (
            INSERT INTO push_delivery (outbox_id, subscription_id)
            SELECT claim.outbox_id, matching.id FROM claim CROSS JOIN matching
        )
        SELECT recipients FROM claim
        """,
        {"outbox_id": outbox_id, "kind": kind, "enemy": enemy},
    ).fetchone()
    return row[0] if row else None


def pending_page(conn: psycopg.Connection, outbox_id: int, after: int, limit: int) -> list[Subscription]:
    """The next page of this notification's pending deliveries (keyset on subscription id)."""
    with conn.cursor(row_factory=class_row(Subscription)) as cur:
        return cur.execute(
            """
            SELECT s.id, s.endpoint, s.keys_p256dh, s.keys_auth
            FROM push_delivery d JOIN push_subscription s ON s.id = d.subscription_id
            WHERE d.outbox_id = %s AND d.subscription_id > %s
            ORDER BY d.subscription_id
            LIMIT %s
            """,
            (outbox_id, after, limit),
        ).fetchall()


def record_outcomes(
    conn: psycopg.Connection,
    outbox_id: int,
    subscription_ids: Sequence[int],
    statuses: Sequence[int | None],
    retry: Sequence[bool],
    gone: Sequence[bool],
    max_attempts: int,
) -> int:
    """Settle one page in one statement: gone subscriptions are deleted (their deliveries cascade),
    retryable deliveries stay pending with attempts + 1 (until ``max_attempts``), the rest are done.
    Returns how many retryable deliveries reached ``max_attempts`` and were given up."""
    return conn.execute(
        """
        WITH outcome AS (
            SELECT * FROM unnest(%(ids)s::integer[], %(statuses)s::integer[], %(retry)s::boolean[],
                                 %(gone)s::boolean[]) AS o(subscription_id, status, retry, gone)
        ), removed AS (
            DELETE FROM push_subscription s USING outcome o WHERE s.id = o.subscription_id AND o.gone
        ), retried AS (
            UPDATE push_delivery d SET attempts = d.attempts + 1, last_status = o.status
            FROM outcome o
            WHERE d.outbox_id = %(outbox_id)s AND d.subscription_id = o.subscription_id
              AND o.retry AND d.attempts + 1 < %(max_attempts)s
        ), settled AS (
            DELETE FROM push_delivery d USING outcome o
            WHERE d.outbox_id = %(outbox_id)s AND d.subscription_id = o.subscription_id
              AND NOT o.gone AND (NOT o.retry OR d.attempts + 1 >= %(max_attempts)s)
            RETURNING o.retry
        )
        SELECT count(*) FILTER (WHERE retry) FROM settled
        """,
        {"outbox_id": outbox_id, "ids": list(subscription_ids), "statuses": list(statuses), "retry": list(retry),
         "gone": list(gone), "max_attempts": max_attempts},
    ).fetchone()[0]


def finish_dispatch(conn: psycopg.Connection, outbox_id: int) -> bool:
    """Stamp the dispatch finished when no delivery is pending; True if it is finished."""
    row = conn.execute(
        """
        UPDATE push_dispatch SET finished_at = coalesce(finished_at, now())
        WHERE outbox_id = %s AND NOT EXISTS (SELECT 1 FROM push_delivery WHERE outbox_id = %s)
        RETURNING outbox_id
        """,
        (outbox_id, outbox_id),
    ).fetchone()
    return row is not None
