"""The public Helldivers 1 routes: one powertools router per route, each served by its own function.

Every read is one statement (:mod:`frontline.h1.queries`, :mod:`frontline.h1.rebroadcast`) whose
JSON text PostgreSQL builds; the handler adds the ETag and ``Cache-Control`` and answers
``If-None-Match`` with 304. The pydantic models below describe the responses in the OpenAPI document
(the tests validate real responses against them); the hot path never builds them.
"""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, create_model

from frontline import access, db
from frontline.config import settings
from frontline.h1 import queries, rebroadcast
from frontline.h1.ingest import STATISTIC_BIGINT_COLUMNS, STATISTIC_COLUMNS
from frontline.h1.models import CampaignStatus, SeasonSnapshots, UpstreamErrorBody
from frontline.health import HEARTBEAT_WORKER, heartbeat_stale_after_seconds
from frontline.web import ApiError, cached_response, json_response, request_etags

INT32 = 2**31 - 1
TAGS = ["h1"]

live_router = Router()
campaign_router = Router()
seasons_router = Router()
season_router = Router()
rebroadcast_router = Router()


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


_STATISTIC_FIELDS: dict[str, Any] = {c: (int, ...) for c in STATISTIC_COLUMNS + STATISTIC_BIGINT_COLUMNS}
Statistics = create_model("Statistics", __base__=ApiModel, enemy=(int, ...), time=(int, ...), **_STATISTIC_FIELDS)


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
    statistics: list[Statistics]  # type: ignore[valid-type]
    heartbeat: Heartbeat


class StatusPoint(ApiModel):
    bucket: int
    enemy: int
    time: int
    points: int
    points_taken: int
    status: Literal["active", "defeated", "hidden"]
    source: Literal["poll", "snapshot"]


StatisticsPoint = create_model("StatisticsPoint", __base__=Statistics, bucket=(int, ...))


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
    statistics: list[StatisticsPoint]  # type: ignore[valid-type]
    events: list[CampaignEvent]


class SeasonsResponse(ApiModel):
    seasons: list[SeasonSummary]


class SeasonResponse(ApiModel):
    season: SeasonSummary
    statistics: list[Statistics]  # type: ignore[valid-type]
    events: list[Event]


def _responses(model: Any, *errors: int) -> dict[int, dict[str, Any]]:
    described: dict[int, dict[str, Any]] = {
        200: {"description": "OK", "content": {"application/json": {"model": model}}},
        304: {"description": "Not modified: the If-None-Match ETag is current"},
    }
    for status in errors:
        described[status] = {"description": HTTPStatus(status).phrase,
                             "content": {"application/json": {"model": ErrorResponse}}}
    return described


# --- handlers ----------------------------------------------------------------------------------------


def _answer(router: Router, query, params: dict[str, Any], not_found: ApiError):
    found = query.fetch(db.connection(), params, request_etags(router.current_event.headers.get("if-none-match")))
    if found is None:
        raise not_found
    return cached_response(*found, max_age=settings().poll_interval_minutes * 60)


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
        f"at most {queries.MAX_POINTS_PER_SERIES} points"))] = None,
):
    bucket_size = settings().bucket_size
    if from_ is not None and to is not None and from_ > to:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_range", f"from ({from_}) is after to ({to})")
    if resolution is not None and resolution % bucket_size:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_resolution",
                       f"resolution must be a multiple of BUCKET_SIZE ({bucket_size} s), not {resolution}")
    params = {"season": season, "from": from_, "to": to, "resolution": resolution, "bucket_size": bucket_size,
              "max_points": queries.MAX_POINTS_PER_SERIES}
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


# --- rebroadcast -------------------------------------------------------------------------------------

_REBROADCAST_RESPONSES: dict[int, dict[str, Any]] = {
    200: {"description": "The official API's response, rebuilt exactly; errors use upstream's shape (HTTP 200)",
          "content": {"application/json": {"model": CampaignStatus | SeasonSnapshots | UpstreamErrorBody}}},
    304: {"description": "Not modified: the If-None-Match ETag is current"},
}
_REBROADCAST_DOC = ("`action=get_campaign_status`: the latest poll; `action=get_snapshots&season=N`: that season. "
                    "Same parameters as the official API. Needs an API key (`X-API-Key` or `Authorization: Bearer`).")
# The form is parsed by hand: upstream clients may omit the content type, which powertools' Form() rejects.
_REBROADCAST_FORM = {"requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "properties": {"action": {"type": "string", "enum": ["get_campaign_status", "get_snapshots"]},
                                     "season": {"type": "string", "pattern": "^[0-9]+$"}}}}}}}


def _rebroadcast(action: str | None, season: str | None):
    etags = request_etags(rebroadcast_router.current_event.headers.get("if-none-match"))
    max_age = settings().poll_interval_minutes * 60
    if action == "get_campaign_status":
        found = rebroadcast.CAMPAIGN_STATUS.fetch(db.connection(), {}, etags)
        if found is None:
            return _upstream(rebroadcast.upstream_error(rebroadcast.NO_CAMPAIGN_STATUS, "No campaign status yet"))
        return cached_response(*found, max_age=max_age)
    if action == "get_snapshots":
        if not (season and season.isascii() and season.isdigit() and int(season) <= INT32):
            return _upstream(rebroadcast.upstream_error(rebroadcast.INVALID_SEASON, f"Invalid season: {season}"))
        found = rebroadcast.SNAPSHOTS.fetch(db.connection(), {"season": int(season)}, etags)
        if found is None:
            return _upstream(rebroadcast.unknown_season())
        return cached_response(*found, max_age=max_age)
    return _upstream(rebroadcast.upstream_error(rebroadcast.UNKNOWN_ACTION, f"Unknown action: {action}"))


def _upstream(body: dict[str, Any]):
    return json_response(HTTPStatus.OK, body, {"Cache-Control": "no-store"})


@rebroadcast_router.get("/api/h1/rebroadcast", tags=TAGS, summary="The official API, rebuilt (query parameters)",
                        description=_REBROADCAST_DOC, responses=_REBROADCAST_RESPONSES,
                        middlewares=[access.require_api_key()])
def get_rebroadcast(action: Annotated[str | None, Query()] = None, season: Annotated[str | None, Query()] = None):
    return _rebroadcast(action, season)


@rebroadcast_router.post("/api/h1/rebroadcast", tags=TAGS, summary="The official API, rebuilt (form body)",
                         description=_REBROADCAST_DOC + " Send `application/x-www-form-urlencoded`.",
                         responses=_REBROADCAST_RESPONSES, openapi_extensions=_REBROADCAST_FORM,
                         middlewares=[access.require_api_key()])
def post_rebroadcast():
    event = rebroadcast_router.current_event
    raw = base64.b64decode(event.body) if event.is_base64_encoded else (event.body or "").encode()
    form = parse_qs(raw.decode("utf-8", "replace"))  # powertools' decoded_body raises on bytes that are not UTF-8
    return _rebroadcast(*(form.get(name, [None])[-1] for name in ("action", "season")))
