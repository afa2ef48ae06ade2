"""Benchmark the h1 read API (prints figures; asserts nothing).

(a) cold start: ``python -X importtime`` of every HTTP handler module, in a fresh interpreter each run;
(b) warm, in-process handler latency (p50, p99) of every endpoint, each request a full API Gateway event
    through template.yaml's handler, against a database holding 160 backfilled generated seasons and
    30 days of 1-minute polls (43,200 get_campaign_status responses, each stored by
    ``ingest_campaign_status``) that end ten days into season 161. Target: live p50 <= 5 ms.

Run: .venv/bin/python bench/h1_api.py [--days 30] [--requests 500] [--import-runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from frontline import db, migrate
from frontline.accounts import store, tokens
from frontline.config import settings
from frontline.h1 import ingest
from frontline.h1.models import CampaignStatus, SeasonSnapshots
from frontline.h1.simulator import DAY, SeasonGenerator, SimulatedClock, World
from frontline.local import invoke, template
from frontline.local.events import http_api_event
from frontline.local.postgres import EmbeddedPostgres
from frontline.local.server import Router

ROOT = Path(__file__).resolve().parents[1]
BUCKET = 900
SEASONS = 160
BACKFILL_BATCH = 10
_IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| app$")


def import_times(runs: int) -> None:
    application = template.read(ROOT / "template.yaml")
    functions = sorted({route.function for route in application.routes})
    print(f"(a) cold import of each HTTP handler module (python -X importtime, {runs} fresh interpreters each):")
    for name in functions:
        folder = application.functions[name].code_uri
        micros = []
        for _ in range(runs):
            result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=folder,
                                    capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            found = [_IMPORT_LINE.search(line) for line in result.stderr.splitlines()]
            micros += [int(m.group(1)) for m in found if m]
        if micros:
            print(f"    {folder.name:<20} min {min(micros) / 1000:6.1f} ms   median {statistics.median(micros) / 1000:6.1f} ms")
        else:
            print(f"    {folder.name:<20} did not import: {result.stderr.strip().splitlines()[-1:]}")


def fill(url: str, days: int) -> int:
    generator = SeasonGenerator(seed=15)
    world = World(generator, SimulatedClock(0))
    now = generator.season(SEASONS + 1).start + 10 * DAY
    with psycopg.connect(url, autocommit=True) as conn:
        began = time.perf_counter()
        payloads = [(n, SeasonSnapshots.model_validate(world.snapshots(n, now))) for n in range(1, SEASONS + 1)]
        for i in range(0, SEASONS, BACKFILL_BATCH):
            ingest.ingest_seasons(conn, payloads[i:i + BACKFILL_BATCH], BUCKET)
        print(f"    backfilled {SEASONS} seasons in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        polls = days * 24 * 60
        for at in range(now - (polls - 1) * 60, now + 1, 60):
            ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(at)), BUCKET)
        elapsed = time.perf_counter() - began
        print(f"    ingested {polls:,} polls in {elapsed:.0f} s ({polls / elapsed:,.0f} polls/s)")
        counts = conn.execute("""SELECT (SELECT count(*) FROM h1_status), (SELECT count(*) FROM h1_statistic),
                                        (SELECT count(*) FROM h1_event), (SELECT count(*) FROM h1_event_progress)""").fetchone()
        print("    rows: {:,} status, {:,} statistic, {:,} event, {:,} event progress".format(*counts))
        conn.execute("VACUUM ANALYZE")
        user = store.create_user(conn, "bench")
        key = tokens.new_api_key()
        store.insert_api_key(conn, user["id"], key.hash, key.visible, "bench")
        conn.execute("""INSERT INTO worker_heartbeat (worker_type, last_beat, poll_duration_ms, started_at)
                        VALUES ('h1_poller', now(), 40, now())""")
    return key.plaintext


def latencies(requests: int, api_key: str) -> None:
    application = template.read(ROOT / "template.yaml")
    routes = Router(application.routes)
    season = SEASONS + 1
    cases = [
        ("live", "GET", "/api/h1/live", {}),
        ("live, If-None-Match (304)", "GET", "/api/h1/live", "etag"),
        ("campaign, current season", "GET", f"/api/h1/campaign?season={season}", {}),
        ("campaign, 1 day at 900 s", "GET",
         f"/api/h1/campaign?season={season}&from={{now_minus_day}}&to={{now}}&resolution=900", {}),
        ("campaign, archived season", "GET", "/api/h1/campaign?season=100", {}),
        ("seasons (160 + 1)", "GET", "/api/h1/seasons", {}),
        ("seasons/{season}", "GET", "/api/h1/seasons/100", {}),
        ("rebroadcast get_campaign_status", "GET", "/api/h1/rebroadcast?action=get_campaign_status",
         {"x-api-key": api_key}),
        ("rebroadcast get_snapshots", "POST", "/api/h1/rebroadcast", {"x-api-key": api_key}),
        ("health", "GET", "/api/health", {}),
    ]
    now = db.connection().execute("SELECT polled_at FROM h1_season ORDER BY season DESC LIMIT 1").fetchone()[0]
    print(f"(b) warm in-process latency over {requests} requests each (after 20 warm-up requests):")
    print(f"    {'endpoint':<34} {'p50 ms':>8} {'p99 ms':>8} {'status':>7} {'bytes':>9}")
    for label, method, url, headers in cases:
        url = url.format(now=now, now_minus_day=now - DAY)
        path, _, query = url.partition("?")
        route, parameters = routes.match(method, path)
        function = application.functions[route.function]
        body = b"action=get_snapshots&season=100" if method == "POST" else b""

        def call(extra: dict[str, str]) -> dict:
            event = http_api_event(method=method, raw_path=path, raw_query=query, headers=extra, body=body,
                                   route_key=route.route_key, path_parameters=parameters)
            return invoke.invoke(function, event)

        if headers == "etag":
            headers = {"If-None-Match": call({})["headers"]["ETag"]}
        for _ in range(20):
            call(headers)
        samples = []
        for _ in range(requests):
            began = time.perf_counter()
            result = call(headers)
            samples.append((time.perf_counter() - began) * 1000)
        p50, p99 = statistics.median(samples), statistics.quantiles(samples, n=100)[98]
        print(f"    {label:<34} {p50:8.2f} {p99:8.2f} {result['statusCode']:>7} {len(result.get('body') or ''):>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30, help="days of 1-minute polls (default 30)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--import-runs", type=int, default=5)
    args = parser.parse_args()
    import_times(args.import_runs)
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", delete=True)
        try:
            url = server.ensure_database("bench_h1_api")
            with psycopg.connect(url, autocommit=True) as conn:
                migrate.migrate(conn)
            print("database:")
            api_key = fill(url, args.days)
            os.environ.update({"POSTGRES_URL": url, "API_KEY_RATE_LIMIT_PER_MINUTE": "100000000"})
            settings.cache_clear()
            latencies(args.requests, api_key)
        finally:
            db.reset()
            server.stop()


if __name__ == "__main__":
    main()
