"""Catalog seeding: troop, pet, kingdom and artifact catalogs from one JSON file, idempotently.

The file is ``{"troops": [...], "pets": [...], "kingdoms": [...], "artifacts": [...]}`` (any key may be
absent); each entry needs ``id`` and ``name`` and may have ``kid``, ``description`` and an integer
``rarity``. Keys are accepted in snake_case or the game's PascalCase (``Id``, ``Name``,
``ReferenceName`` for ``kid``); every other key is kept in ``meta``. Loading a file replaces the rows
it names, placeholders included (their ``meta.placeholder`` goes away), and leaves others alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

SAMPLE_CATALOG = Path(__file__).with_name("data") / "catalog.json"

TABLES = {"troops": "troop_catalog", "pets": "pet_catalog", "kingdoms": "kingdom_catalog",
          "artifacts": "artifact_catalog"}


class CatalogEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int = Field(validation_alias=AliasChoices("id", "Id"))
    name: str = Field(min_length=1, max_length=255, validation_alias=AliasChoices("name", "Name"))
    kid: str | None = Field(None, max_length=64, validation_alias=AliasChoices("kid", "Kid", "ReferenceName"))
    description: str | None = Field(None, validation_alias=AliasChoices("description", "Description"))
    rarity: int | None = Field(None, validation_alias=AliasChoices("rarity", "Rarity", "RarityId"))


class CatalogFile(BaseModel):
    troops: list[CatalogEntry] = []
    pets: list[CatalogEntry] = []
    kingdoms: list[CatalogEntry] = []
    artifacts: list[CatalogEntry] = []


_UPSERT = """
INSERT INTO starforge.{table} AS c (id, kid, name, description, rarity, meta)
SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::int[], %s::jsonb[])
ON CONFLICT (id) DO UPDATE SET
    (kid, name, description, rarity, meta, updated_at)
  = (EXCLUDED.kid, EXCLUDED.name, EXCLUDED.description, EXCLUDED.rarity, EXCLUDED.meta, now())
WHERE (c.kid, c.name, c.description, c.rarity, c.meta)
      IS DISTINCT FROM (EXCLUDED.kid, EXCLUDED.name, EXCLUDED.description, EXCLUDED.rarity, EXCLUDED.meta)
"""


def load(path: Path) -> CatalogFile:
    return CatalogFile.model_validate_json(path.read_bytes())


def seed(conn: psycopg.Connection, catalog: CatalogFile) -> dict[str, int]:
    """Upsert every section, one statement per table, in one transaction; returns rows changed per table."""
    changed: dict[str, int] = {}
    with conn.transaction():
        for section, table in TABLES.items():
            entries: list[CatalogEntry] = getattr(catalog, section)
            columns: list[list[Any]] = [[e.id for e in entries], [e.kid for e in entries],
                                        [e.name for e in entries], [e.description for e in entries],
                                        [e.rarity for e in entries],
                                        [json.dumps(e.model_extra or {}) for e in entries]]
            cursor = conn.execute(sql.SQL(_UPSERT).format(table=sql.Identifier(table)), columns)
            changed[table] = cursor.rowcount
    return changed
