"""``frontline h1 …``: poll once, backfill seasons, run the upstream simulator."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import asdict

from frontline import db

BACKFILL_BATCH = 10  # seasons per transaction: one round of four statements stores them all


def _cmd_poll(_args: argparse.Namespace) -> int:
    from frontline.h1.poller import run_poll_cycle

    outcome = run_poll_cycle()
    print(json.dumps(asdict(outcome)))
    return 0 if outcome.status != "failed" else 1


def _cmd_backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from frontline.config import settings
    from frontline.h1 import client, ingest

    last = args.to if args.to is not None else client.get_campaign_status().season
    conn = db.connection()
    rows, fetched = 0, []
    with tqdm(range(args.from_, last + 1), unit="season", desc="backfill") as progress:
        for season in progress:
            fetched.append((season, client.get_snapshots(season)))
            if len(fetched) == BACKFILL_BATCH or season == last:
                rows += ingest.ingest_seasons(conn, fetched, settings().bucket_size)
                fetched = []
            progress.set_postfix(season=season, rows=rows)
    print(f"backfilled seasons {args.from_}-{last}: {rows} rows written")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from frontline.h1.simulator import Simulator

    simulator = Simulator.generated(seed=args.seed, speed=args.speed, port=args.port).start()
    print(f"Helldivers 1 API simulator at {simulator.url} (H1_API_URL); Ctrl-C stops it", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    simulator.stop()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    h1 = sub.add_parser("h1", help="Helldivers 1 campaign tracker").add_subparsers(dest="h1_command", required=True)

    p = h1.add_parser("poll", help="run one poll cycle (the scheduled Lambda's code path)")
    p.set_defaults(func=_cmd_poll)

    p = h1.add_parser("backfill", help="store seasons from get_snapshots")
    p.add_argument("--from", dest="from_", type=int, default=1, help="first season (default 1)")
    p.add_argument("--to", type=int, default=None, help="last season (default: the current one)")
    p.set_defaults(func=_cmd_backfill)

    p = h1.add_parser("simulate", help="serve the generated upstream simulator on loopback")
    p.add_argument("--port", type=int, default=8091)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    p.set_defaults(func=_cmd_simulate)
