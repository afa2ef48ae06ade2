"""The public h1 endpoints, invoked in-process through template.yaml's routes and handlers, over a
database filled by the real ingest from simulator-generated upstream responses."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from frontline import db
from frontline.config import settings
from frontline.h1 import api, ingest, queries
from frontline.h1.models import CampaignStatus, SeasonSnapshots
from frontline.h1.simulator import DAY, SeasonGenerator, SimulatedClock, World
from frontline.local import invoke, template
from frontline.local.events import http_api_event
from frontline.local.server import Router
from tests.conftest import PROJECT_ROOT

BUCKET = 900
APPLICATION = template.read(PROJECT_ROOT / "template.yaml")
ROUTES = Router(APPLICATION.routes)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def request(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
    """Call the function template.yaml routes ``method url`` to, with the event API Gateway would send."""
    path, _, query = url.partition("?")
    matched = ROUTES.match(method, path)
    assert matched is not None, f"template.yaml has no route for {method} {path}"
    route, parameters = matched
    event = http_api_event(method=method, raw_path=path, raw_query=query, headers=headers or {}, body=body,
                           route_key=route.route_key, path_parameters=parameters)
    result = invoke.invoke(APPLICATION.functions[route.function], event)
    return Answer(result["statusCode"], {k.lower(): v for k, v in (result.get("headers") or {}).items()},
                  result.get("body") or "")


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every SQL statement the handlers' database connection executes."""
    executed: list[str] = []

    class CountingCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            executed.append(query if isinstance(query, str) else query.as_string(None))
            return super().execute(query, params, **kwargs)

    connect = db.connect

    def counting_connect():
        connection = connect()
        connection.cursor_factory = CountingCursor
        return connection

    monkeypatch.setattr(db, "connect", counting_connect)
    db.reset()
    return executed


# --- the data set: seasons 1-2 backfilled, season 3 polled every 10 minutes for half a day ----------------

GENERATOR = SeasonGenerator(seed=5)
WORLD = World(GENERATOR, SimulatedClock(0))
NOW = GENERATOR.season(3).start + 2 * DAY + 6 * 3600
POLL_TIMES = [NOW - 12 * 3600 + 600 * i for i in range(73)]
# Two buckets holding both a poll and a snapshot: the snapshot (midnight + 1 s) is fresher than a poll at
# the bucket's start, older than a poll 10 minutes in.
MIDNIGHT = GENERATOR.season(3).snapshot_times[1] - 1
SNAPSHOT_FRESHER = MIDNIGHT
POLL_FRESHER = MIDNIGHT + DAY + 600


def fill(conn: psycopg.Connection) -> None:
    for season in (1, 2, 3):
        ingest.ingest_snapshots(conn, season, SeasonSnapshots.model_validate(WORLD.snapshots(season, NOW)), BUCKET)
    for at in sorted({SNAPSHOT_FRESHER, POLL_FRESHER, *POLL_TIMES}):
        ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(WORLD.campaign_status(at)), BUCKET)


@pytest.fixture(scope="module")
def filled_template(pg_server, template_db) -> str:
    """A database holding the data set, made once per module and copied for each test."""
    name = f"h1_api_{uuid.uuid4().hex[:8]}"
    url = pg_server.ensure_database(name, template=template_db)
    with psycopg.connect(url, autocommit=True) as conn:
        fill(conn)
    yield name
    pg_server.drop_database(name)


@pytest.fixture
def filled(pg_server, filled_template, monkeypatch) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_server.ensure_database(name, template=filled_template)
    monkeypatch.setenv("POSTGRES_URL", url)
    settings.cache_clear()
    db.reset()
    yield url
    db.reset()
    pg_server.drop_database(name)


def beat(conn, seconds_ago: int) -> None:
    conn.execute("""INSERT INTO worker_heartbeat (worker_type, last_beat, poll_duration_ms, started_at, updated_at)
                    VALUES ('h1_poller', now() - make_interval(secs => %s), 40, now(), now() - make_interval(secs => %s))
                    ON CONFLICT (worker_type) DO UPDATE SET last_beat = EXCLUDED.last_beat,
                                                            updated_at = EXCLUDED.updated_at""",
                 (seconds_ago, seconds_ago))


# --- /api/h1/live -------------------------------------------------------------------------------------


