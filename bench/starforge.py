"""StarForge benchmark: ingest acknowledgement latency, ETL throughput, troop rows/s against COPY.

    .venv/bin/python bench/starforge.py [--ingests 200] [--profiles 200] [--rounds 3]

Runs against an embedded PostgreSQL it starts in a temporary folder (and removes). The ingest path is
measured in-process, from request body to answer, with the local in-process queue standing in for
SQS (the access check in front of the route is not part of it). The ETL runs on one worker and one
connection, as one Lambda would, in batches of the size template.yaml gives its SQS trigger; next to
its profiles/s the bench prints this process's CPU per profile, the part that is not waiting for
PostgreSQL. The COPY baseline writes the same troop rows into a table shaped like hero_troops, in the
same run.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, NamedTuple
from uuid import UUID

import psycopg

from frontline import db, migrate
from frontline.config import settings
from frontline.local import queues, template
from frontline.local.postgres import EmbeddedPostgres
from frontline.runtime import end_cold_start
from frontline.starforge import etl, ingest
from frontline.starforge.generator import generate_profile, namecode_for
from frontline.starforge.settings import settings as starforge_settings

ROOT = Path(__file__).resolve().parents[1]
TROOP_COLUMNS = ("id", "hero_id", "troop_id", "amount", "level", "current_rarity", "fusion_cards", "orb_fusion_cards",
                 "traits_owned", "invasions", "shiny_level_progress", "orbs_used", "extra")


class GcPauses:
    """Wall time spent in garbage collections inside the ``with`` block (through ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds, self._started = 0.0, 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._on_collection)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def bench_ingest(count: int) -> None:
    base = generate_profile(1, pad_to_bytes=500_000)
    profile = base["result"]["ProfileData"]
    bodies = []
    for n in range(count + 20):
        profile["NameCode"], profile["ServerTime"] = namecode_for(100_000 + n), 1_760_000_000_000 + n
        bodies.append(json.dumps({"source": "login", "payload": base}).encode())
    latencies, gc_pauses = [], []
    with GcPauses() as pauses:
        for n, body in enumerate(bodies):
            started, paused = time.perf_counter(), pauses.seconds
            answer = ingest.ingest(body, idempotency_key=f"bench-{n}")
            elapsed = time.perf_counter() - started
            assert answer.status == 202, answer
            if n >= 20:  # warm-up
                latencies.append(elapsed * 1000)
                gc_pauses.append((pauses.seconds - paused) * 1000)
    print(f"ingest ack, {len(bodies[0]) / 1000:.0f} KB body, {count} requests (Idempotency-Key on): "
          f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms "
          f"(garbage collection p95 {percentile(gc_pauses, 95):.1f} ms) (target p95 <= 50 ms)")


def troop_rows(hero_id: str, profile: dict) -> list[tuple]:
    """The rows the ETL writes, with the ids it gives them (md5 of hero_id:troop:troop_id)."""
    return [(UUID(hashlib.md5(f"{hero_id}:troop:{tid}".encode()).hexdigest()), hero_id, int(tid), t["Amount"],
             t["Level"], t["CurrentRarity"], t["FusionCards"], t["OrbFusionCards"], t["TraitsOwned"], t["Invasions"],
             t["ShinyLevelProgress"], json.dumps(t["OrbsUsed"]), json.dumps({"EliteLevel": t["EliteLevel"]}))
            for tid, t in profile["Troops"].items()]


def known_hero_payload(n: int, days: int) -> dict:
    """Hero n, ``days`` days on: the same 5% of its troops gained a copy (and a level) each day."""
    payload = generate_profile(n)
    profile = payload["result"]["ProfileData"]
    profile["ServerTime"] += days * 86_400_000
    for troop in list(profile["Troops"].values())[n % 20::20]:
        troop["Amount"] += days
        troop["Level"] = min(troop["Level"] + days, 20)
    return payload


