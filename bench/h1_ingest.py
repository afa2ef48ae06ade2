"""Benchmark the h1 write path (prints figures; asserts nothing).

(a) one get_campaign_status poll's ingest: median time and statements per poll over many polls, and
    the whole scheduled cycle (lock, fetch from the simulator, ingest with heartbeat, unlock);
(b) a backfill of 160 generated seasons of realistic size (50 snapshots, 70 defend and 10 attack
    events each) in rows per second, against plain COPY of the same rows into identical tables.

Run: .venv/bin/python bench/h1_ingest.py [--polls 300] [--seasons 160]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from frontline import db, migrate
from frontline.config import settings
from frontline.h1 import ingest, poller
from frontline.h1.cli import BACKFILL_BATCH
from frontline.h1.models import CampaignStatus, SeasonSnapshots
from frontline.h1.simulator import SeasonGenerator, SimulatedClock, Simulator, World
from frontline.push import relay
from frontline.local.postgres import EmbeddedPostgres

BUCKET = 900


class CountingCursor(psycopg.Cursor):
    statements = 0

    def execute(self, query, params=None, **kwargs):
        CountingCursor.statements += 1
        return super().execute(query, params, **kwargs)


def bench_poll(url: str, polls: int) -> None:
    world = World(SeasonGenerator(seed=2), SimulatedClock(0))
    start = world.generator.season(3).start + 3600
    payloads = [CampaignStatus.model_validate(world.campaign_status(start + 60 * i)) for i in range(polls)]
    with psycopg.connect(url, autocommit=True, cursor_factory=CountingCursor) as conn:
        durations, counts = [], []
        for poll in payloads:
            CountingCursor.statements = 0
            began = time.perf_counter()
            ingest.ingest_campaign_status(conn, poll, BUCKET)
            durations.append((time.perf_counter() - began) * 1000)
            counts.append(CountingCursor.statements)
    print(f"(a) poll ingest over {polls} polls (1 simulated minute apart):")
    print(f"    median {statistics.median(durations):.2f} ms, p90 {statistics.quantiles(durations, n=10)[-1]:.2f} ms, "
          f"statements per poll: {max(counts)} (max), {statistics.median(counts):.0f} (median); target <= 6")


def bench_poll_cycle(url: str, polls: int) -> None:
    """The whole scheduled cycle against the loopback simulator: lock, fetch, ingest, heartbeat, unlock."""
    simulator = Simulator.generated(seed=2).start()
    poller.logger.setLevel("ERROR")  # a log line per poll would drown the figures
    relay.log.setLevel("ERROR")  # no push queue here: transitions stay in the outbox
    os.environ.update(POSTGRES_URL=url, H1_API_URL=simulator.url)
    settings.cache_clear()
    # Count this cycle's statements: the poller's connection is opened through db.connect.
    db.connect = lambda: psycopg.connect(url, autocommit=True, prepare_threshold=None, cursor_factory=CountingCursor)
    db.reset()
    clock = simulator.world.clock
    clock.set(simulator.world.generator.season(3).start + 7200)
    durations, counts = [], []
    try:
        for _ in range(polls):
            clock.set(clock.now() + 60)
            CountingCursor.statements = 0
            began = time.perf_counter()
            outcome = poller.run_poll_cycle()
            durations.append((time.perf_counter() - began) * 1000)
            poller.metrics.clear_metrics()  # Lambda flushes them per invocation; here they would pile up
            counts.append(CountingCursor.statements)
            assert outcome.status == "ok", outcome
    finally:
        simulator.stop()
        db.reset()
    print(f"    whole poll cycle (incl. the upstream call on loopback): median {statistics.median(durations):.2f} ms, "
          f"statements: {statistics.median(counts):.0f} (median), {max(counts)} (max)")


def season_payload(season: int, event_base: int) -> dict:
    """A realistic season: 50 snapshots a day apart, 70 defend events and 10 attack events."""
    start = 1_000_000_000 + season * 60 * 86_400
    snapshots = [{"season": season, "time": start + i * 86_400 + 1,
                  "data": '[{"points":%d,"points_taken":%d,"status":"active"},{"points":%d,"points_taken":%d,'
                          '"status":"active"},{"points":%d,"points_taken":%d,"status":"hidden"}]'
                          % (i * 900, i * 700, i * 800, i * 600, i * 100, i * 50)} for i in range(50)]
    defend = [{"season": season, "event_id": event_base + i, "start_time": start + i * 40_000,
               "end_time": start + i * 40_000 + 9_000, "region": 1 + i % 10, "enemy": i % 3, "points_max": 5_000,
               "points": 5_000 if i % 2 else 3_100, "status": "success" if i % 2 else "fail",
               "players_at_start": 100 + i} for i in range(70)]
    attack = [{"season": season, "event_id": event_base + i, "start_time": start + i * 300_000,
               "end_time": start + i * 300_000 + 172_800, "enemy": i % 3, "points_max": 40_000, "points": 22_000,
               "status": "fail", "players_at_start": 300} for i in range(10)]
    return {"time": start + 60 * 86_400, "error_code": 0, "introduction_order": [0, 1, 2],
            "points_max": [500_000, 400_000, 300_000], "snapshots": snapshots, "defend_events": defend,
            "attack_events": attack}


def bench_backfill(url: str, seasons: int) -> None:
    payloads = [(n, SeasonSnapshots.model_validate(season_payload(n, n * 100))) for n in range(1, seasons + 1)]
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        rows = sum(ingest.ingest_seasons(conn, payloads[i:i + BACKFILL_BATCH], BUCKET)
                   for i in range(0, len(payloads), BACKFILL_BATCH))
        ingest_seconds = time.perf_counter() - began

        # The reference limit: the same rows, COPY'd into tables identical to the real ones.
        status_rows = [(n, enemy, ingest.bucket_start(s.time, BUCKET), s.time, f.points, f.points_taken, f.status,
                        "snapshot") for n, p in payloads for s in p.snapshots for enemy, f in enumerate(s.data)]
        event_rows = [ingest._event_row(e, from_poll=False) for _, p in payloads
                      for e in (*p.defend_events, *p.attack_events)]
        season_rows = [(n, p.introduction_order, p.points_max, p.time) for n, p in payloads]
        # Identical tables: LIKE copies columns, defaults, checks and indexes; the foreign keys are added.
        conn.execute("CREATE TABLE copy_season (LIKE h1_season INCLUDING ALL)")
        conn.execute("CREATE TABLE copy_event (LIKE h1_event INCLUDING ALL, FOREIGN KEY (season) REFERENCES copy_season (season))")
        conn.execute("CREATE TABLE copy_status (LIKE h1_status INCLUDING ALL, FOREIGN KEY (season) REFERENCES copy_season (season))")
        began = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            for table, columns, data in (
                ("copy_season", "season, introduction_order, points_max, snapshots_fetched_at", season_rows),
                ("copy_event", ", ".join(ingest._EVENT_COLUMNS), event_rows),
                ("copy_status", "season, enemy, bucket, time, points, points_taken, status, source", status_rows),
            ):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
        copy_seconds = time.perf_counter() - began
    copied = len(status_rows) + len(event_rows) + len(season_rows)
    ingest_rate, copy_rate = rows / ingest_seconds, copied / copy_seconds
    print(f"(b) backfill of {seasons} seasons ({rows} rows: {len(status_rows)} status, {len(event_rows)} events, "
          f"{len(season_rows)} seasons):")
    print(f"    ingest_seasons, {BACKFILL_BATCH} seasons per transaction: {ingest_seconds:.2f} s, {ingest_rate:,.0f} rows/s")
    print(f"    plain COPY of the same {copied} rows: {copy_seconds:.2f} s, {copy_rate:,.0f} rows/s")
    print(f"    ratio: {ingest_rate / copy_rate:.0%} of COPY (target >= 50%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--seasons", type=int, default=160)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", delete=True)
        try:
            for name, bench in (("poll", lambda url: bench_poll(url, args.polls)),
                                ("cycle", lambda url: bench_poll_cycle(url, args.polls)),
                                ("backfill", lambda url: bench_backfill(url, args.seasons))):
                url = server.ensure_database(f"bench_{name}")
                with psycopg.connect(url, autocommit=True) as conn:
                    migrate.migrate(conn)
                bench(url)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
