"""The h1 write path on recorded upstream responses and on generated ones."""

import json

import pytest

from frontline.h1 import ingest
from frontline.h1.models import ATTACK_REGION, CampaignStatus, SeasonSnapshots
from frontline.h1.simulator import DAY, SeasonGenerator, SimulatedClock, World
from tests.h1_support import campaign_status_samples, sample_id, samples_required, season_of, snapshot_sample_paths

BUCKET = 900
DATA_TABLES = ("h1_season", "h1_event", "h1_event_progress", "h1_status", "h1_statistic")


def _row_versions(conn) -> dict[str, list]:
    """Every data row's identity and xmin: equal before and after means nothing was written."""
    return {t: conn.execute(f"SELECT id, xmin::text FROM {t} ORDER BY id").fetchall() for t in DATA_TABLES[1:]}


def _season_data(conn, season):
    return conn.execute(
        """SELECT introduction_order, points_max, season_duration, polled_at, snapshots_fetched_at,
                  poll_defend_event_id, poll_attack_event_ids FROM h1_season WHERE season = %s""", (season,)
    ).fetchone()


@samples_required
@pytest.mark.parametrize("payload", campaign_status_samples(), ids=sample_id)
def test_recorded_poll_is_stored_exactly_and_a_second_ingest_is_a_no_op(conn, payload):
    poll = CampaignStatus.model_validate(payload)
    result = ingest.ingest_campaign_status(conn, poll, BUCKET)
    assert result.season == poll.season and result.rows_written > 0
    season, bucket = poll.season, ingest.bucket_start(poll.time, BUCKET)

    stats = conn.execute(
        f"""SELECT enemy, time, {", ".join(ingest.STATISTIC_COLUMNS + ingest.STATISTIC_BIGINT_COLUMNS)}
            FROM h1_statistic WHERE season = %s AND bucket = %s ORDER BY enemy""", (season, bucket)).fetchall()
    for row, expected in zip(stats, sorted(payload["statistics"], key=lambda s: s["enemy"])):
        names = ("enemy", "time", *ingest.STATISTIC_COLUMNS, *ingest.STATISTIC_BIGINT_COLUMNS)
        stored = dict(zip(names, row))
        assert stored == {**{k: expected[k] for k in names if k != "time"}, "time": payload["time"]}
    statuses = conn.execute(
        "SELECT points, points_taken, status FROM h1_status WHERE season = %s AND source = 'poll' ORDER BY enemy",
        (season,)).fetchall()
    assert statuses == [(c["points"], c["points_taken"], c["status"]) for c in payload["campaign_status"]]
    for event in [payload["defend_event"], *payload["attack_events"]]:
        kind = "defend" if "region" in event else "attack"
        stored = conn.execute(
            """SELECT season, start_time, end_time, region, enemy, points_max, points, status, players_at_start,
                      max_event_id, poll_players_at_start FROM h1_event WHERE type = %s AND event_id = %s""",
            (kind, event["event_id"])).fetchone()
        assert stored == (event["season"], event["start_time"], event["end_time"], event.get("region", ATTACK_REGION),
                          event["enemy"], event["points_max"], event["points"], event["status"],
                          event.get("players_at_start"), event.get("max_event_id"), "players_at_start" in event)
    assert _season_data(conn, season) == (
        [c["introduction_order"] for c in payload["campaign_status"]], [c["points_max"] for c in payload["campaign_status"]],
        payload["statistics"][0]["season_duration"], payload["time"], None, payload["defend_event"]["event_id"],
        [e["event_id"] for e in payload["attack_events"]])
    assert conn.execute('SELECT active_season FROM "App"').fetchone()[0] == season

    before = _row_versions(conn)
    assert ingest.ingest_campaign_status(conn, poll, BUCKET).rows_written == 0
    assert _row_versions(conn) == before


