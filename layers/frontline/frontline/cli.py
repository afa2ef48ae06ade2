"""The ``frontline`` command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import re
import sys
from pathlib import Path

import psycopg

import frontline
from frontline import db, migrate

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = PROJECT_ROOT / "template.yaml"
_HASH_LINE = re.compile(r"(MigrationsHash:\s*)([0-9a-f]{64})")


def _cmd_migrate(_args: argparse.Namespace) -> int:
    applied = migrate.migrate()
    print("applied: " + ", ".join(applied) if applied else "database is current")
    return 0


def _cmd_migrations_hash(args: argparse.Namespace) -> int:
    digest = migrate.directory_hash()
    if not args.write:
        print(digest)
        return 0
    text = args.template.read_text(encoding="utf-8")
    if not _HASH_LINE.search(text):
        print(f"no MigrationsHash line in {args.template}", file=sys.stderr)
        return 1
    args.template.write_text(_HASH_LINE.sub(lambda m: m.group(1) + digest, text), encoding="utf-8")
    print(f"{args.template.name}: MigrationsHash = {digest}")
    return 0


def _cmd_dev(args: argparse.Namespace) -> int:
    from frontline.local.dev import DevOptions, run

    return run(DevOptions(template_path=args.template, state_dir=args.state_dir, host=args.host, port=args.port,
                          schedules=not args.no_schedules))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply pending migrations to the database named by POSTGRES_URL")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("migrations", help="migration utilities")
    msub = p.add_subparsers(dest="migrations_command", required=True)
    h = msub.add_parser("hash", help="print the hash of migrations/ (the deploy hook's change trigger)")
    h.add_argument("--write", action="store_true", help="write it into template.yaml's MigrationsHash")
    h.add_argument("--template", type=Path, default=TEMPLATE)
    h.set_defaults(func=_cmd_migrations_hash)

    p = sub.add_parser("dev", help="run the whole system locally")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--template", type=Path, default=TEMPLATE)
    p.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".frontline")
    p.add_argument("--no-schedules", action="store_true", help="serve routes only; fire no schedules")
    p.set_defaults(func=_cmd_dev)

    # Every subpackage with a `cli` module (frontline/h1/cli.py, ...) adds its own commands through
    # `register(subparsers)`, so products never edit this file to add theirs.
    for package in pkgutil.iter_modules(frontline.__path__):
        if package.ispkg and importlib.util.find_spec(f"frontline.{package.name}.cli"):
            importlib.import_module(f"frontline.{package.name}.cli").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (migrate.MigrationError, db.DatabaseNotConfigured, psycopg.OperationalError) as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # libpq's messages span lines
        return 2


if __name__ == "__main__":
    sys.exit(main())
