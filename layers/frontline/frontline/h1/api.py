"""The public Helldivers 1 read routes: one powertools router per route, each served by its own function
(the rebroadcast route lives in :mod:`frontline.h1.rebroadcast`).

Every read is one statement (:mod:`frontline.h1.queries`) whose
JSON text PostgreSQL builds; the handler adds the ETag and ``Cache-Control`` and answers
``If-None-Match`` with 304. The pydantic models below describe the responses in the OpenAPI document
(the tests validate real responses against them); the hot path never builds them.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from frontline import db
from frontline.config import settings
from frontline.h1 import queries
from frontline.health import HEARTBEAT_WORKER, heartbeat_stale_after_seconds
from frontline.web import ApiError, VersionedQuery, cached_response, request_etags

INT32 = 2**31 - 1
TAGS = ["h1"]

live_router = Router()
campaign_router = Router()
seasons_router = Router()
season_router = Router()


# --- response models (documentation and tests) -------------------------------------------------------


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ErrorDetail(ApiModel):
    code: str
    message: str
    request_id: str | None = None


class ErrorResponse(ApiModel):
    error: ErrorDetail


class Event(ApiModel):
    type: Literal["defend", "attack"]
    event_id: int
    season: int
    enemy: int
    region: int | None = Field(description="defend events only")
    start_time: int
    end_time: int
    points: int
    points_max: int
    status: Literal["active", "success", "fail"]
    players_at_start: int | None


class ProgressPoint(ApiModel):
    time: int
    points: int


class LiveEvent(Event):
    progress: list[ProgressPoint] = Field(description="points at the end of each bucket, oldest first")


class Faction(ApiModel):
    enemy: int
    status: Literal["active", "defeated", "hidden"]
    points: int
    points_taken: int
    points_max: int | None
    introduction_order: int | None
    time: int


class EventCounts(ApiModel):
    defend: int
    defend_success: int
    defend_fail: int
    attack: int
    attack_success: int
    attack_fail: int
    active: int


class SeasonSummary(ApiModel):
    season: int
    active: bool = Field(description="the season the campaign is in now")
    start_time: int | None = Field(description="first stored status time")
    end_time: int | None = Field(description="last stored status time")
    season_duration: int
    last_updated: int | None
    introduction_order: list[int]
    points_max: list[int]
    factions: list[Faction] = Field(description="each faction's last known state: the season's outcome")
    events: EventCounts


class Statistics(ApiModel):
    """Cumulative for the season, as of ``time``; the five BIGINT counters can pass 2^31."""

    enemy: int
    time: int
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
    kills: int
    deaths: int
    accidentals: int
    shots: int
    hits: int


class CampaignFaction(ApiModel):
    enemy: int
    time: int
    points: int
    points_taken: int
    points_max: int | None
    status: Literal["active", "defeated", "hidden"]
    introduction_order: int | None


class Heartbeat(ApiModel):
    worker: str
    last_beat: int | None = Field(description="last successful poll")
    updated_at: int | None = Field(description="last poll attempt")
    poll_duration_ms: int | None
    last_error: str | None
    stale: bool
    stale_after_seconds: int


class LiveResponse(ApiModel):
    season: SeasonSummary
    polled_at: int | None = Field(description="upstream time of the latest poll")
    campaign_status: list[CampaignFaction]
    active_events: list[LiveEvent]
    recent_events: list[Event] = Field(description=f"the season's {queries.RECENT_EVENTS} latest finished events")
    statistics: list[Statistics]
    heartbeat: Heartbeat


class StatusPoint(ApiModel):
    bucket: int
    enemy: int
    time: int
    points: int
    points_taken: int
    status: Literal["active", "defeated", "hidden"]
    source: Literal["poll", "snapshot"]


class StatisticsPoint(Statistics):
    bucket: int


class CampaignProgressPoint(ProgressPoint):
    bucket: int


class CampaignEvent(Event):
    progress: list[CampaignProgressPoint]


class CampaignResponse(ApiModel):
    model_config = ConfigDict(populate_by_name=True)
    season: int
    from_: int = Field(alias="from")
    to: int
    resolution: int
    status: list[StatusPoint]
    statistics: list[StatisticsPoint]
    events: list[CampaignEvent]


class SeasonsResponse(ApiModel):
    seasons: list[SeasonSummary]


class SeasonResponse(ApiModel):
    season: SeasonSummary
    statistics: list[Statistics]
    events: list[Event]


NOT_MODIFIED = {"description": "Not modified: the If-None-Match ETag is current"}


def _responses(model: Any, *errors: int) -> dict[int, dict[str, Any]]:
    described: dict[int, dict[str, Any]] = {
        200: {"description": "OK", "content": {"application/json": {"model": model}}},
        304: NOT_MODIFIED,
    }
    for status in errors:
        described[status] = {"description": HTTPStatus(status).phrase,
                             "content": {"application/json": {"model": ErrorResponse}}}
    return described


# --- handlers ----------------------------------------------------------------------------------------


def max_age() -> int:
    """Clients and caches may reuse an answer for one poll interval: no sooner can it change."""
    return settings().poll_interval_minutes * 60


def conditional_fetch(router: Router, query: VersionedQuery, params: dict[str, Any]) -> tuple[str, str | None] | None:
    return query.fetch(db.connection(), params, request_etags(router.current_event.headers.get("if-none-match")))


def _answer(router: Router, query: VersionedQuery, params: dict[str, Any], not_found: ApiError):
    found = conditional_fetch(router, query, params)
    if found is None:
        raise not_found
    return cached_response(*found, max_age=max_age())


@live_router.get("/api/h1/live", tags=TAGS, summary="The current season: status, events, statistics, heartbeat",
                 responses=_responses(LiveResponse, 404))
def get_live():
    params = {"worker": HEARTBEAT_WORKER, "stale_after": heartbeat_stale_after_seconds()}
    return _answer(live_router, queries.LIVE, params,
                   ApiError(HTTPStatus.NOT_FOUND, "no_live_season", "no season has been polled yet"))


@campaign_router.get("/api/h1/campaign", tags=TAGS, summary="A season's time series, downsampled",
                     responses=_responses(CampaignResponse, 400, 404))
def get_campaign(
    season: Annotated[int, Query(ge=1, le=INT32)],
    from_: Annotated[int | None, Query(alias="from", ge=0, le=INT32, description="unix seconds")] = None,
    to: Annotated[int | None, Query(ge=0, le=INT32, description="unix seconds")] = None,
    resolution: Annotated[int | None, Query(gt=0, le=INT32, description=(
        "seconds per point, a multiple of BUCKET_SIZE; by default the smallest multiple that keeps each series "
        f"at most {queries.MAX_POINTS_PER_SERIES} points; a finer one than keeps a series within "
        f"{queries.MAX_REQUESTED_POINTS_PER_SERIES} points is raised to the finest that does"))] = None,
):
    bucket_size = settings().bucket_size
    if from_ is not None and to is not None and from_ > to:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_range", f"from ({from_}) is after to ({to})")
    if resolution is not None and resolution % bucket_size:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_resolution",
                       f"resolution must be a multiple of BUCKET_SIZE ({bucket_size} s), not {resolution}")
    params = {"season": season, "from": from_, "to": to, "resolution": resolution, "bucket_size": bucket_size,
              "max_points": queries.MAX_POINTS_PER_SERIES,
              "max_requested_points": queries.MAX_REQUESTED_POINTS_PER_SERIES}
    return _answer(campaign_router, queries.CAMPAIGN, params, _unknown_season(season))


@seasons_router.get("/api/h1/seasons", tags=TAGS, summary="The archive: every season's dates, outcome, events",
                    responses=_responses(SeasonsResponse))
def get_seasons():
    return _answer(seasons_router, queries.SEASONS, {}, ApiError(HTTPStatus.NOT_FOUND, "not_found", "no seasons"))


@season_router.get("/api/h1/seasons/<season>", tags=TAGS, summary="One season: summary, statistics, events",
                   responses=_responses(SeasonResponse, 400, 404))
def get_season(season: Annotated[int, Path(ge=1, le=INT32)]):
    return _answer(season_router, queries.SEASON, {"season": season}, _unknown_season(season))


def _unknown_season(season: int) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "unknown_season", f"no season {season} is stored")