@samples_required
@pytest.mark.parametrize("path", snapshot_sample_paths(), ids=sample_id)
def test_recorded_season_is_stored_exactly_and_a_second_ingest_is_a_no_op(conn, path):
    payload = json.loads(path.read_text())
    season = season_of(payload)
    snapshots = SeasonSnapshots.model_validate(payload)
    assert ingest.ingest_snapshots(conn, season, snapshots, BUCKET) > 0

    stored_snapshots = conn.execute(
        """SELECT time, json_agg(json_build_object('points', points, 'points_taken', points_taken, 'status', status)
                                 ORDER BY enemy)::text
           FROM h1_status WHERE season = %s AND source = 'snapshot' GROUP BY time ORDER BY time""", (season,)).fetchall()
    assert [(t, json.loads(d)) for t, d in stored_snapshots] == [(s["time"], json.loads(s["data"])) for s in payload["snapshots"]]
    for kind in ("defend", "attack"):
        stored = conn.execute(
            """SELECT event_id, start_time, end_time, region, enemy, points_max, points, status, players_at_start
               FROM h1_event WHERE season = %s AND type = %s ORDER BY event_id""", (season, kind)).fetchall()
        assert stored == [(e["event_id"], e["start_time"], e["end_time"], e.get("region", ATTACK_REGION), e["enemy"],
                           e["points_max"], e["points"], e["status"], e["players_at_start"])
                          for e in payload[f"{kind}_events"]]
    io, pm, *_rest = _season_data(conn, season)
    assert (io, pm) == (payload["introduction_order"], payload["points_max"])

    before = _row_versions(conn)
    assert ingest.ingest_snapshots(conn, season, snapshots, BUCKET) == 0
    assert _row_versions(conn) == before


@samples_required
def test_attack_slots_lagging_a_season_are_stored_under_their_own_season(conn):
    payload = campaign_status_samples()[0]  # season 156, two attack slots still from season 155
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(payload), BUCKET)
    rows = conn.execute("SELECT event_id, season FROM h1_event WHERE type = 'attack' ORDER BY event_id").fetchall()
    assert rows == [(907, 155), (915, 155), (916, 156)]
    assert conn.execute("SELECT season, last_updated IS NOT NULL FROM h1_season ORDER BY season").fetchall() == [
        (155, False), (156, True)]  # the lagging season exists but was never confirmed by a poll
    # progress buckets are kept for the current season's events only
    assert conn.execute("SELECT type, event_id FROM h1_event_progress ORDER BY 1, 2").fetchall() == [
        ("attack", 916), ("defend", 4888)]


def _world(seed=3):
    generator = SeasonGenerator(seed)
    return World(generator, SimulatedClock(generator.season(2).start)), generator


def test_bucket_boundary_updates_within_a_window_and_inserts_at_the_next(conn):
    world, generator = _world()
    t0 = ingest.bucket_start(generator.season(2).start + DAY, BUCKET)
    for t in (t0 + 10, t0 + 500, t0 + BUCKET - 1, t0 + BUCKET + 5):
        ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(t)), BUCKET)
    rows = conn.execute("SELECT DISTINCT bucket, time FROM h1_status ORDER BY bucket").fetchall()
    assert rows == [(t0, t0 + BUCKET - 1), (t0 + BUCKET, t0 + BUCKET + 5)]
    assert conn.execute("SELECT count(*) FROM h1_statistic").fetchone()[0] == 6
    # an older poll arriving late never rolls a bucket back
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(t0 + 20)), BUCKET)
    assert conn.execute("SELECT DISTINCT time FROM h1_status WHERE bucket = %s", (t0,)).fetchall() == [(t0 + BUCKET - 1,)]


def test_an_older_poll_arriving_late_changes_no_event_and_records_no_transition(conn):
    world, generator = _world()
    start = generator.season(2).start
    events = "SELECT type, event_id, points, status, xmin::text FROM h1_event ORDER BY 1, 2"
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(start + 3 * DAY)), BUCKET)
    stored, outbox = conn.execute(events).fetchall(), conn.execute("SELECT count(*) FROM push_outbox").fetchone()
    late = CampaignStatus.model_validate(world.campaign_status(start + DAY))  # a lagging upstream cache
    assert {e.event_id for e in late.events} != {row[1] for row in stored}  # it shows other events
    ingest.ingest_campaign_status(conn, late, BUCKET)
    assert conn.execute(events).fetchall() == stored
    assert conn.execute("SELECT count(*) FROM push_outbox").fetchone() == outbox


