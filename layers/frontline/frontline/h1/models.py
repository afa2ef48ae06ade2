"""Pydantic models of the official Helldivers 1 API responses.

Strict about every field we store (types, enums, array lengths), tolerant of keys we do not know:
those are kept on the model (``model_extra``). The tables do not store them, so the rebroadcast cannot
repeat them: the poller logs and counts them (``unknown_keys``), so that a change upstream is seen.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENEMIES = (0, 1, 2)  # 0 = Bugs, 1 = Cyborgs, 2 = Illuminate
ATTACK_REGION = 11  # seed 000: attack events have no region; the table stores this sentinel

CampaignState = Literal["active", "defeated", "hidden"]
EventState = Literal["active", "success", "fail"]


class UpstreamModel(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    def unknown_keys(self, path: str = "") -> list[str]:
        """Where the response had keys these models do not know, as dotted paths (``statistics.0.new``)."""
        found = [f"{path}{key}" for key in self.model_extra or {}]
        for name in type(self).model_fields:
            value = getattr(self, name)
            for at, item in (enumerate(value) if isinstance(value, list) else [(None, value)]):
                if isinstance(item, UpstreamModel):
                    found += item.unknown_keys(f"{path}{name}." + ("" if at is None else f"{at}."))
        return found


class CampaignStatusEntry(UpstreamModel):
    season: int
    points: int
    points_taken: int
    points_max: int
    status: CampaignState
    introduction_order: int


class Event(UpstreamModel):
    season: int
    event_id: int
    start_time: int
    end_time: int
    enemy: int = Field(ge=0, le=2)
    points_max: int
    points: int
    status: EventState
    players_at_start: int | None = None


class DefendEvent(Event):
    region: int


class AttackEvent(Event):
    max_event_id: int | None = None


class Statistic(UpstreamModel):
    season: int
    season_duration: int
    enemy: int = Field(ge=0, le=2)
    players: int
    total_unique_players: int
    missions: int
    successful_missions: int
    total_mission_difficulty: int
    completed_planets: int
    defend_events: int
    successful_defend_events: int
    attack_events: int
    successful_attack_events: int
    deaths: int
    kills: int
    accidentals: int
    shots: int
    hits: int


class CampaignStatus(UpstreamModel):
    """``action=get_campaign_status``. The index in ``campaign_status`` is the enemy."""

    time: int
    error_code: Literal[0]
    campaign_status: list[CampaignStatusEntry] = Field(min_length=3, max_length=3)
    defend_event: DefendEvent
    attack_events: list[AttackEvent] = Field(max_length=3)
    statistics: list[Statistic] = Field(min_length=3, max_length=3)

    @model_validator(mode="after")
    def _one_current_season(self) -> CampaignStatus:
        seasons = {entry.season for entry in self.campaign_status} | {s.season for s in self.statistics}
        if len(seasons) != 1:
            raise ValueError(f"campaign_status and statistics name several seasons: {sorted(seasons)}")
        if sorted(s.enemy for s in self.statistics) != list(ENEMIES):
            raise ValueError("statistics must hold one row per enemy 0, 1, 2")
        return self

    @property
    def season(self) -> int:
        """The current season: from campaign_status, never from the event slots (they can lag)."""
        return self.campaign_status[0].season

    @property
    def events(self) -> list[Event]:
        return [self.defend_event, *self.attack_events]


class SnapshotFaction(UpstreamModel):
    points: int
    points_taken: int
    status: CampaignState


class Snapshot(UpstreamModel):
    season: int
    time: int
    data: list[SnapshotFaction] = Field(min_length=3, max_length=3)

    @field_validator("data", mode="before")
    @classmethod
    def _parse_data_string(cls, value: object) -> object:
        # Upstream sends the three factions as a JSON *string*.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"snapshot data is not JSON: {exc.msg}") from exc
        raise ValueError("snapshot data must be a JSON string")


class SeasonSnapshots(UpstreamModel):
    """``action=get_snapshots&season=N``. Lists finished events only; an unknown season has empty
    arrays and may have null ``introduction_order``/``points_max``."""

    time: int
    error_code: Literal[0]
    introduction_order: list[int] | None = Field(None, min_length=3, max_length=3)
    points_max: list[int] | None = Field(None, min_length=3, max_length=3)
    snapshots: list[Snapshot]
    defend_events: list[DefendEvent]
    attack_events: list[Event]

    @property
    def is_empty(self) -> bool:
        return not (self.snapshots or self.defend_events or self.attack_events)


class UpstreamErrorBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    time: int | None = None
    error_code: int
    error_message: str | None = None
