"""Pydantic models at StarForge's edges: the ingestion request, the SQS job, and the upstream
``get_hero_profile`` payload.

Upstream keys are PascalCase (``NameCode``, ``TraitsOwned``); fields here are snake_case with PascalCase
aliases. Every upstream model keeps the keys it does not know in ``model_extra``, which the ETL stores
in the ``extra``/``extras`` JSONB columns, so nothing the game sends is lost.
"""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_pascal


class Source(str, Enum):
    FETCH_BY_NAMECODE = "fetch_by_namecode"
    LOGIN = "login"
    CLI_UPLOAD = "cli_upload"


class SnapshotRequest(BaseModel):
    """The body of ``POST /api/v1/snapshots``."""

    model_config = ConfigDict(extra="forbid")

    source: Source
    namecode: str | None = Field(None, min_length=1, max_length=64)
    payload: dict[str, Any]


class SnapshotJob(BaseModel):
    """The ETL queue's message body."""

    snapshot_id: UUID


class Upstream(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="allow")

    @property
    def extras(self) -> dict[str, Any]:
        return self.model_extra or {}


class TroopState(Upstream):
    amount: int = 0
    level: int = 1
    current_rarity: int = 0
    fusion_cards: int = 0
    orb_fusion_cards: int = 0
    traits_owned: int = 0
    invasions: int = 0
    shiny_level_progress: int = 0
    orbs_used: list[Any] = []


class PetState(Upstream):
    amount: int = 0
    level: int = 1
    xp: int = Field(0, alias="XP")
    orb_fusion_cards: int = 0
    orbs_used: list[Any] = []
    ascension_level: int = 0


class ArtifactState(Upstream):
    level: int = 0
    xp: int = Field(0, alias="XP")


class KingdomProgress(Upstream):
    status: int = 0
    income: int = 0
    challenge_tier: int = 0
    invasions: int = 0
    power_rank: int = 0
    tasks: list[Any] = []
    explore: dict[str, Any] = {}
    trials_team: dict[str, Any] = {}


class Team(Upstream):
    name: str | None = None
    banner: int | None = None
    team_level: int = 0
    class_name: str | None = Field(None, alias="Class")
    troops: list[int] = []
    override_data: dict[str, Any] = {}


class PvpRegion(Upstream):
    team: dict[str, Any] | list[Any] = {}
    stats: dict[str, Any] = {}
    most_used_troop: dict[str, Any] = {}


class PvpStats(Upstream):
    invades_won: int = 0
    invades_lost: int = 0
    defends_won: int = 0
    defends_lost: int = 0
    most_invaded_kingdom: dict[str, Any] | None = None
    most_used_troop: dict[str, Any] | None = None


class ProfileData(Upstream):
    """``result.ProfileData`` of ``get_hero_profile``. A section that is absent (None) leaves its table
    untouched; a section that is present replaces what the table holds for the hero."""

    name_code: str = Field(min_length=1, max_length=64)
    external_id: str | None = Field(None, alias="Id")
    name: str | None = None
    username: str | None = Field(None, validation_alias=AliasChoices("username", "Username"))
    level: int = 0
    race: int | None = None
    gender: int | None = None
    class_name: str | None = Field(None, alias="Class")
    portrait_id: int | None = None
    title_id: int | None = None
    flair_id: int | None = None
    honor_rank: int | None = None
    equipped_weapon_id: int | None = None
    equipped_pet_id: int | None = None
    guild_id: str | None = None
    guild_name: str | None = None
    guild_rank: int | None = None
    pvp_tier: int | None = None
    server_time: int | None = None  # epoch milliseconds
    last_login: int | None = None
    last_played: int | None = None
    troops: dict[int, TroopState] | None = None
    pets: dict[int, PetState] | None = None
    artifacts: dict[int, ArtifactState] | None = None
    kingdom_levels: dict[int, int] | None = None
    progress: dict[int, KingdomProgress] | None = None
    teams: list[Team] | None = None
    pvp_regions: dict[int, PvpRegion] | None = None
    pvp_stats: PvpStats | None = None
    class_data: dict[str, dict[str, Any]] | None = None


def profile_data_of(payload: Any) -> Any:
    """The ProfileData object of a payload sent whole (``{"result": {"ProfileData": ...}}``) or bare."""
    if isinstance(payload, dict) and isinstance(payload.get("result"), dict) and "ProfileData" in payload["result"]:
        return payload["result"]["ProfileData"]
    return payload
