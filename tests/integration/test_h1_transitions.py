"""Campaign transitions recorded in the push outbox by the ingest transaction, exactly once."""

import json

import pytest

from frontline.h1 import ingest
from frontline.h1.models import CampaignStatus
from frontline.h1.simulator import SeasonGenerator, SimulatedClock, World
from tests.conftest import H1_SAMPLES

BUCKET = 900
STAT_KEYS = ("players", "total_unique_players", "missions", "successful_missions", "total_mission_difficulty",
             "completed_planets", "defend_events", "successful_defend_events", "attack_events",
             "successful_attack_events", "deaths", "kills", "accidentals", "shots", "hits")


def polls_replaying(season_payload: dict):
    """get_campaign_status responses rebuilt from a recorded get_snapshots season, one just after every
    event start and end and every snapshot: the season replayed poll by poll."""
    season = season_payload["snapshots"][0]["season"]
    events = [("defend", e) for e in season_payload["defend_events"]] + [("attack", e) for e in season_payload["attack_events"]]
    times = sorted({e["start_time"] + 1 for _, e in events} | {e["end_time"] + 1 for _, e in events}
                   | {s["time"] + 1 for s in season_payload["snapshots"]})
    for t in times:
        snapshot = [s for s in season_payload["snapshots"] if s["time"] < t][-1:] or season_payload["snapshots"][:1]
        factions = json.loads(snapshot[0]["data"])

        def shown(kind, event):
            body = {k: v for k, v in event.items() if not (kind == "defend" and k == "players_at_start")}
            if t < event["end_time"]:
                body["status"] = "active"
            if kind == "attack":
                body["max_event_id"] = event["event_id"]
            return body

        started = [(k, e) for k, e in events if e["start_time"] < t]
        defends = [e for k, e in started if k == "defend"]
        attacks = {e["enemy"]: e for k, e in sorted(started, key=lambda ke: ke[1]["event_id"]) if k == "attack"}
        if not defends:
            continue
        yield {
            "time": t, "error_code": 0,
            "campaign_status": [{"season": season, **f, "points_max": season_payload["points_max"][i],
                                 "introduction_order": season_payload["introduction_order"][i]}
                                for i, f in enumerate(factions)],
            "defend_event": shown("defend", defends[-1]),
            "attack_events": [shown("attack", attacks[enemy]) for enemy in sorted(attacks)],
            "statistics": [{"season": season, "season_duration": t, "enemy": i, **dict.fromkeys(STAT_KEYS, 0)}
                           for i in range(3)],
        }


def expected_transitions(polls: list[dict]) -> set[str]:
    """The oracle: what a subscriber should hear, from the sequence of observations."""
    seen: dict[str, str] = {}
    defeated: dict[int, str] = {}
    expected = set()
    for index, poll in enumerate(polls):
        baseline = index == 0
        for kind, event in [("defend", poll["defend_event"])] + [("attack", e) for e in poll["attack_events"]]:
            key, status = f"{kind}:{event['event_id']}", event["status"]
            if not baseline:
                if key not in seen and status == "active":
                    expected.add(f"{key}:started")
                if seen.get(key, "active") == "active" and status in ("success", "fail"):
                    expected.add(f"{key}:{'won' if status == 'success' else 'lost'}")
            seen[key] = status
        for enemy, faction in enumerate(poll["campaign_status"]):
            if enemy in defeated and defeated[enemy] != "defeated" and faction["status"] == "defeated":
                expected.add(f"faction:{faction['season']}:{enemy}:defeated")
            defeated[enemy] = faction["status"]
    return expected


def _outbox(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT dedupe_key FROM push_outbox")}


def _replay(conn, polls):
    return [ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(p), BUCKET) for p in polls]


@pytest.mark.skipif(not H1_SAMPLES.is_dir(), reason="../shared/upstream-samples/h1 is absent")
@pytest.mark.parametrize("name", ["helldivers.bot__season-110.json", "helldivers.bot__season-145.json"])
def test_recorded_season_replayed_poll_by_poll_yields_the_expected_transitions(conn, name):
    polls = list(polls_replaying(json.loads((H1_SAMPLES / "seasons" / name).read_text())))
    results = _replay(conn, polls)
    expected = expected_transitions(polls)
    assert results[0].transitions == 0, "the first poll into an empty database is the baseline"
    assert _outbox(conn) == expected
    assert len(expected) > 50 and any(k.endswith(":won") for k in expected) and any(k.endswith(":lost") for k in expected)
    # replaying the whole season again records nothing twice
    assert sum(r.transitions for r in _replay(conn, polls)) == 0
    assert conn.execute("SELECT count(*) FROM push_outbox").fetchone()[0] == len(expected)


def test_generated_campaign_season_switch_and_faction_defeat(conn):
    generator = SeasonGenerator(seed=5)
    world = World(generator, SimulatedClock(0))
    season = next(generator.season(n) for n in range(2, 20) if any(generator.season(n).defeated_at))
    enemy = next(e for e, at in enumerate(season.defeated_at) if at)
    at = season.defeated_at[enemy]
    polls = [world.campaign_status(t) for t in (at - 600, at + 60, season.end - 60, season.end + 60)]
    results = _replay(conn, polls)
    outbox = {r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT dedupe_key, kind, season, payload FROM push_outbox")}
    assert outbox[f"faction:{season.season}:{enemy}:defeated"][:2] == ("faction_defeated", season.season)
    assert outbox[f"season:{season.season}:season_ended"][:2] == ("season_ended", season.season)
    assert outbox[f"season:{season.season + 1}:season_started"][:2] == ("season_started", season.season + 1)
    assert results[-1].transitions >= 2


def test_backfills_never_notify(conn):
    from frontline.h1.models import SeasonSnapshots

    generator = SeasonGenerator(seed=5)
    world = World(generator, SimulatedClock(0))
    first = world.campaign_status(generator.season(3).start + 3600)
    _replay(conn, [first])
    ingest.ingest_snapshots(conn, 2, SeasonSnapshots.model_validate(world.snapshots(2, generator.season(3).start)), BUCKET)
    assert _outbox(conn) == set()
