import json

import pytest
from pydantic import ValidationError

from frontline.config import settings
from frontline.h1 import client
from frontline.h1.models import CampaignStatus, SeasonSnapshots
from frontline.h1.simulator import DAY, LONG_EVENT_SECONDS, SeasonGenerator, SimulatedClock, World


@pytest.fixture
def world():
    generator = SeasonGenerator(seed=11)
    return World(generator, SimulatedClock(generator.season(4).start))


def test_extra_keys_are_kept_not_lost(world):
    payload = world.campaign_status(world.clock.now())
    payload["new_top_level"] = {"x": 1}
    payload["statistics"][0]["new_counter"] = 5
    poll = CampaignStatus.model_validate(payload)
    assert poll.model_extra == {"new_top_level": {"x": 1}}
    assert poll.statistics[0].model_extra == {"new_counter": 5}
    payload["defend_event"]["new_flag"] = True
    assert CampaignStatus.model_validate(payload).unknown_keys() == [
        "new_top_level", "defend_event.new_flag", "statistics.0.new_counter"]
    assert CampaignStatus.model_validate(world.campaign_status(world.clock.now())).unknown_keys() == []


@pytest.mark.parametrize("breakage", [
    lambda p: p["campaign_status"].pop(),                       # two factions
    lambda p: p["statistics"][1].update(kills="12"),            # a number as a string
    lambda p: p["campaign_status"][0].update(status="won"),     # not a campaign status
    lambda p: p["defend_event"].update(status="pending"),       # not an event status
    lambda p: p["campaign_status"][1].update(season=1),         # two current seasons
    lambda p: p.pop("defend_event"),
])
def test_schema_breaks_are_rejected(world, breakage):
    payload = world.campaign_status(world.clock.now())
    breakage(payload)
    with pytest.raises(ValidationError):
        CampaignStatus.model_validate(payload)


def test_current_season_comes_from_campaign_status_not_event_slots(world):
    at = world.generator.season(5).start + 60  # slots still hold season-4 events
    poll = CampaignStatus.model_validate(world.campaign_status(at))
    assert poll.season == 5
    assert {e.season for e in poll.attack_events} & {4}


def test_snapshot_data_must_be_a_json_string(world):
    payload = world.snapshots(2, world.clock.now())
    SeasonSnapshots.model_validate(payload)
    payload["snapshots"][0]["data"] = json.loads(payload["snapshots"][0]["data"])
    with pytest.raises(ValidationError):
        SeasonSnapshots.model_validate(payload)


def test_seasons_evolve_in_time(world):
    season = world.generator.season(4)
    early = CampaignStatus.model_validate(world.campaign_status(season.start + DAY))
    late = CampaignStatus.model_validate(world.campaign_status(season.end - 1))
    assert any(e.status == "hidden" for e in early.campaign_status)
    assert sum(e.points for e in late.campaign_status) > sum(e.points for e in early.campaign_status)
    assert late.statistics[0].kills > early.statistics[0].kills
    final = season.events[-1] if season.events[-1].kind == "defend" else None
    defends = [e for e in season.events if e.kind == "defend"]
    super_earth = max(defends, key=lambda e: e.event_id)
    assert super_earth.region == 0 and not super_earth.success
    assert super_earth.end_time - super_earth.start_time == LONG_EVENT_SECONDS
    assert final is None or final.kind == "defend"
    next_season = CampaignStatus.model_validate(world.campaign_status(season.end))
    assert next_season.season == 5
    ids = [e.event_id for n in (4, 5) for e in world.generator.season(n).events if e.kind == "defend"]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # event ids keep increasing across seasons


def test_active_events_become_finished_and_appear_in_snapshots(world):
    season = world.generator.season(4)
    event = next(e for e in season.events if e.kind == "defend")
    during = CampaignStatus.model_validate(world.campaign_status(event.start_time + 60))
    assert during.defend_event.event_id == event.event_id and during.defend_event.status == "active"
    assert "players_at_start" not in during.defend_event.model_fields_set
    after = SeasonSnapshots.model_validate(world.snapshots(4, event.end_time))
    assert event.event_id in [e.event_id for e in after.defend_events]
    assert all(e.status != "active" for e in after.defend_events)


def test_statistics_exceed_32_bits_on_long_seasons(world):
    season = max((world.generator.season(n) for n in range(1, 8)), key=lambda s: s.end - s.start)
    poll = CampaignStatus.model_validate(world.campaign_status(season.end - 1))
    assert max(s.shots for s in poll.statistics) > 2**31


def test_tls_verification_is_off_only_for_the_official_host(monkeypatch):
    monkeypatch.delenv("H1_TLS_VERIFY", raising=False)
    settings.cache_clear()
    assert client.tls_verify("https://api.helldiversgame.com/1.0/") is False
    assert client.tls_verify("https://mirror.example.org/1.0/") is True
    monkeypatch.setenv("H1_TLS_VERIFY", "true")
    settings.cache_clear()
    assert client.tls_verify("https://api.helldiversgame.com/1.0/") is True