def test_a_poll_that_changes_an_earlier_seasons_event_stamps_that_season(conn):
    world, generator = _world()
    first, second = generator.season(1), generator.season(2)

    def season_1_stamp():
        return conn.execute("SELECT last_updated FROM h1_season WHERE season = 1").fetchone()[0]

    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(first.start + DAY)), BUCKET)
    stamped = season_1_stamp()
    poll = CampaignStatus.model_validate(world.campaign_status(second.start + DAY))
    assert any(e.season == 1 for e in poll.attack_events)  # slots still showing season 1's assaults
    ingest.ingest_campaign_status(conn, poll, BUCKET)
    assert season_1_stamp() > stamped  # its reads' ETags change with its events
    stamped = season_1_stamp()
    ingest.ingest_campaign_status(conn, poll, BUCKET)
    assert season_1_stamp() == stamped  # nothing of season 1 changed


def test_snapshots_sit_beside_poll_rows_and_never_overwrite_them(conn):
    world, generator = _world()
    season = generator.season(2)
    snapshot_time = season.snapshot_times[2]
    poll_time = snapshot_time + 60  # a fresher live poll in the same bucket
    ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(poll_time)), BUCKET)
    poll_rows = conn.execute("SELECT enemy, time, points FROM h1_status ORDER BY enemy").fetchall()
    ingest.ingest_snapshots(conn, 2, SeasonSnapshots.model_validate(world.snapshots(2, season.end + DAY)), BUCKET)
    assert conn.execute(
        "SELECT enemy, time, points FROM h1_status WHERE source = 'poll' ORDER BY enemy").fetchall() == poll_rows
    same_bucket = conn.execute(
        "SELECT source, time FROM h1_status WHERE enemy = 0 AND bucket = %s ORDER BY source",
        (ingest.bucket_start(snapshot_time, BUCKET),)).fetchall()
    assert same_bucket == [("poll", poll_time), ("snapshot", snapshot_time)]


def test_season_change_marks_the_finished_season_for_a_final_backfill(conn):
    world, generator = _world()
    end = generator.season(2).end
    first = ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(end - 120)), BUCKET)
    assert (first.season, first.previous_season) == (2, 0)
    switch = ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(end + 60)), BUCKET)
    assert (switch.season, switch.previous_season, switch.final_backfills_due) == (3, 2, [])
    assert conn.execute('SELECT active_season FROM "App"').fetchone()[0] == 3
    due_at = end + 60 + ingest.FINAL_BACKFILL_DELAY_SECONDS
    later = ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(due_at)), BUCKET)
    assert later.final_backfills_due == [2]
    ingest.ingest_snapshots(conn, 2, SeasonSnapshots.model_validate(world.snapshots(2, due_at)), BUCKET)
    again = ingest.ingest_campaign_status(conn, CampaignStatus.model_validate(world.campaign_status(due_at + 60)), BUCKET)
    assert again.final_backfills_due == []


def test_unknown_season_writes_nothing(conn):
    world, _ = _world()
    empty = SeasonSnapshots.model_validate(world.snapshots(999, world.clock.now()))
    assert empty.is_empty and empty.points_max is None
    assert ingest.ingest_snapshots(conn, 999, empty, BUCKET) == 0
    assert conn.execute("SELECT count(*) FROM h1_season").fetchone()[0] == 0


def test_two_snapshots_in_one_bucket_are_both_kept(conn):
    world, generator = _world()
    payload = world.snapshots(2, generator.season(2).end + DAY)
    first = payload["snapshots"][1]
    payload["snapshots"].insert(2, {**first, "time": first["time"] + 300})  # 5 minutes later, same bucket
    payload["snapshots"].append(payload["snapshots"][-1])  # and one repeated verbatim
    assert ingest.bucket_start(first["time"], BUCKET) == ingest.bucket_start(first["time"] + 300, BUCKET)
    ingest.ingest_snapshots(conn, 2, SeasonSnapshots.model_validate(payload), BUCKET)
    times = [r[0] for r in conn.execute(
        "SELECT DISTINCT time FROM h1_status WHERE season = 2 AND source = 'snapshot' ORDER BY time")]
    assert times == sorted({s["time"] for s in payload["snapshots"]})
