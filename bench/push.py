"""Push fan-out benchmark: one notification to N subscriptions through the local push service.

    .venv/bin/python bench/push.py [--subscriptions 10000] [--concurrency 32] [--page-size 500]

Runs against an embedded PostgreSQL it starts in a temporary folder (and removes) and a local push
service on loopback in a child process (``--same-process`` keeps it in this one, sharing its GIL), so
the push service's work (VAPID check, aes128gcm decryption) shares the two cores with the sender. The fan-out is the PushFunction's code path: claim,
pending deliveries, keyset pages, per-message encryption, pooled HTTP/1.1 keep-alive connections.
Prints deliveries per second and peak memory (max RSS of the process, and Python heap growth).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

import psycopg

from frontline import migrate
from frontline.local.postgres import EmbeddedPostgres
from frontline.push import fanout, vapid
from frontline.push.local_service import LocalPushService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--same-process", action="store_true", help="run the push service in this process")
    args = parser.parse_args()
    os.environ.update({"VAPID_PRIVATE_KEY": vapid.generate_private_key(), "PUSH_ALLOW_LOOPBACK_ENDPOINTS": "true",
                       "PUSH_CONCURRENCY": str(args.concurrency), "PUSH_PAGE_SIZE": str(args.page_size),
                       "POWERTOOLS_METRICS_NAMESPACE": "FrontlineBench"})

    with tempfile.TemporaryDirectory() as state:
        server = EmbeddedPostgres(Path(state) / "pgdata", delete=True)
        service = ServiceInThisProcess() if args.same_process else ServiceInAChildProcess()
        try:
            url = server.ensure_database("bench")
            with psycopg.connect(url, autocommit=True) as conn:
                migrate.migrate(conn)
                run(conn, service, args.subscriptions)
        finally:
            service.stop()
            server.stop()


class ServiceInThisProcess:
    def __init__(self) -> None:
        self.service = LocalPushService().start()

    def subscribe(self, public_key: str, count: int) -> list[dict]:
        return [self.service.subscribe(public_key) for _ in range(count)]

    def received(self) -> int:
        return sum(len(s.received) for s in self.service.subscriptions.values())

    def stop(self) -> None:
        self.service.stop()


def _serve(pipe) -> None:
    local = ServiceInThisProcess()
    while (request := pipe.recv()) != "stop":
        pipe.send(local.received() if request == "received" else local.subscribe(*request))
    local.stop()


class ServiceInAChildProcess:
    def __init__(self) -> None:
        self.pipe, child_end = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=_serve, args=(child_end,), daemon=True)
        self.process.start()

    def subscribe(self, public_key: str, count: int) -> list[dict]:
        self.pipe.send((public_key, count))
        return self.pipe.recv()

    def received(self) -> int:
        self.pipe.send("received")
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=10)


def run(conn: psycopg.Connection, service, count: int) -> None:
    subscriptions = service.subscribe(vapid.public_key(), count)
    conn.execute(
        "INSERT INTO push_subscription (endpoint, keys_p256dh, keys_auth) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])",
        ([s["endpoint"] for s in subscriptions], [s["keys"]["p256dh"] for s in subscriptions],
         [s["keys"]["auth"] for s in subscriptions]),
    )
    payload = {"type": "defend", "event_id": 1, "region": 3, "enemy": 1, "points": 0, "points_max": 100,
               "status": "active"}
    outbox_id = conn.execute(
        "INSERT INTO push_outbox (dedupe_key, kind, season, enemy, payload) VALUES ('bench', 'started', 1, 1, %s) "
        "RETURNING id", (json.dumps(payload),)).fetchone()[0]
    body = json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 1, "enemy": 1, "payload": payload})

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    counts = fanout.deliver(body, conn)
    elapsed = time.perf_counter() - began
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    received = service.received()
    where = "same process" if isinstance(service, ServiceInThisProcess) else "child process"
    print(f"fan-out of one notification to {count} subscriptions (local push service in a {where}):")
    print(f"  outcomes: {dict(counts)}; decrypted by the push service: {received}")
    print(f"  {elapsed:.2f} s, {counts['delivered'] / elapsed:,.0f} deliveries/s (target >= 1,000 on 2 cores)")
    print(f"  peak RSS {rss_peak / 1024:.0f} MiB (before the fan-out {rss_before / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
