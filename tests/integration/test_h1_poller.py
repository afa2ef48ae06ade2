"""The poll cycle against the loopback simulator: success, every fault, recovery, single-flight."""

import threading

import psycopg
import pytest

from frontline import db
from frontline.cli import main as frontline_cli
from frontline.h1 import ingest, poller
from frontline.h1.simulator import DAY

DATA_TABLES = ("h1_event", "h1_event_progress", "h1_status", "h1_statistic")


def _counts(conn):
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DATA_TABLES}


def _heartbeat(conn):
    return conn.execute(
        "SELECT last_beat, last_error, poll_duration_ms FROM worker_heartbeat WHERE worker_type = %s",
        (poller.WORKER_TYPE,)).fetchone()


def test_poll_stores_the_campaign_and_beats(conn, h1_simulator):
    outcome = poller.run_poll_cycle()
    assert outcome.status == "ok" and outcome.rows_written > 0
    assert conn.execute('SELECT active_season FROM "App"').fetchone()[0] == outcome.season == 3
    last_beat, last_error, duration = _heartbeat(conn)
    assert last_error is None and duration >= 0 and last_beat.year > 2000
    assert h1_simulator.requests[-1] == {"action": "get_campaign_status"}


@pytest.mark.parametrize("fault", ["timeout", "http_500", "invalid_json", "error_code", "schema"])
def test_fault_writes_nothing_records_the_error_and_the_next_poll_recovers(conn, h1_simulator, fault):
    h1_simulator.inject(*[fault] * 4)  # every retry of this poll meets the fault
    outcome = poller.run_poll_cycle()
    assert outcome.status == "failed"
    assert _counts(conn) == dict.fromkeys(DATA_TABLES, 0)
    last_beat, last_error, _ = _heartbeat(conn)
    expected_kind = {"timeout": "unavailable", "http_500": "unavailable", "invalid_json": "malformed",
                     "error_code": "error_code", "schema": "malformed"}[fault]
    assert last_error.startswith(expected_kind)
    assert last_beat.timestamp() == 0  # never a successful poll yet

    h1_simulator.faults.clear()
    assert poller.run_poll_cycle().status == "ok"
    assert _heartbeat(conn)[1] is None
    assert _counts(conn)["h1_status"] == 3


def test_a_5xx_then_success_is_retried_within_the_poll(conn, h1_simulator):
    h1_simulator.inject("http_500")
    assert poller.run_poll_cycle().status == "ok"
    assert len(h1_simulator.requests) == 2


def test_database_connection_lost_mid_transaction(conn, h1_simulator, monkeypatch):
    # The third statement of the poll kills its own connection: the first two are then rolled back.
    monkeypatch.setattr(ingest, "UPSERT_POLL_BUCKETS", "SELECT pg_terminate_backend(pg_backend_pid()), 1")
    outcome = poller.run_poll_cycle()
    assert outcome.status == "failed" and outcome.error.startswith("database")
    assert _counts(conn) == dict.fromkeys(DATA_TABLES, 0)
    assert conn.execute("SELECT count(*) FROM h1_season").fetchone()[0] == 0
    assert _heartbeat(conn)[1].startswith("database")

    monkeypatch.undo()
    assert poller.run_poll_cycle().status == "ok"
    assert _heartbeat(conn)[1] is None


def test_an_overlapping_poll_exits_cleanly(conn, h1_simulator, database):
    holder = psycopg.connect(database, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (poller.POLL_LOCK_KEY,))
    try:
        assert poller.run_poll_cycle().status == "skipped"
        assert h1_simulator.requests == [] and _heartbeat(conn) is None
        # Unlock before closing: a closed client's backend may still hold the lock for a moment.
        holder.execute("SELECT pg_advisory_unlock(%s)", (poller.POLL_LOCK_KEY,))
    finally:
        holder.close()
    assert poller.run_poll_cycle().status == "ok"


def test_two_pollers_at_once_one_polls(conn, h1_simulator):
    h1_simulator.timeout_sleep = 0.3  # a slow (not timed-out) upstream keeps the first poll busy
    h1_simulator.inject("timeout")
    outcomes = []

    def poll():
        try:
            outcomes.append(poller.run_poll_cycle().status)
        finally:
            db.reset()

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "skipped"]
    assert _counts(conn)["h1_status"] == 3


def test_season_switch_then_final_backfill(conn, h1_simulator, monkeypatch):
    clock, generator = h1_simulator.world.clock, h1_simulator.world.generator
    monkeypatch.delenv("PUSH_QUEUE_URL", raising=False)  # the season's transitions stay unrelayed: each poll relays
    steps = []
    for name in ("relay_outbox", "backfill_season"):
        step = getattr(poller, name)
        monkeypatch.setattr(poller, name, lambda *args, step=step, name=name: steps.append(name) or step(*args))
    end = generator.season(3).end
    clock.set(end - 60)
    assert poller.run_poll_cycle().season == 3
    clock.set(end + 60)
    assert poller.run_poll_cycle().season == 4
    clock.set(end + 60 + ingest.FINAL_BACKFILL_DELAY_SECONDS)
    steps.clear()
    outcome = poller.run_poll_cycle()
    assert outcome.backfilled == (3,)
    assert steps == ["relay_outbox", "backfill_season"]  # the season's transitions wait for no backfill
    assert {"action": "get_snapshots", "season": "3"} in h1_simulator.requests
    stored = conn.execute("SELECT count(DISTINCT time) FROM h1_status WHERE season = 3 AND source = 'snapshot'").fetchone()[0]
    assert stored == len(generator.season(3).snapshot_times)
    assert poller.run_poll_cycle().backfilled == ()


