"""``/api/h1/rebroadcast``: the official API's two responses, rebuilt from the h1 tables.

The rebuilt document is JSON-equal to what upstream sent (same keys, values and array order; only key
order may differ), from the columns migration 0010 added for exactly this: the poll's ``time`` and event
slots on ``h1_season``, ``max_event_id`` and whether the poll carried ``players_at_start`` on
``h1_event``, and the snapshot rows kept apart from poll rows in ``h1_status``.
"""

from __future__ import annotations

import base64
import time
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from frontline import access
from frontline.h1.api import INT32, NOT_MODIFIED, TAGS, conditional_fetch, max_age
from frontline.h1.models import CampaignStatus, SeasonSnapshots, UpstreamErrorBody
from frontline.h1.queries import json_array, latest_per_enemy
from frontline.web import VersionedQuery, cached_response, json_response

router = Router()

# Upstream answers errors with HTTP 200 and this body; the codes are ours (upstream documents none).
UNKNOWN_ACTION = 1
INVALID_SEASON = 2
NO_CAMPAIGN_STATUS = 3

_EVENT_KEYS = "'season', e.season, 'event_id', e.event_id, 'start_time', e.start_time, 'end_time', e.end_time"
_EVENT_PROGRESS = "'enemy', e.enemy, 'points_max', e.points_max, 'points', e.points, 'status', e.status"

# A poll's event: players_at_start only when that poll carried it (the live defend event does not).
_POLL_PLAYERS = ("|| CASE WHEN e.poll_players_at_start THEN jsonb_build_object('players_at_start', e.players_at_start) "
                 "ELSE '{}'::jsonb END")

CAMPAIGN_STATUS = VersionedQuery(
    version_sql="""
    SELECT s.*, row(s.season, s.polled_at, s.last_updated)::text AS v
    FROM "App" a JOIN h1_season s ON s.season = a.active_season
    WHERE s.polled_at IS NOT NULL""",
    body_sql=f"""
    SELECT json_build_object(
        'time', version.polled_at,
        'error_code', 0,
        'campaign_status', (SELECT json_agg(json_build_object(
                'season', version.season, 'points', st.points, 'points_taken', st.points_taken,
                'points_max', version.points_max[f.enemy + 1], 'status', st.status,
                'introduction_order', version.introduction_order[f.enemy + 1]) ORDER BY f.enemy)
            FROM {latest_per_enemy("h1_status", "version.season", "source = 'poll'")}),
        'defend_event', (SELECT jsonb_build_object({_EVENT_KEYS}, 'region', e.region, {_EVENT_PROGRESS}) {_POLL_PLAYERS}
            FROM h1_event e WHERE e.type = 'defend' AND e.event_id = version.poll_defend_event_id),
        'attack_events', {json_array(f'''(SELECT json_agg(
                jsonb_build_object({_EVENT_KEYS}, {_EVENT_PROGRESS}, 'max_event_id', e.max_event_id) {_POLL_PLAYERS}
                ORDER BY slot.position)
            FROM unnest(version.poll_attack_event_ids) WITH ORDINALITY AS slot(event_id, position)
            JOIN h1_event e ON e.type = 'attack' AND e.event_id = slot.event_id)''')},
        'statistics', (SELECT json_agg(
                (to_jsonb(st) - ARRAY['id', 'bucket', 'time']) || jsonb_build_object('season_duration', version.season_duration)
                ORDER BY f.enemy)
            FROM {latest_per_enemy("h1_statistic", "version.season")}))""",
)


def _finished_events(kind: str, extra: str) -> str:
    return json_array(f"""(SELECT json_agg(json_build_object({_EVENT_KEYS}, {extra}{_EVENT_PROGRESS},
                                                        'players_at_start', e.players_at_start) ORDER BY e.event_id)
        FROM h1_event e WHERE e.season = version.season AND e.type = '{kind}' AND e.status <> 'active')""")


