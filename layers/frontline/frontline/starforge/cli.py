"""``frontline starforge ...`` commands: catalog seeding and payload generation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError


def _cmd_seed_catalog(args: argparse.Namespace) -> int:
    from frontline import db
    from frontline.starforge import catalog

    try:
        loaded = catalog.load(args.file)
    except (OSError, ValidationError) as exc:
        print(f"error: cannot load {args.file}: {exc}", file=sys.stderr)
        return 1
    changed = catalog.seed(db.connection(), loaded)
    print(", ".join(f"{table}: {count} changed" for table, count in changed.items()))
    return 0


def _write_json(value: object, output: Path | None) -> None:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


def _cmd_generate(args: argparse.Namespace) -> int:
    from frontline.starforge.generator import generate_profile

    _write_json(generate_profile(args.seed, troops=args.troops, pets=args.pets, kingdoms=args.kingdoms,
                                 login=args.login, pad_to_bytes=args.pad_to_bytes, envelope=not args.bare),
                args.output)
    return 0


def _cmd_generate_catalog(args: argparse.Namespace) -> int:
    from frontline.starforge.catalog import SAMPLE_CATALOG
    from frontline.starforge.generator import generate_catalog

    (args.output or SAMPLE_CATALOG).write_text(json.dumps(generate_catalog(), indent=1) + "\n", encoding="utf-8")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from frontline.starforge.catalog import SAMPLE_CATALOG

    parser = subparsers.add_parser("starforge", help="StarForge hero-profile ingestion tools")
    sub = parser.add_subparsers(dest="starforge_command", required=True)

    p = sub.add_parser("seed-catalog", help="load troop/pet/kingdom/artifact catalogs from a JSON file "
                                            "into POSTGRES_URL's database (idempotent)")
    p.add_argument("file", type=Path, nargs="?", default=SAMPLE_CATALOG,
                   help="catalog JSON (default: the small generated catalog shipped with the package)")
    p.set_defaults(func=_cmd_seed_catalog)

    p = sub.add_parser("generate", help="print a realistic synthetic get_hero_profile payload")
    p.add_argument("--seed", type=int, default=0, help="same seed, same payload; also sets the NameCode")
    p.add_argument("--troops", type=int, default=700)
    p.add_argument("--pets", type=int, default=100)
    p.add_argument("--kingdoms", type=int, default=40)
    p.add_argument("--login", action="store_true", help="a login payload (about 2.6 MB)")
    p.add_argument("--pad-to-bytes", type=int, help="pad the payload to about this many bytes")
    p.add_argument("--bare", action="store_true", help="a bare ProfileData, without the {result: ...} envelope")
    p.add_argument("-o", "--output", type=Path)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("generate-catalog", help="regenerate the shipped sample catalog")
    p.add_argument("-o", "--output", type=Path, help=f"default: {SAMPLE_CATALOG}")
    p.set_defaults(func=_cmd_generate_catalog)