class EtlRound(NamedTuple):
    profiles_per_s: float
    worker_cpu_ms: float  # this process's CPU per profile: parsing, statement building, the driver
    gc_ms: float  # of which garbage collection
    snapshot_updates: int  # the claim's and the finish's updates of hero_snapshots rows
    hot_snapshot_updates: int  # of which HOT: a non-HOT one puts the payload's keys into the GIN index again


def snapshot_update_counts(conn: psycopg.Connection) -> tuple[int, int]:
    """hero_snapshots' updates so far and how many were HOT, this connection's own included: the
    backend flushes its statistics as it goes idle after the first statement, and the second, a
    transaction of its own (the connection autocommits), reads them afresh."""
    conn.execute("SELECT pg_stat_force_next_flush()")
    return conn.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
                        " WHERE relid = 'starforge.hero_snapshots'::regclass").fetchone()


def spread(rates: list[float]) -> str:
    return f"median {statistics.median(rates):,.0f} (runs {min(rates):,.0f}-{max(rates):,.0f})"


def store(make_payload: Callable[[int], dict], count: int) -> list[str]:
    """Ingest ``count`` payloads; their snapshot ids. Payloads are made one at a time and dropped once
    stored: a Lambda's heap holds none of them, and hundreds of live payload dicts would make every
    garbage collection in a timed loop slower."""
    answers = [ingest.ingest(json.dumps({"source": "login", "payload": make_payload(n)}).encode())
               for n in range(count)]
    return [a.body["snapshot_id"] for a in answers]


NEW_HEROES, KNOWN_HEROES, UNCHANGED = ("new heroes, 700 troops each", "known heroes, 5% of 700 troops changed",
                                      "unchanged profiles (reprocessing)")


def etl_workload(conn: psycopg.Connection, count: int, rounds: int) -> Iterator[tuple[str, list[str]]]:
    """The ETL's cases, ``rounds`` rounds of ``count`` profiles each, as (case, snapshot ids), each
    round stored just before it is yielded. New heroes have seeds of their own each round. The known
    and unchanged rounds run on the first round's heroes, before the later new-hero rounds grow the
    tables (a bigger hero_troops no longer fits the embedded server's 128 MB of buffers); unchanged
    rounds reprocess the last known snapshots, so every upsert finds nothing to change."""
    yield NEW_HEROES, store(generate_profile, count)
    known_ids: list[str] = []
    for days in range(1, rounds + 1):
        known_ids = store(lambda n, days=days: known_hero_payload(n, days), count)
        yield KNOWN_HEROES, known_ids
    for _ in range(rounds):
        conn.execute("UPDATE starforge.hero_snapshots SET processed_at = NULL WHERE id = ANY(%s)", (known_ids,))
        yield UNCHANGED, known_ids
    for r in range(1, rounds):
        yield NEW_HEROES, store(lambda n, r=r: generate_profile(r * count + n), count)


