"""/api/h1/rebroadcast gives back exactly what upstream sent: every recorded sample and generated seasons
are ingested, rebroadcast, and compared as JSON (same keys, values and array order)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from frontline.h1 import ingest, rebroadcast
from frontline.h1.models import CampaignStatus, SeasonSnapshots
from frontline.h1.simulator import DAY, SeasonGenerator, SimulatedClock, World
from tests.h1_support import campaign_status_samples, sample_id, samples_required, season_of, snapshot_sample_paths
from tests.integration.accounts_support import api_key_header, make_user
from tests.integration.test_h1_api import BUCKET, request, statements  # noqa: F401 (statements is a fixture)


@pytest.fixture
def key(conn) -> dict[str, str]:
    return api_key_header(conn, make_user(conn, "rebroadcaster"))


def rebroadcast_get(key: dict[str, str], **params) -> tuple[int, dict]:
    answer = request("GET", f"/api/h1/rebroadcast?{urlencode(params)}", headers=key)
    return answer.status, answer.json()


def rebroadcast_post(key: dict[str, str], form: bytes, content_type: str | None = "application/x-www-form-urlencoded"):
    headers = {**key, **({"Content-Type": content_type} if content_type else {})}
    answer = request("POST", "/api/h1/rebroadcast", headers=headers, body=form)
    return answer.status, answer.json()


def assert_rebroadcasts_campaign_status(key, payload: dict) -> None:
    assert rebroadcast_get(key, action="get_campaign_status") == (200, payload)
    assert rebroadcast_post(key, b"action=get_campaign_status") == (200, payload)


def assert_rebroadcasts_season(key, season: int, payload: dict) -> None:
    status, body = rebroadcast_get(key, action="get_snapshots", season=season)
    assert status == 200
    assert body == payload  # the data strings are compared as text: byte for byte
    assert rebroadcast_post(key, f"action=get_snapshots&season={season}".encode(), None) == (200, payload)


# --- recorded samples ----------------------------------------------------------------------------------


@samples_required
@pytest.mark.parametrize("payload", campaign_status_samples(), ids=sample_id)
def test_a_recorded_poll_is_rebroadcast_exactly(conn, key, payload):
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(payload), BUCKET)
    assert_rebroadcasts_campaign_status(key, payload)


@samples_required
@pytest.mark.parametrize("path", snapshot_sample_paths(), ids=sample_id)
def test_a_recorded_season_is_rebroadcast_exactly(conn, key, path):
    payload = json.loads(path.read_text())
    season = season_of(payload)
    ingest.ingest_snapshots(conn, season, SeasonSnapshots.model_validate(payload), BUCKET)
    assert_rebroadcasts_season(key, season, payload)


@samples_required
def test_a_poll_and_its_season_side_by_side_rebroadcast_each_exactly(conn, key):
    poll = campaign_status_samples()[0]  # season 156 at 1774438558, with the season-156 backfill of later
    season_path = next(p for p in snapshot_sample_paths() if p.name.endswith("season-156.json"))
    season = json.loads(season_path.read_text())
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(poll), BUCKET)
    ingest.ingest_snapshots(conn, 156, SeasonSnapshots.model_validate(season), BUCKET)
    assert_rebroadcasts_campaign_status(key, poll)
    assert_rebroadcasts_season(key, 156, season)


# --- generated seasons -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, season, days_in", [(11, 2, 3), (12, 4, 9), (13, 3, 0)])
def test_generated_polls_and_seasons_are_rebroadcast_exactly(conn, key, seed, season, days_in):
    generator = SeasonGenerator(seed)
    world = World(generator, SimulatedClock(0))
    now = generator.season(season).start + days_in * DAY + 4 * 3600 + 17
    for earlier in range(1, season + 1):
        ingest.ingest_snapshots(conn, earlier, SeasonSnapshots.model_validate(world.snapshots(earlier, now)), BUCKET)
    for at in (now - 7200, now - 60, now):
        ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(at)), BUCKET)
    assert_rebroadcasts_campaign_status(key, world.campaign_status(now))
    for earlier in range(1, season + 1):
        assert_rebroadcasts_season(key, earlier, world.snapshots(earlier, now))


# --- errors, caching, statements -----------------------------------------------------------------------


def test_unknown_action_and_bad_season_answer_upstreams_error_shape(conn, key):
    for params in ({}, {"action": "get_everything"}, {"action": "get_snapshots"},
                   {"action": "get_snapshots", "season": "x1"}, {"action": "get_snapshots", "season": "99999999999"}):
        status, body = rebroadcast_get(key, **params)
        assert status == 200 and set(body) == {"time", "error_code", "error_message"}, params
        assert body["error_code"] != 0 and isinstance(body["time"], int)
    status, body = rebroadcast_post(key, b"\xff\xfe=%%%", "multipart/form-data")
    assert status == 200 and body["error_code"] == rebroadcast.UNKNOWN_ACTION
    assert rebroadcast_get(key, action="get_campaign_status")[1]["error_code"] == rebroadcast.NO_CAMPAIGN_STATUS


def test_a_season_never_stored_answers_like_upstream_does(conn, key):
    status, body = rebroadcast_get(key, action="get_snapshots", season=7)
    assert status == 200
    assert body == {**rebroadcast.unknown_season(), "time": body["time"]}
    # A season known only because a lagging attack slot named it: no poll or fetch time to answer with.
    conn.execute("INSERT INTO h1_season (season) VALUES (8)")
    status, body = rebroadcast_get(key, action="get_snapshots", season=8)
    assert body == {**rebroadcast.unknown_season(), "time": body["time"]} and isinstance(body["time"], int)
    assert request("GET", "/api/h1/seasons/8").status == 404  # as the archive leaves it out
    assert request("GET", "/api/h1/campaign?season=8").status == 404


def test_rebroadcast_needs_an_api_key(conn):
    answer = request("GET", "/api/h1/rebroadcast?action=get_campaign_status")
    assert answer.status == 401 and answer.json()["error"]["code"] == "unauthenticated"


def test_rebroadcast_is_one_read_statement_after_the_key_check_and_answers_304(conn, key, statements):
    generator = SeasonGenerator(3)
    world = World(generator, SimulatedClock(0))
    now = generator.season(2).start + 3 * DAY
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(now)), BUCKET)
    ingest.ingest_snapshots(conn, 1, SeasonSnapshots.model_validate(world.snapshots(1, now)), BUCKET)
    for url, query in (("/api/h1/rebroadcast?action=get_campaign_status", rebroadcast.CAMPAIGN_STATUS),
                       ("/api/h1/rebroadcast?action=get_snapshots&season=1", rebroadcast.SNAPSHOTS)):
        statements.clear()
        first = request("GET", url, headers=key)
        assert first.status == 200 and statements[-1] == query.sql
        assert not any("h1_" in sql for sql in statements[:-1])  # the rest is the API key check
        again = request("GET", url, headers={**key, "If-None-Match": first.headers["etag"]})
        assert again.status == 304 and again.headers["cache-control"] == "private, max-age=60"


def test_a_season_with_two_snapshots_in_one_bucket_rebroadcasts_exactly(conn, key):
    """Seed 2's season 2 ends minutes after its midnight snapshot: both are kept and sent back."""
    generator = SeasonGenerator(2)
    season = generator.season(2)
    assert season.snapshot_times[-1] // BUCKET == season.snapshot_times[-2] // BUCKET
    world = World(generator, SimulatedClock(season.end + 3600))
    payload = world.snapshots(2, season.end + 3600)
    ingest.ingest_snapshots(conn, 2, SeasonSnapshots.model_validate(payload), BUCKET)
    assert_rebroadcasts_season(key, 2, payload)