def test_cli_poll_and_backfill(conn, h1_simulator, capsys):
    h1_simulator.world.clock.set(h1_simulator.world.generator.season(3).start + 3 * DAY)
    assert frontline_cli(["h1", "backfill", "--from", "1", "--to", "2"]) == 0
    assert "backfilled seasons 1-2" in capsys.readouterr().out
    assert conn.execute("SELECT array_agg(season ORDER BY season) FROM h1_season").fetchone()[0] == [1, 2]
    assert frontline_cli(["h1", "poll"]) == 0
    assert frontline_cli(["h1", "backfill"]) == 0  # default: season 1 to the current one
    assert conn.execute("SELECT max(season) FROM h1_season WHERE snapshots_fetched_at IS NOT NULL").fetchone()[0] == 3


def test_transitions_are_relayed_to_the_push_queue_after_the_commit(conn, h1_simulator, monkeypatch):
    import json

    import boto3
    from moto import mock_aws

    clock, season = h1_simulator.world.clock, h1_simulator.world.generator.season(3)
    event = next(e for e in season.events if e.kind == "defend" and e.start_time > clock.now())
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="push")["QueueUrl"]
        monkeypatch.setenv("PUSH_QUEUE_URL", queue_url)
        monkeypatch.setattr("frontline.queues._sqs", lambda: sqs)
        clock.set(event.start_time - 60)
        assert poller.run_poll_cycle().relayed == 0  # the baseline poll
        clock.set(event.start_time + 60)
        assert poller.run_poll_cycle().relayed == 1
        (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        body = json.loads(message["Body"])
        assert (body["kind"], body["payload"]["event_id"]) == ("started", event.event_id)
        assert conn.execute("SELECT count(*) FROM push_outbox WHERE relayed_at IS NULL").fetchone()[0] == 0


def test_a_failed_relay_keeps_the_transitions_and_the_poll_succeeds(conn, h1_simulator, monkeypatch):
    clock, season = h1_simulator.world.clock, h1_simulator.world.generator.season(3)
    event = next(e for e in season.events if e.kind == "defend" and e.start_time > clock.now())
    monkeypatch.setenv("PUSH_QUEUE_URL", "https://sqs.invalid/000000000000/push")

    def unreachable(_url, _body):
        raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr("frontline.queues.send", unreachable)
    clock.set(event.start_time - 60)
    poller.run_poll_cycle()
    clock.set(event.start_time + 60)
    outcome = poller.run_poll_cycle()
    assert outcome.status == "ok" and outcome.relayed == 0
    assert conn.execute("SELECT count(*) FROM push_outbox WHERE relayed_at IS NULL").fetchone()[0] == 1


def test_an_error_body_that_breaks_the_schema_fails_the_poll_cleanly(conn, h1_simulator, monkeypatch):
    monkeypatch.setattr(h1_simulator, "respond", lambda params: (200, b'{"error_code": "x", "error_message": 5}'))
    outcome = poller.run_poll_cycle()
    assert outcome.status == "failed" and outcome.error.startswith("malformed: get_campaign_status: error body")
    assert _heartbeat(conn)[1].startswith("malformed")


def test_keys_upstream_added_are_stored_as_before_and_reported(conn, h1_simulator, monkeypatch):
    real_fetch = poller.client.get_campaign_status
    counted, warned = [], []

    def with_a_new_key():
        poll = real_fetch()
        return type(poll).model_validate(poll.model_dump() | {"war_id": 1})

    monkeypatch.setattr(poller.client, "get_campaign_status", with_a_new_key)
    monkeypatch.setattr(poller.metrics, "add_metric", lambda name, unit, value: counted.append((name, value)))
    monkeypatch.setattr(poller.logger, "warning", lambda message, extra: warned.append(extra))
    assert poller.run_poll_cycle().status == "ok"
    assert ("UpstreamUnknownKeys", 1) in counted
    assert warned == [{"action": "get_campaign_status", "keys": ["war_id"]}]
    assert _counts(conn)["h1_status"] == 3


def test_an_event_whose_end_the_poller_missed_is_finished_from_the_seasons_snapshots(conn, h1_simulator):
    clock, season = h1_simulator.world.clock, h1_simulator.world.generator.season(3)
    defends = [e for e in season.events if e.kind == "defend" and e.start_time > clock.now()]
    missed, later = next((a, b) for a, b in zip(defends, defends[1:]) if b.start_time > a.end_time)
    clock.set(missed.start_time + 60)
    poller.run_poll_cycle()
    clock.set(later.start_time + 60)  # an outage from before its end until the slot shows the next one
    outcome = poller.run_poll_cycle()
    assert outcome.backfilled == (3,) and {"action": "get_snapshots", "season": "3"} in h1_simulator.requests
    assert conn.execute("SELECT status FROM h1_event WHERE type = 'defend' AND event_id = %s",
                        (missed.event_id,)).fetchone()[0] in ("success", "fail")
    clock.set(later.start_time + 120)
    assert poller.run_poll_cycle().backfilled == ()  # once


def test_a_switch_marks_the_final_backfill_even_with_a_missed_end_fetch_pending(conn, h1_simulator):
    clock, generator = h1_simulator.world.clock, h1_simulator.world.generator
    end = generator.season(3).end
    clock.set(end - 60)
    poller.run_poll_cycle()
    conn.execute("UPDATE h1_season SET final_backfill_after = %s WHERE season = 3", (end - 120,))  # its fetch failed
    clock.set(end + 60)
    assert poller.run_poll_cycle().season == 4  # fetches season 3 for the pending mark, before its closing snapshot
    clock.set(end + 60 + ingest.FINAL_BACKFILL_DELAY_SECONDS)
    assert poller.run_poll_cycle().backfilled == (3,)  # and once more for the season's end
