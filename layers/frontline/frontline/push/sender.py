"""Deliver one encrypted Web Push message to a page of subscriptions, concurrently.

Every host is resolved and checked once per page (``endpoint.resolve_target``), and the connection goes to
the address that was checked, with TLS and ``Host`` still naming the host: a DNS answer that changes after
the check cannot redirect the request. Connections are pooled per target across pages and invocations;
every request has a connect and a read timeout; redirects are never followed, nothing is retried here
(retries go through SQS, see ``fanout``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from urllib.parse import urlsplit

import urllib3
from aws_lambda_powertools import Logger
from pywebpush import WebPusher

from frontline.push import vapid
from frontline.push.endpoint import Endpoint, InvalidSubscription, Target, parse_endpoint, resolve_target
from frontline.push.settings import PushSettings
from frontline.push.subscriptions import Subscription

log = Logger(child=True)


class Outcome(str, Enum):
    DELIVERED = "delivered"  # 2xx
    GONE = "gone"  # 404 / 410: the subscription is dead
    RETRY = "retry"  # 429, 5xx, timeout, connection error
    REJECTED = "rejected"  # any other answer: logged and counted, not retried
    BLOCKED = "blocked"  # the endpoint failed the send-time SSRF check; no request was made


@dataclass(frozen=True)
class Result:
    subscription_id: int
    outcome: Outcome
    status: int | None = None


@dataclass(frozen=True)
class Message:
    """What every recipient of one notification gets: the clear-text payload and the shared headers."""

    payload: bytes
    ttl_seconds: int
    topic: str | None = None
    urgency: str = "normal"


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (404, 410):
        return Outcome.GONE
    if status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED


_pools: dict[Target, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()
MAX_POOLS = 256


def _pool(target: Target, cfg: PushSettings) -> urllib3.HTTPConnectionPool:
    with _pools_lock:
        pool = _pools.get(target)
        if pool is None:
            if len(_pools) >= MAX_POOLS:
                for stale in _pools.values():
                    stale.close()
                _pools.clear()
            options = dict(maxsize=cfg.concurrency, block=True, retries=False,
                           timeout=urllib3.Timeout(connect=cfg.timeout_seconds, read=cfg.timeout_seconds))
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                                   assert_hostname=target.host, **options)
            else:
                pool = urllib3.HTTPConnectionPool(target.address, target.port, **options)
            _pools[target] = pool
        return pool


@lru_cache(maxsize=1)
def _executor(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push")


def _post(pool: urllib3.HTTPConnectionPool, subscription: Subscription, path: str, headers: dict[str, str],
          message: Message) -> Result:
    try:
        body = WebPusher(
            {"endpoint": subscription.endpoint,
             "keys": {"p256dh": subscription.keys_p256dh, "auth": subscription.keys_auth}}
        ).encode(message.payload, "aes128gcm")["body"]
    except Exception as exc:  # keys that passed validation once but cannot be used now
        log.warning("cannot encrypt for subscription %s: %s", subscription.id, exc)
        return Result(subscription.id, Outcome.REJECTED)
    try:
        response = pool.urlopen("POST", path, body=body, headers=headers, retries=False, redirect=False,
                                assert_same_host=False)
    except urllib3.exceptions.HTTPError as exc:
        log.info("push to subscription %s failed, will retry: %s", subscription.id, exc)
        return Result(subscription.id, Outcome.RETRY)
    outcome = classify(response.status)
    if outcome is Outcome.REJECTED:
        log.warning("push service answered %s for subscription %s: %s", response.status, subscription.id,
                    response.data[:200])
    return Result(subscription.id, outcome, response.status)


def _route(endpoint: Endpoint, base_headers: dict[str, str], routes: dict, cfg: PushSettings
           ) -> tuple[Target, dict[str, str]]:
    """The checked target and the request headers of an endpoint's host, worked out once per page."""
    key = (endpoint.scheme, endpoint.host, endpoint.port)
    if key not in routes:
        try:
            routes[key] = (resolve_target(endpoint, cfg),
                           {**base_headers, "Host": endpoint.origin.split("://", 1)[1],
                            "Authorization": vapid.authorization(endpoint.origin)})
        except InvalidSubscription as exc:
            routes[key] = exc
    route = routes[key]
    if isinstance(route, InvalidSubscription):
        raise route
    return route


def send_page(subscriptions: Sequence[Subscription], message: Message, cfg: PushSettings) -> list[Result]:
    """Send ``message`` to each subscription; one Result each, in order."""
    base_headers = {"TTL": str(message.ttl_seconds), "Content-Encoding": "aes128gcm",
                    "Content-Type": "application/octet-stream", "Urgency": message.urgency}
    if message.topic:
        base_headers["Topic"] = message.topic
    routes: dict[tuple[str, str, int], tuple[Target, dict[str, str]] | InvalidSubscription] = {}
    results: list[Result | None] = [None] * len(subscriptions)
    jobs = []
    for index, subscription in enumerate(subscriptions):
        try:
            target, headers = _route(parse_endpoint(subscription.endpoint), base_headers, routes, cfg)
        except InvalidSubscription as exc:
            log.warning("not sending to subscription %s: %s", subscription.id, exc.message)
            results[index] = Result(subscription.id, Outcome.BLOCKED)
            continue
        parts = urlsplit(subscription.endpoint)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        jobs.append((index, _executor(cfg.concurrency).submit(_post, _pool(target, cfg), subscription, path,
                                                              headers, message)))
    for index, future in jobs:
        results[index] = future.result()
    return results  # type: ignore[return-value]
