"""The push consumer: one relayed transition → every matching subscription, exactly once.

The relay may send a transition to SQS more than once (it resends whatever it did not stamp relayed,
see ``relay``), and SQS itself delivers at least once. Exactly-once is therefore kept here: the first
receipt claims the outbox id and writes one pending delivery per matching subscription, in one
statement; every receipt (the first, a duplicate, a redelivery after a failure) only works through the
pending deliveries that remain, one receipt at a time (a lease in the dispatch row): two copies
received together would otherwise send the same pages. A page's outcomes are settled in one
statement after it is sent.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import psycopg
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from frontline import db
from frontline.push import sender, subscriptions
from frontline.push.notification import Transition, notification_for
from frontline.push.settings import push_settings
from frontline.telemetry import new_metrics

log = Logger(child=True)
metrics = new_metrics()

_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


class FanoutIncomplete(Exception):
    """Deliveries remain pending (429/5xx/timeouts, or the invocation ran out of time): the SQS message
    fails and comes back after its visibility timeout, and only those deliveries are retried."""


def deliver(body: str, conn: psycopg.Connection | None = None, deadline: float | None = None) -> Counter:
    """Handle one SQS message body (a relayed outbox row). ``deadline`` (``time.monotonic()``) stops
    the fan-out between pages. Returns the count of each outcome."""
    transition = Transition.model_validate_json(body)
    cfg = push_settings()
    conn = conn or db.connection()
    notification = notification_for(transition, cfg.click_url)
    message = sender.Message(
        notification.encoded(),
        cfg.ttl_seconds,
        topic=notification.tag if _TOPIC.fullmatch(notification.tag) else None,
    )
    recipients = subscriptions.claim_dispatch(conn, transition.outbox_id, transition.kind, transition.enemy)
    log.info("fan-out", outbox_id=transition.outbox_id, kind=transition.kind,
             recipients=recipients, first_receipt=recipients is not None)
    counts: Counter = Counter()
    with subscriptions.sending(conn, transition.outbox_id) as ours:
        if not ours:
            raise FanoutIncomplete(f"outbox {transition.outbox_id}: another receipt is sending it")
        after = 0
        while deadline is None or time.monotonic() < deadline:
            page = subscriptions.pending_page(conn, transition.outbox_id, after, cfg.page_size)
            if not page:
                break
            results = sender.send_page(page, message, cfg)
            counts.update(r.outcome.value for r in results)
            counts["abandoned"] += subscriptions.record_outcomes(
                conn,
                transition.outbox_id,
                [r.subscription_id for r in results],
                [r.status for r in results],
                [r.outcome is sender.Outcome.RETRY for r in results],
                [r.outcome is sender.Outcome.GONE for r in results],
                cfg.max_attempts,
            )
            after = page[-1].id
        for outcome, value in counts.items():
            metrics.add_metric(name=f"Push{outcome.capitalize()}", unit=MetricUnit.Count, value=value)
        if not subscriptions.finish_dispatch(conn, transition.outbox_id):
            raise FanoutIncomplete(f"outbox {transition.outbox_id}: deliveries remain pending ({dict(counts)})")
    return counts
