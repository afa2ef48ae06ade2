"""StarForge ETL A/B: another revision's etl.py against this tree's, in one process, batches alternating.

    .venv/bin/python bench/starforge_ab.py REV [--profiles 200] [--rounds 3]

The development machine's speed drifts by a third within an hour, so two bench runs side by side
compare poorly. Here both variants write the same database in alternating batches (A B B A ...), so
the drift and the tables' growth fall on both alike. REV's ``etl.py`` comes from git and runs with the
rest of this tree (its package and its migrations): the command suits changes made inside etl.py.
Besides profiles/s it prints each variant's CPU per profile: the PostgreSQL backend's (from /proc)
and this process's. Run against HEAD itself, it shows the noise: B/A for new heroes (the fewest
batches) strayed by up to 11% with one round each.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

from frontline import db
from frontline.starforge import etl

from starforge import KNOWN_HEROES, NEW_HEROES, ROOT, UNCHANGED, bench_database, etl_workload, use_etl_settings

ETL_PATH = "layers/frontline/frontline/starforge/etl.py"


def etl_of(revision: str, folder: Path) -> ModuleType:
    """The ETL module as ``revision`` has it, imported under its own name beside this tree's."""
    source = subprocess.run(["git", "show", f"{revision}:{ETL_PATH}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = folder / "etl_a.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("etl_a", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["etl_a"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def backend_cpu_seconds(conn) -> float:
    fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the git revision whose etl.py is variant A; this tree is B")
    parser.add_argument("--profiles", type=int, default=200, help="profiles per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each case, as bench/starforge.py runs them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, bench_database() as app:
        variants = {"A": etl_of(args.revision, Path(folder)).process_snapshots, "B": etl.process_snapshots}
        batch_size = use_etl_settings(app)
        conn = db.connection()
        wall, backend, worker = defaultdict(float), defaultdict(float), defaultdict(float)
        profiles = defaultdict(int)
        # One A B B A sequence over the whole run: the first batch after each round's ingest (colder
        # caches) falls on A and on B in turn.
        turns = itertools.cycle("ABBA")

        def alternate(case: str, snapshot_ids: list[str]) -> None:
            for first in range(0, len(snapshot_ids), batch_size):
                variant, batch = next(turns), snapshot_ids[first:first + batch_size]
                started, cpu, backend_started = time.perf_counter(), time.process_time(), backend_cpu_seconds(conn)
                outcomes = variants[variant](batch, conn)
                wall[case, variant] += time.perf_counter() - started
                worker[case, variant] += time.process_time() - cpu
                backend[case, variant] += backend_cpu_seconds(conn) - backend_started
                profiles[case, variant] += len(batch)
                assert set(outcomes.values()) == {etl.Outcome.PROCESSED}, outcomes

        for case, snapshot_ids in etl_workload(conn, args.profiles, args.rounds):
            alternate(case, snapshot_ids)

        print(f"A = {args.revision}'s etl.py, B = this tree's; profiles/s, then CPU ms per profile "
              "(PostgreSQL backend / this process)")
        for case in (NEW_HEROES, KNOWN_HEROES, UNCHANGED):
            rate = {v: profiles[case, v] / wall[case, v] for v in "AB"}
            cpu = {v: f"{backend[case, v] * 1000 / profiles[case, v]:.1f}"
                      f"/{worker[case, v] * 1000 / profiles[case, v]:.1f}" for v in "AB"}
            print(f"{case}: A {rate['A']:.1f}, B {rate['B']:.1f}, B/A {rate['B'] / rate['A']:.3f} "
                  f"(CPU A {cpu['A']}, B {cpu['B']}; {profiles[case, 'A']}+{profiles[case, 'B']} profiles)")


if __name__ == "__main__":
    main()