def test_live_answers_the_latest_poll_with_events_statistics_and_heartbeat(filled):
    with psycopg.connect(filled, autocommit=True) as conn:
        beat(conn, 30)
    answer = request("GET", "/api/h1/live")
    assert answer.status == 200, answer.text
    live = api.LiveResponse.model_validate_json(answer.text)
    latest = WORLD.campaign_status(NOW)
    assert live.season.season == 3 and live.season.active and live.polled_at == NOW
    assert [(f.points, f.points_taken, f.status, f.points_max, f.time) for f in live.campaign_status] == [
        (c["points"], c["points_taken"], c["status"], c["points_max"], NOW) for c in latest["campaign_status"]]
    assert [s.model_dump(exclude={"time"}) for s in live.statistics] == [
        {k: v for k, v in s.items() if k not in ("season", "season_duration")} for s in latest["statistics"]]
    active = {(e["event_id"], e["points"]) for e in [latest["defend_event"], *latest["attack_events"]]
              if e["status"] == "active"}
    assert {(e.event_id, e.points) for e in live.active_events} == active
    assert all(e.progress and e.progress[-1].points == e.points for e in live.active_events)
    assert all(e.status != "active" and e.season == 3 for e in live.recent_events)
    assert [e.end_time for e in live.recent_events] == sorted((e.end_time for e in live.recent_events), reverse=True)
    assert live.heartbeat.stale is False and live.heartbeat.poll_duration_ms == 40
    assert answer.headers["cache-control"] == "public, max-age=60"


def test_live_reports_a_stale_heartbeat(filled):
    with psycopg.connect(filled, autocommit=True) as conn:
        beat(conn, 3 * 60 + 1)
    assert request("GET", "/api/h1/live").json()["heartbeat"]["stale"] is True


def test_live_without_any_poll_is_404(database):
    answer = request("GET", "/api/h1/live")
    assert answer.status == 404 and answer.json()["error"]["code"] == "no_live_season"


# --- /api/h1/campaign ---------------------------------------------------------------------------------


def test_campaign_series_at_bucket_resolution_prefers_the_fresher_row_of_a_bucket(filled):
    answer = request("GET", "/api/h1/campaign?season=3")
    assert answer.status == 200, answer.text
    campaign = api.CampaignResponse.model_validate_json(answer.text)
    assert campaign.resolution == BUCKET
    by_bucket = {(p.bucket, p.enemy): p for p in campaign.status}
    assert by_bucket[(MIDNIGHT, 0)].source == "snapshot" and by_bucket[(MIDNIGHT, 0)].time == MIDNIGHT + 1
    poll_fresher = by_bucket[(MIDNIGHT + DAY, 0)]
    assert poll_fresher.source == "poll" and poll_fresher.time == POLL_FRESHER
    assert [(p.bucket, p.enemy) for p in campaign.status] == sorted(by_bucket)
    poll_buckets = {ingest.bucket_start(t, BUCKET) for t in (SNAPSHOT_FRESHER, POLL_FRESHER, *POLL_TIMES)}
    assert [(p.bucket, p.enemy) for p in campaign.statistics] == [(b, e) for b in sorted(poll_buckets) for e in range(3)]
    assert campaign.statistics[-1].time == NOW
    for event in campaign.events:
        assert [p.time for p in event.progress] == sorted(p.time for p in event.progress)


