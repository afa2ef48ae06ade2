"""The outbox relay: after the ingest commit, send unrelayed ``push_outbox`` rows to the push queue.

Rows are locked (``FOR UPDATE SKIP LOCKED``, so two pollers never relay the same row at once), sent,
and stamped ``relayed_at`` in the same transaction, which commits only after every send succeeded. A
crash or an error anywhere before that commit leaves the rows unrelayed: the next call sends them again.
Nothing is lost; the duplicates this can produce are absorbed by the consumer's claim (``fanout``).
"""

from __future__ import annotations

import psycopg
from aws_lambda_powertools import Logger

from frontline import queues
from frontline.push.notification import Transition
from frontline.push.settings import push_settings

log = Logger(child=True)
BATCH = 100


def _send(queue_url: str, rows: list[tuple]) -> None:
    for outbox_id, kind, season, enemy, payload in rows:
        body = Transition(outbox_id=outbox_id, kind=kind, season=season, enemy=enemy, payload=payload)
        queues.send(queue_url, body.model_dump_json())


def relay_outbox(conn: psycopg.Connection) -> int:
    """Relay every unrelayed outbox row (in batches of 100); returns how many were relayed. Without
    ``PUSH_QUEUE_URL`` it relays nothing and the rows wait for a configured relay."""
    queue_url = push_settings().queue_url
    if not queue_url:
        log.warning("PUSH_QUEUE_URL is not set: push notifications are not relayed")
        return 0
    relayed = 0
    while True:
        with conn.transaction():
            rows = conn.execute(
                """
                SELECT id, kind, season, enemy, payload FROM push_outbox
                WHERE relayed_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                """,
                (BATCH,),
            ).fetchall()
            if not rows:
                return relayed
            _send(queue_url, rows)
            conn.execute("UPDATE push_outbox SET relayed_at = now() WHERE id = ANY (%s)", ([r[0] for r in rows],))
        relayed += len(rows)
        log.info("relayed push transitions", count=len(rows), outbox_ids=[r[0] for r in rows])