# Snapshot ``data`` is a JSON *string* upstream; it is rebuilt byte for byte in upstream's compact form.
SNAPSHOTS = VersionedQuery(
    version_sql="""
    SELECT s.*, row(s.season, s.last_updated)::text AS v FROM h1_season s
    WHERE s.season = %(season)s AND coalesce(s.snapshots_fetched_at, s.polled_at) IS NOT NULL""",  # else unknown_season()
    body_sql=f"""
    SELECT json_build_object(
        'time', greatest(version.snapshots_fetched_at, version.polled_at),  -- a current season's fetch ages
        'error_code', 0,
        'introduction_order', nullif(version.introduction_order, '{{}}'),
        'points_max', nullif(version.points_max, '{{}}'),
        'snapshots', {json_array('''(SELECT json_agg(json_build_object('season', version.season, 'time', snap.time,
                                                               'data', snap.data) ORDER BY snap.time)
            FROM (SELECT time, '[' || string_agg(format('{"points":%%s,"points_taken":%%s,"status":%%s}',
                                                      points, points_taken, to_json(status)), ',' ORDER BY enemy) || ']'
                               AS data
                  FROM h1_status WHERE season = version.season AND source = 'snapshot' GROUP BY time) snap)''')},
        'defend_events', {_finished_events("defend", "'region', e.region, ")},
        'attack_events', {_finished_events("attack", "")})""",
)


def upstream_error(code: int, message: str) -> dict[str, Any]:
    return {"time": int(time.time()), "error_code": code, "error_message": message}


def unknown_season() -> dict[str, Any]:
    """What upstream answers for a season it does not know (not an error)."""
    return {"time": int(time.time()), "error_code": 0, "introduction_order": None, "points_max": None,
            "snapshots": [], "defend_events": [], "attack_events": []}


# --- the route ---------------------------------------------------------------------------------------

_RESPONSES: dict[int, dict[str, Any]] = {
    200: {"description": "The official API's response, rebuilt exactly; errors use upstream's shape (HTTP 200)",
          "content": {"application/json": {"model": CampaignStatus | SeasonSnapshots | UpstreamErrorBody}}},
    304: NOT_MODIFIED,
}
_DOC = ("`action=get_campaign_status`: the latest poll; `action=get_snapshots&season=N`: that season. "
        "Same parameters as the official API. Needs an API key (`X-API-Key` or `Authorization: Bearer`).")
# The form is parsed by hand: upstream clients may omit the content type, which powertools' Form() rejects.
_FORM = {"requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "properties": {"action": {"type": "string", "enum": ["get_campaign_status", "get_snapshots"]},
                                     "season": {"type": "string", "pattern": "^[0-9]+$"}}}}}}}


def answer(action: str | None, season: str | None):
    if action == "get_campaign_status":
        found = conditional_fetch(router, CAMPAIGN_STATUS, {})
        if found is None:
            return _upstream(upstream_error(NO_CAMPAIGN_STATUS, "No campaign status yet"))
    elif action == "get_snapshots":
        if not (season and season.isascii() and season.isdigit() and int(season) <= INT32):
            return _upstream(upstream_error(INVALID_SEASON, f"Invalid season: {season}"))
        found = conditional_fetch(router, SNAPSHOTS, {"season": int(season)})
        if found is None:
            return _upstream(unknown_season())
    else:
        return _upstream(upstream_error(UNKNOWN_ACTION, f"Unknown action: {action}"))
    return cached_response(*found, max_age=max_age(), private=True)  # it needs an API key


def _upstream(body: dict[str, Any]):
    return json_response(HTTPStatus.OK, body, {"Cache-Control": "no-store"})


@router.get("/api/h1/rebroadcast", tags=TAGS, summary="The official API, rebuilt (query parameters)",
            description=_DOC, responses=_RESPONSES, middlewares=[access.require_api_key()])
def get_rebroadcast(action: Annotated[str | None, Query()] = None, season: Annotated[str | None, Query()] = None):
    return answer(action, season)


@router.post("/api/h1/rebroadcast", tags=TAGS, summary="The official API, rebuilt (form body)",
             description=_DOC + " Send `application/x-www-form-urlencoded`.", responses=_RESPONSES,
             openapi_extensions=_FORM, middlewares=[access.require_api_key()])
def post_rebroadcast():
    event = router.current_event
    raw = base64.b64decode(event.body) if event.is_base64_encoded else (event.body or "").encode()
    form = parse_qs(raw.decode("utf-8", "replace"))  # powertools' decoded_body raises on bytes that are not UTF-8
    return answer(*(form.get(name, [None])[-1] for name in ("action", "season")))
