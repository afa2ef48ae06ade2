"""StarForge benchmark: ingest acknowledgement latency, ETL throughput, troop rows/s against COPY.

    .venv/bin/python bench/starforge.py [--ingests 200] [--profiles 200]

Runs against an embedded PostgreSQL it starts in a temporary folder (and removes). The ingest path is
measured in-process, from request body to answer, with the local in-process queue standing in for
SQS (the access check in front of the route is not part of it). The ETL runs on one worker and one
connection, as one Lambda would. The COPY baseline writes the same troop rows into a table shaped
like hero_troops, in the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import psycopg

from frontline import db, migrate
from frontline.config import settings
from frontline.local import queues, template
from frontline.local.postgres import EmbeddedPostgres
from frontline.starforge import etl, ingest
from frontline.starforge.generator import generate_profile, namecode_for
from frontline.starforge.settings import settings as starforge_settings

ROOT = Path(__file__).resolve().parents[1]
TROOP_COLUMNS = ("hero_id", "troop_id", "amount", "level", "current_rarity", "fusion_cards", "orb_fusion_cards",
                 "traits_owned", "invasions", "shiny_level_progress", "orbs_used", "extra")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def bench_ingest(count: int) -> None:
    base = generate_profile(1, pad_to_bytes=500_000)
    profile = base["result"]["ProfileData"]
    bodies = []
    for n in range(count + 20):
        profile["NameCode"], profile["ServerTime"] = namecode_for(100_000 + n), 1_760_000_000_000 + n
        bodies.append(json.dumps({"source": "login", "payload": base}).encode())
    latencies = []
    for n, body in enumerate(bodies):
        started = time.perf_counter()
        answer = ingest.ingest(body, idempotency_key=f"bench-{n}")
        elapsed = time.perf_counter() - started
        assert answer.status == 202, answer
        if n >= 20:  # warm-up
            latencies.append(elapsed * 1000)
    print(f"ingest ack, {len(bodies[0]) / 1000:.0f} KB body, {count} requests (Idempotency-Key on): "
          f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms "
          f"(target p95 <= 50 ms)")


def troop_rows(hero_id: str, profile: dict) -> list[tuple]:
    return [(hero_id, int(tid), t["Amount"], t["Level"], t["CurrentRarity"], t["FusionCards"], t["OrbFusionCards"],
             t["TraitsOwned"], t["Invasions"], t["ShinyLevelProgress"], json.dumps(t["OrbsUsed"]),
             json.dumps({"EliteLevel": t["EliteLevel"]})) for tid, t in profile["Troops"].items()]


def known_hero_payload(n: int) -> dict:
    """Hero n a day later: 5% of the troops gained copies or levels."""
    payload = generate_profile(n)
    profile = payload["result"]["ProfileData"]
    profile["ServerTime"] += 86_400_000
    for troop in list(profile["Troops"].values())[n % 20::20]:
        troop["Amount"] += 1
        troop["Level"] = min(troop["Level"] + 1, 20)
    return payload


def bench_etl(conn: psycopg.Connection, count: int) -> None:
    # Payloads are made one at a time and dropped once stored: a Lambda's heap holds none of them, and
    # hundreds of live payload dicts would make every garbage collection in the timed loop slower.
    def store(make_payload: Callable[[int], dict]) -> list[str]:
        answers = [ingest.ingest(json.dumps({"source": "login", "payload": make_payload(n)}).encode())
                   for n in range(count)]
        return [a.body["snapshot_id"] for a in answers]

    def timed_etl(snapshot_ids: list[str]) -> float:
        gc.collect()
        started = time.perf_counter()
        for snapshot_id in snapshot_ids:
            assert etl.process_snapshot(snapshot_id, conn) is etl.Outcome.PROCESSED
        return time.perf_counter() - started

    def report(label: str, elapsed: float) -> None:
        print(f"ETL, one worker, {label}: {count / elapsed:.0f} profiles/s "
              f"({elapsed / count * 1000:.1f} ms per profile; target >= 100 profiles/s)")

    new_elapsed = timed_etl(store(generate_profile))
    report("new heroes, 700 troops each", new_elapsed)
    known_ids = store(known_hero_payload)
    report("known heroes, 5% of 700 troops changed", timed_etl(known_ids))
    # The same snapshots again: every upsert finds nothing to change.
    conn.execute("UPDATE starforge.hero_snapshots SET processed_at = NULL WHERE id = ANY(%s)", (known_ids,))
    report("unchanged profiles (reprocessing)", timed_etl(known_ids))

    troop_rows_per_s = count * 700 / new_elapsed
    hero_ids = [r[0] for r in conn.execute("SELECT id::text FROM starforge.heroes ORDER BY namecode").fetchall()]
    rows = [row for n, hero_id in enumerate(hero_ids)
            for row in troop_rows(hero_id, generate_profile(n)["result"]["ProfileData"])]
    conn.execute("CREATE TABLE bench_troops (LIKE starforge.hero_troops INCLUDING ALL)")
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        for n in range(count):  # one COPY per profile, as the ETL writes one profile at a time
            with cur.copy(f"COPY bench_troops ({', '.join(TROOP_COLUMNS)}) FROM STDIN") as copy:
                for row in rows[n * 700:(n + 1) * 700]:
                    copy.write_row(row)
    copy_rows_per_s = len(rows) / (time.perf_counter() - started)
    print(f"troop rows/s: ETL of new heroes (whole profiles) {troop_rows_per_s:,.0f}, plain COPY of the same "
          f"rows {copy_rows_per_s:,.0f}, ratio {troop_rows_per_s / copy_rows_per_s:.2f} "
          f"(COPY of the troop rows alone caps this machine at {copy_rows_per_s / 700:.0f} profiles/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingests", type=int, default=200)
    parser.add_argument("--profiles", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="starforge-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pgdata", delete=True)
        try:
            app = template.read(ROOT / "template.yaml")
            os.environ["POSTGRES_URL"] = server.ensure_database("bench")
            os.environ["STARFORGE_ETL_QUEUE_URL"] = queues_url = template.local_queue_url("StarforgeEtlQueue")
            settings.cache_clear()
            starforge_settings.cache_clear()
            db.reset()
            migrate.migrate()
            queues.install(app)  # collects the jobs; nothing consumes them
            print(f"PostgreSQL embedded in {tmp}; jobs go to {queues_url}")
            bench_ingest(args.ingests)
            # The ETL Lambda's own settings (DB_PREPARED_STATEMENTS among them), as it runs in AWS.
            os.environ.update({key: value for key, value in app.functions["StarforgeEtlFunction"].environment.items()
                               if key.startswith(("DB_", "STARFORGE_")) and key != "DB_SECRET_ARN"})
            os.environ["STARFORGE_ETL_QUEUE_URL"] = queues_url
            settings.cache_clear()
            starforge_settings.cache_clear()
            db.reset()
            bench_etl(db.connection(), args.profiles)
        finally:
            db.reset()
            server.stop()


if __name__ == "__main__":
    main()