def bench_etl(conn: psycopg.Connection, count: int, rounds: int, batch_size: int) -> None:
    def etl_round(snapshot_ids: list[str]) -> EtlRound:
        gc.collect()
        updates_before, hot_before = snapshot_update_counts(conn)
        started, cpu_started = time.perf_counter(), time.process_time()
        with GcPauses() as pauses:
            for first in range(0, len(snapshot_ids), batch_size):
                outcomes = etl.process_snapshots(snapshot_ids[first:first + batch_size], conn)
                assert set(outcomes.values()) == {etl.Outcome.PROCESSED}, outcomes
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        updates, hot = snapshot_update_counts(conn)
        count = len(snapshot_ids)
        return EtlRound(count / elapsed, cpu * 1000 / count, pauses.seconds * 1000 / count,
                        updates - updates_before, hot - hot_before)

    def report(label: str, rounds: list[EtlRound]) -> None:
        rates = [r.profiles_per_s for r in rounds]
        cpu_ms = statistics.median(r.worker_cpu_ms for r in rounds)
        gc_ms = statistics.median(r.gc_ms for r in rounds)
        hot, updates = sum(r.hot_snapshot_updates for r in rounds), sum(r.snapshot_updates for r in rounds)
        print(f"ETL, one worker, {label}: {spread(rates)} profiles/s, {1000 / statistics.median(rates):.1f} ms "
              f"per profile, of which {cpu_ms:.1f} ms the worker's own CPU ({gc_ms:.2f} ms garbage collection); "
              f"{hot} of its {updates} hero_snapshots updates HOT (target >= 100 profiles/s)")

    results: dict[str, list[EtlRound]] = defaultdict(list)
    for case, snapshot_ids in etl_workload(conn, count, rounds):
        results[case].append(etl_round(snapshot_ids))
    for case in (NEW_HEROES, KNOWN_HEROES, UNCHANGED):
        report(case, results[case])

    # COPY of each round's troop rows, one COPY per profile as the ETL writes one profile at a time, into
    # a table shaped like hero_troops that grows round by round as hero_troops did.
    conn.execute("CREATE TABLE bench_troops (LIKE starforge.hero_troops INCLUDING ALL)")
    copy_rates = []
    for r in range(rounds):
        seeds = range(r * count, (r + 1) * count)
        hero_ids = dict(conn.execute("SELECT namecode, id::text FROM starforge.heroes WHERE namecode = ANY(%s)",
                                     ([namecode_for(seed) for seed in seeds],)).fetchall())
        profiles = [troop_rows(hero_ids[namecode_for(seed)], generate_profile(seed)["result"]["ProfileData"])
                    for seed in seeds]
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            for rows in profiles:
                with cur.copy(f"COPY bench_troops ({', '.join(TROOP_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        copy_rates.append(count * 700 / (time.perf_counter() - started))
    etl_rows = statistics.median(r.profiles_per_s for r in results[NEW_HEROES]) * 700
    copy_rows = statistics.median(copy_rates)
    print(f"troop rows/s: ETL of new heroes (whole profiles) {etl_rows:,.0f}, plain COPY of the same rows "
          f"{spread(copy_rates)}, ratio {etl_rows / copy_rows:.2f} "
          f"(COPY of the troop rows alone caps this machine at {copy_rows / 700:.0f} profiles/s)")


def reload_settings() -> None:
    """Read the environment again, on a new connection."""
    settings.cache_clear()
    starforge_settings.cache_clear()
    db.reset()


@contextmanager
def bench_database() -> Iterator[template.Application]:
    """An embedded PostgreSQL in a temporary folder, migrated, with the local in-process queue standing
    in for SQS (it collects the jobs; nothing consumes them); yields template.yaml, read."""
    with tempfile.TemporaryDirectory(prefix="starforge-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pgdata", delete=True)
        try:
            app = template.read(ROOT / "template.yaml")
            os.environ["POSTGRES_URL"] = server.ensure_database("bench")
            os.environ["STARFORGE_ETL_QUEUE_URL"] = queues_url = template.local_queue_url("StarforgeEtlQueue")
            reload_settings()
            migrate.migrate()
            queues.install(app)
            print(f"PostgreSQL embedded in {tmp}; jobs go to {queues_url}")
            end_cold_start()  # as the ingest and ETL handlers' modules do once their imports are done
            yield app
        finally:
            db.reset()
            server.stop()


def use_etl_settings(app: template.Application) -> int:
    """Take the ETL Lambda's own settings (DB_PREPARED_STATEMENTS among them), as it runs in AWS;
    returns the batch size of its SQS trigger."""
    os.environ.update({key: value for key, value in app.functions["StarforgeEtlFunction"].environment.items()
                       if key.startswith(("DB_", "STARFORGE_"))
                       and key not in ("DB_SECRET_ARN", "STARFORGE_ETL_QUEUE_URL")})
    reload_settings()
    return next(t for t in app.queue_triggers if t.function == "StarforgeEtlFunction").batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingests", type=int, default=200)
    parser.add_argument("--profiles", type=int, default=200, help="profiles per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each ETL case and of COPY")
    args = parser.parse_args()
    with bench_database() as app:
        bench_ingest(args.ingests)
        batch_size = use_etl_settings(app)
        bench_etl(db.connection(), args.profiles, args.rounds, batch_size)


if __name__ == "__main__":
    main()