def test_campaign_downsamples_to_the_last_row_of_each_window_within_the_range(filled):
    start, end = NOW - 6 * 3600, NOW - 3600
    campaign = request("GET", f"/api/h1/campaign?season=3&from={start}&to={end}&resolution=3600").json()
    assert (campaign["from"], campaign["to"], campaign["resolution"]) == (start, end, 3600)
    times = [p["time"] for p in campaign["statistics"] if p["enemy"] == 0]
    assert len(times) == 6 and all(start <= t <= end for t in times)
    stored = {}  # a bucket keeps its latest poll
    for t in POLL_TIMES:
        stored[ingest.bucket_start(t, BUCKET)] = t
    polls = [t for t in stored.values() if start <= t <= end]
    assert times == [max(t for t in polls if t // 3600 == window) for window in sorted({t // 3600 for t in polls})]
    assert all(start <= p["time"] <= end for p in campaign["status"])


def test_campaign_default_resolution_bounds_the_series(filled, monkeypatch):
    monkeypatch.setattr(queries, "MAX_POINTS_PER_SERIES", 10)
    campaign = request("GET", "/api/h1/campaign?season=1").json()
    season = GENERATOR.season(1)
    assert campaign["from"] <= season.start and campaign["to"] >= season.end
    span = campaign["to"] - campaign["from"] + 1
    assert campaign["resolution"] % BUCKET == 0 and span / 9 <= campaign["resolution"] < span / 9 + BUCKET
    assert 5 <= len([p for p in campaign["status"] if p["enemy"] == 0]) <= 10


def test_campaign_raises_a_requested_resolution_too_fine_for_one_answer(filled, monkeypatch):
    monkeypatch.setattr(queries, "MAX_REQUESTED_POINTS_PER_SERIES", 10)
    campaign = request("GET", f"/api/h1/campaign?season=1&resolution={BUCKET}").json()
    assert campaign["resolution"] > BUCKET and campaign["resolution"] % BUCKET == 0
    assert len([p for p in campaign["status"] if p["enemy"] == 0]) <= 10
    wide = request("GET", "/api/h1/campaign?season=1&from=0&to=2147483647")  # the span is past INT
    assert wide.status == 200 and wide.json()["to"] == 2147483647


@pytest.mark.parametrize("query, status, code", [
    ("season=abc", 400, "invalid_request"),
    ("", 400, "invalid_request"),
    ("season=3&from=-1", 400, "invalid_request"),
    ("season=3&from=200&to=100", 400, "invalid_range"),
    ("season=3&resolution=1000", 400, "invalid_resolution"),
    ("season=3&resolution=0", 400, "invalid_request"),
    ("season=3&to=99999999999", 400, "invalid_request"),
    ("season=77", 404, "unknown_season"),
])
def test_campaign_rejects_bad_input_with_the_error_shape(filled, query, status, code):
    answer = request("GET", f"/api/h1/campaign?{query}")
    assert answer.status == status and answer.json()["error"]["code"] == code, answer.text
    assert answer.json()["error"]["message"]


# --- /api/h1/seasons ----------------------------------------------------------------------------------


def test_seasons_index_lists_dates_outcomes_and_event_counts(filled):
    answer = request("GET", "/api/h1/seasons")
    assert answer.status == 200, answer.text
    seasons = api.SeasonsResponse.model_validate_json(answer.text).seasons
    assert [s.season for s in seasons] == [1, 2, 3] and [s.active for s in seasons] == [False, False, True]
    first = GENERATOR.season(1)
    assert (seasons[0].start_time, seasons[0].end_time) == (first.start, first.end)
    assert [(f.status, f.points) for f in seasons[0].factions] == [
        (first.faction(enemy, first.end)["status"], first.faction(enemy, first.end)["points"]) for enemy in range(3)]
    defends = [e for e in first.events if e.kind == "defend"]
    assert (seasons[0].events.defend, seasons[0].events.defend_success) == (
        len(defends), sum(e.success for e in defends))
    assert seasons[2].end_time == NOW


def test_seasons_index_leaves_out_seasons_never_stored(filled):
    """A lagging attack slot creates its season's row unconfirmed: it has nothing to list."""
    with psycopg.connect(filled, autocommit=True) as conn:
        conn.execute("INSERT INTO h1_season (season) VALUES (99)")
    seasons = request("GET", "/api/h1/seasons").json()["seasons"]
    assert [s["season"] for s in seasons] == [1, 2, 3]


def test_one_season_has_its_summary_statistics_and_events(filled):
    answer = request("GET", "/api/h1/seasons/2")
    assert answer.status == 200, answer.text
    season = api.SeasonResponse.model_validate_json(answer.text)
    assert season.season.season == 2 and season.statistics == []  # backfilled only: no poll statistics
    assert [(e.type, e.event_id) for e in season.events] == [
        (e.kind, e.event_id) for e in sorted(GENERATOR.season(2).events, key=lambda e: (e.start_time, e.kind, e.event_id))]
    assert all((e.region is None) == (e.type == "attack") for e in season.events)
    current = request("GET", "/api/h1/seasons/3").json()
    assert [s["kills"] for s in current["statistics"]] == [s["kills"] for s in WORLD.campaign_status(NOW)["statistics"]]


@pytest.mark.parametrize("path, status", [("/api/h1/seasons/abc", 400), ("/api/h1/seasons/0", 400),
                                          ("/api/h1/seasons/99999999999", 400), ("/api/h1/seasons/42", 404)])
def test_season_rejects_bad_input(filled, path, status):
    answer = request("GET", path)
    assert answer.status == status and set(answer.json()["error"]) >= {"code", "message"}, answer.text


# --- one statement, ETag and 304 -----------------------------------------------------------------------

READS = [("/api/h1/live", queries.LIVE), ("/api/h1/campaign?season=3", queries.CAMPAIGN),
         ("/api/h1/seasons", queries.SEASONS), ("/api/h1/seasons/1", queries.SEASON)]


@pytest.mark.parametrize("url, query", READS, ids=[url for url, _ in READS])
def test_each_read_is_one_statement_and_answers_if_none_match_with_304(filled, statements, url, query):
    first = request("GET", url)
    assert first.status == 200 and statements == [query.sql]
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "public, max-age=60"

    again = request("GET", url, headers={"If-None-Match": f'W/"other", {etag}'})
    assert again.status == 304 and again.text == "" and again.headers["etag"] == etag
    assert len(statements) == 2
    assert request("GET", url, headers={"If-None-Match": '"stale"'}).status == 200


def test_a_new_poll_changes_the_etag(filled):
    before = request("GET", "/api/h1/live").headers["etag"]
    with psycopg.connect(filled, autocommit=True) as conn:
        later = CampaignStatus.model_validate(WORLD.campaign_status(NOW + 60))
        ingest.ingest_campaign_status(conn, later, BUCKET)
    after = request("GET", "/api/h1/live", headers={"If-None-Match": before})
    assert after.status == 200 and after.headers["etag"] != before
    assert after.json()["polled_at"] == NOW + 60
