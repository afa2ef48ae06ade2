"""The StarForge ETL against the embedded PostgreSQL: payload shapes, keeping unknown fields,
placeholders, the claim (race and crash recovery), error classification, idempotent reprocessing, and
the SQS batch handler with moto."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone

import boto3
import psycopg
import pytest
from moto import mock_aws

from frontline import db
from frontline.config import settings
from frontline.local.events import sqs_record
from frontline.starforge import catalog, etl, queries, worker
from frontline.starforge.generator import generate_profile, namecode_for
from frontline.starforge.models import profile_data_of
from frontline.starforge.settings import settings as starforge_settings
from tests.conftest import wait_until_blocked

HERO_TABLES = ("users", "heroes", "guilds", "hero_troops", "hero_pets", "hero_artifacts", "teams", "team_troops",
               "hero_kingdom_progress", "hero_pvp_regions", "hero_pvp_stats", "hero_class_data",
               "user_profile_summary", "troop_catalog", "pet_catalog", "kingdom_catalog", "artifact_catalog")


@pytest.fixture(autouse=True)
def _fresh_starforge_settings():
    starforge_settings.cache_clear()
    yield
    starforge_settings.cache_clear()


def store(conn, payload, source="login") -> str:
    return str(conn.execute(
        "INSERT INTO starforge.hero_snapshots (source, raw, size_bytes, content_hash)"
        " VALUES (%s, %s::jsonb, 0, md5(%s)) RETURNING id",
        (source, json.dumps(payload), json.dumps(payload))).fetchone()[0])


def count(conn, table: str, where: str = "true") -> int:
    return conn.execute(f"SELECT count(*) FROM starforge.{table} WHERE {where}").fetchone()[0]


def dump(conn) -> dict[str, list]:
    return {t: conn.execute(f"SELECT to_jsonb(x) FROM starforge.{t} x ORDER BY 1").fetchall() for t in HERO_TABLES}


def comparable(tables: dict[str, list]) -> dict[str, list]:
    """A dump without what differs between two runs on new heroes: ids and times."""
    ignored = {"id", "hero_id", "user_id", "team_id", "guild_id", "created_at", "updated_at", "cached_at", "extra"}
    return {t: sorted(json.dumps({k: v for k, v in row[0].items() if k not in ignored}, sort_keys=True)
                      for row in rows) for t, rows in tables.items() if t not in ("teams", "team_troops")}


def forget_heroes(conn) -> None:
    """Empty the hero tables and mark every snapshot unprocessed, as before a first run."""
    conn.execute("UPDATE starforge.hero_snapshots SET processed_at = NULL")
    conn.execute("TRUNCATE starforge.user_profile_summary, starforge.heroes, starforge.troop_catalog,"
                 " starforge.pet_catalog, starforge.artifact_catalog, starforge.kingdom_catalog CASCADE")


def snapshot(conn, snapshot_id: str) -> dict:
    return conn.execute("SELECT to_jsonb(s) - 'raw' FROM starforge.hero_snapshots s WHERE id = %s",
                        (snapshot_id,)).fetchone()[0]


def test_a_full_profile_fills_every_table(conn):
    payload = generate_profile(1)
    profile = payload["result"]["ProfileData"]
    snapshot_id = store(conn, payload)
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    assert count(conn, "hero_troops") == 700 and count(conn, "hero_pets") == 100
    assert count(conn, "hero_kingdom_progress") == 40 and count(conn, "hero_pvp_regions") == 12
    assert count(conn, "teams") == len(profile["Teams"]) and count(conn, "team_troops") == 4 * len(profile["Teams"])
    assert count(conn, "hero_artifacts") == 12 and count(conn, "hero_class_data") == 6
    assert count(conn, "hero_pvp_stats") == 1 and count(conn, "guilds") == 1
    state = snapshot(conn, snapshot_id)
    assert state["processed_at"] and state["processing"] is False and state["user_id"]
    assert state["namecode"] == namecode_for(1) and state["server_time"] == profile["ServerTime"]
    # Unknown fields are kept: hero stats in heroes.extras, EliteLevel in hero_troops.extra, a
    # kingdom's level (no column) in hero_kingdom_progress.extra.
    extras = conn.execute("SELECT extras FROM starforge.heroes").fetchone()[0]
    assert extras["Attack"] == profile["Attack"] and extras["Souls"] == profile["Souls"]
    troop_id, troop = next(iter(profile["Troops"].items()))
    assert conn.execute("SELECT extra, amount, traits_owned FROM starforge.hero_troops WHERE troop_id = %s",
                        (int(troop_id),)).fetchone() == ({"EliteLevel": troop["EliteLevel"]}, troop["Amount"],
                                                         troop["TraitsOwned"])
    # Every troop's JSON columns line up with its id (ROWS FROM zips the column functions by position).
    stored = dict(conn.execute("SELECT troop_id, jsonb_build_array(orbs_used, extra, amount)"
                               " FROM starforge.hero_troops").fetchall())
    assert stored == {int(tid): [t["OrbsUsed"], {"EliteLevel": t["EliteLevel"]}, t["Amount"]]
                      for tid, t in profile["Troops"].items()}
    kingdom_id, level = next(iter(profile["KingdomLevels"].items()))
    assert conn.execute("SELECT extra ->> 'KingdomLevel', extra ->> 'FactionRenown' IS NOT NULL"
                        " FROM starforge.hero_kingdom_progress WHERE kingdom_id = %s",
                        (int(kingdom_id),)).fetchone() == (str(level), True)


@pytest.mark.parametrize(("table", "kind", "key"), [
    ("hero_troops", "troop", "troop_id"), ("hero_pets", "pet", "pet_id"), ("hero_artifacts", "artifact", "artifact_id"),
    ("hero_kingdom_progress", "kingdom", "kingdom_id"), ("hero_pvp_regions", "pvp_region", "region_id"),
    ("hero_class_data", "class", "class_name")])
def test_a_heros_keyed_rows_get_ids_derived_from_their_key(conn, table, kind, key):
    assert etl.process_snapshot(store(conn, generate_profile(3))) is etl.Outcome.PROCESSED
    derived = f"md5(hero_id::text || ':{kind}:' || {key})::uuid"
    assert conn.execute(f"SELECT count(*) > 0, count(*) FILTER (WHERE id <> {derived})"
                        f" FROM starforge.{table}").fetchone() == (True, 0)


def test_a_bare_profile_data_is_accepted_like_the_envelope(conn):
    assert etl.process_snapshot(store(conn, generate_profile(2, envelope=False))) is etl.Outcome.PROCESSED
    assert count(conn, "heroes", f"namecode = '{namecode_for(2)}'") == 1


@pytest.mark.parametrize("payload", [
    {"result": {"ProfileData": {"NameCode": "A"}, "Other": 1}}, {"NameCode": "B"},
    {"result": {"Other": {"NameCode": "C"}}, "NameCode": "D"}, {"result": 5, "NameCode": "E"},
    {"result": [{"ProfileData": {}}], "NameCode": "F"}, {"result": {"ProfileData": None}}, [1, 2], "text", None,
], ids=["envelope", "bare", "result-without-profile", "result-a-number", "result-a-list", "profile-null", "list",
        "string", "null"])
def test_the_claim_hands_over_what_profile_data_of_picks_from_the_payload(conn, payload):
    taken = etl.claim(conn, store(conn, payload))
    assert json.loads(taken.profile_json) == profile_data_of(payload)


def test_missing_sections_leave_their_tables_alone_and_new_keys_are_kept(conn):
    full = generate_profile(3)["result"]["ProfileData"]
    etl.process_snapshot(store(conn, full))
    before = dump(conn)
    partial = {"NameCode": full["NameCode"], "Troops": full["Troops"], "BrandNewSection": {"Answer": 42}}
    assert etl.process_snapshot(store(conn, {"result": {"ProfileData": partial}})) is etl.Outcome.PROCESSED
    after = dump(conn)
    for table in ("hero_pets", "hero_kingdom_progress", "teams", "team_troops", "hero_pvp_regions",
                  "hero_class_data", "hero_artifacts", "hero_pvp_stats"):
        assert after[table] == before[table], table
    assert conn.execute("SELECT extras FROM starforge.heroes").fetchone()[0] == {"BrandNewSection": {"Answer": 42}}


def test_troops_and_pets_no_longer_in_the_profile_are_zeroed_not_deleted(conn):
    profile = generate_profile(4, troops=20, envelope=False)
    etl.process_snapshot(store(conn, profile))
    dropped = sorted(profile["Troops"])[:5]
    removed = {troop_id: profile["Troops"].pop(troop_id) for troop_id in dropped}
    dropped_pets = sorted(profile["Pets"])[:3]
    for pet_id in dropped_pets:
        del profile["Pets"][pet_id]
    etl.process_snapshot(store(conn, profile))
    assert count(conn, "hero_troops") == 20 and count(conn, "hero_pets") == 100
    in_dropped = f"troop_id IN ({','.join(dropped)})"
    assert dict(conn.execute(f"SELECT troop_id::text, level FROM starforge.hero_troops WHERE {in_dropped}"
                             " AND amount = 0").fetchall()) == {t: troop["Level"] for t, troop in removed.items()}
    assert count(conn, "hero_pets", f"pet_id IN ({','.join(dropped_pets)}) AND amount = 0") == 3
    top = conn.execute("SELECT top_troops FROM starforge.user_profile_summary").fetchone()[0]
    assert not {t["troop_id"] for t in top} & {int(t) for t in dropped}
    # A troop owned again is updated in place.
    profile["Troops"][dropped[0]] = removed[dropped[0]] | {"Amount": 3}
    etl.process_snapshot(store(conn, profile))
    assert count(conn, "hero_troops") == 20 and count(conn, "hero_troops", f"{in_dropped} AND amount = 0") == 4
    assert count(conn, "hero_troops", f"troop_id = {dropped[0]} AND amount = 3") == 1


def test_the_summary_counts_and_ranks_owned_troops_whether_the_profile_lists_them_or_not(conn):
    profile = generate_profile(13, troops=30, envelope=False)
    troop_ids = sorted(profile["Troops"])
    for troop_id in troop_ids[:3]:
        profile["Troops"][troop_id]["Amount"] = 0  # listed, no longer owned
    for n, troop_id in enumerate(troop_ids[3:9]):  # equal amounts: ranked by level, then by id
        profile["Troops"][troop_id] |= {"Amount": 10_000, "Level": 1 + n // 2}
    owned = [(int(t), troop["Amount"], troop["Level"]) for t, troop in profile["Troops"].items() if troop["Amount"]]
    expected = (sorted(owned, key=lambda t: (-t[1], -t[2], t[0]))[:5], len(owned))

    def summary():
        top, troops_owned = conn.execute(
            "SELECT top_troops, extra -> 'troops_owned' FROM starforge.user_profile_summary").fetchone()
        return [(t["troop_id"], t["amount"], t["level"]) for t in top], troops_owned

    etl.process_snapshot(store(conn, profile))  # the troops the profile lists, just written
    assert summary() == expected
    etl.process_snapshot(store(conn, {"NameCode": profile["NameCode"], "Level": 99}))  # none listed: those stored
    assert summary() == expected


def test_a_3_mb_login_payload_is_processed(conn):
    payload = generate_profile(5, login=True, pad_to_bytes=3_000_000)
    assert len(json.dumps(payload)) >= 3_000_000
    assert etl.process_snapshot(store(conn, payload)) is etl.Outcome.PROCESSED
    assert count(conn, "hero_troops") == 700
    assert conn.execute("SELECT jsonb_array_length(extras -> 'Quests') > 1000 FROM starforge.heroes").fetchone()[0]


def test_unknown_catalog_ids_get_placeholders_that_the_catalog_seed_replaces(conn):
    etl.process_snapshot(store(conn, generate_profile(6)))
    assert count(conn, "troop_catalog", "meta @> '{\"placeholder\": true}'") == 700
    assert count(conn, "kingdom_catalog", "meta @> '{\"placeholder\": true}'") == 40
    assert count(conn, "pet_catalog", "meta @> '{\"placeholder\": true}'") == count(conn, "hero_pets")
    assert count(conn, "artifact_catalog", "meta @> '{\"placeholder\": true}'") == 12
    sample = catalog.load(catalog.SAMPLE_CATALOG)
    first = catalog.seed(conn, sample)
    assert catalog.seed(conn, sample) == {table: 0 for table in first}  # idempotent
    seeded_troop = sample.troops[0]
    assert conn.execute("SELECT name, meta FROM starforge.troop_catalog WHERE id = %s",
                        (seeded_troop.id,)).fetchone() == (seeded_troop.name, seeded_troop.model_extra)
    assert count(conn, "troop_catalog", "meta ? 'placeholder'") == 700 - count(
        conn, "hero_troops", f"troop_id IN ({','.join(str(t.id) for t in sample.troops)})")


def test_an_unknown_id_gets_a_placeholder_beside_rows_the_catalog_already_has(conn):
    catalog.seed(conn, catalog.load(catalog.SAMPLE_CATALOG))  # troops 6000-6059
    profile = generate_profile(8, troops=20, envelope=False)
    profile["Troops"]["6999"] = profile["Troops"].pop(next(iter(profile["Troops"])))
    etl.process_snapshot(store(conn, profile))
    assert conn.execute("SELECT name, meta FROM starforge.troop_catalog WHERE id = 6999").fetchone() == (
        "Unknown troop 6999", {"placeholder": True})


def prepared_statements_on(monkeypatch) -> psycopg.Connection:
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "true")
    settings.cache_clear()
    db.reset()
    return db.connection()


def test_the_etl_with_server_side_prepared_statements_stores_the_same(conn, monkeypatch):
    """The ETL Lambda prepares its statements (DB_PREPARED_STATEMENTS): a statement runs prepared
    from its sixth execution on, and what it writes is what the unprepared statements write."""
    snapshot_ids = [store(conn, generate_profile(n, troops=30)) for n in range(20, 28)]
    for snapshot_id in snapshot_ids:
        etl.process_snapshot(snapshot_id)
    unprepared = dump(conn)
    forget_heroes(conn)
    worker_conn = prepared_statements_on(monkeypatch)
    assert worker_conn.prepare_threshold == db.PREPARE_THRESHOLD
    for snapshot_id in snapshot_ids:
        assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    prepared = worker_conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    assert prepared >= 10  # claim, hero, every section, placeholders, summary, finish
    assert comparable(dump(conn)) == comparable(unprepared)
    db.reset()


def test_reprocessing_leaves_exactly_the_same_state(conn):
    snapshot_id = store(conn, generate_profile(7))
    etl.process_snapshot(snapshot_id)
    before = dump(conn)
    conn.execute("UPDATE starforge.hero_snapshots SET processed_at = NULL WHERE id = %s", (snapshot_id,))
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    assert dump(conn) == before  # updated_at and cached_at included: nothing was rewritten


def test_the_hero_upsert_tells_a_hero_it_created_from_one_it_updated_or_left_alone(conn):
    """A created hero's troops and pets go in with a plain INSERT, which would fail on stored rows."""
    snapshot_id = uuid.uuid4()

    def upsert_hero(level: int, days_later: int = 0) -> tuple:
        profile = generate_profile(12, troops=20)["result"]["ProfileData"]
        profile |= {"Level": level, "ServerTime": profile["ServerTime"] + days_later * 86_400_000}
        return etl.write_hero(conn, etl.prepare_write(snapshot_id, datetime.now(timezone.utc),
                                                      etl.parse(json.dumps(profile))))

    def updated_at():
        return conn.execute("SELECT updated_at FROM starforge.heroes").fetchone()[0]

    hero_id, created, superseded = upsert_hero(level=10)  # each statement commits on its own (autocommit)
    assert created is True and superseded is False
    first_written = updated_at()
    assert upsert_hero(level=10) == (hero_id, False, False)  # unchanged: the upsert returns no row, the lookup does
    assert updated_at() == first_written
    assert upsert_hero(level=11, days_later=1) == (hero_id, False, False)  # updated in place
    assert updated_at() > first_written
    written = updated_at()
    assert upsert_hero(level=12) == (hero_id, False, True)  # a profile older than the stored one: left alone
    assert updated_at() == written and conn.execute("SELECT level FROM starforge.heroes").fetchone()[0] == 11


def older_and_newer_profile(seed: int) -> tuple[dict, dict]:
    """Two profiles of one hero, a day apart: the newer renamed its user and guild, levelled up and
    gained a troop."""
    older = generate_profile(seed, troops=10, envelope=False)
    newer = json.loads(json.dumps(older))
    newer["ServerTime"] += 86_400_000
    newer["Level"] += 1
    newer["username"], newer["GuildName"] = "renamed", "Renamed Guild"
    newer["Troops"][sorted(newer["Troops"])[0]]["Amount"] += 1
    return older, newer


@pytest.mark.parametrize("server_time", [True, False], ids=["by ServerTime", "by arrival"])
def test_an_older_profile_processed_after_a_newer_one_is_superseded_and_changes_nothing(conn, server_time):
    older, newer = older_and_newer_profile(49)
    if server_time:  # the newer profile arrived first: its ServerTime decides
        newer_id, older_id = store(conn, newer), store(conn, older)
    else:  # no ServerTime: the order is the snapshots' arrival
        del older["ServerTime"], newer["ServerTime"]
        older_id, newer_id = store(conn, older), store(conn, newer)
    assert etl.process_snapshot(newer_id) is etl.Outcome.PROCESSED
    written = dump(conn)
    assert etl.process_snapshot(older_id) is etl.Outcome.SUPERSEDED  # a retry delivered it late
    assert dump(conn) == written
    assert conn.execute("SELECT username FROM starforge.users").fetchone()[0] == "renamed"
    assert conn.execute("SELECT name FROM starforge.guilds").fetchone()[0] == "Renamed Guild"
    assert snapshot(conn, older_id)["processed_at"] and not snapshot(conn, older_id)["processing"]
    # Once processed, the newer one is still the newest: reprocessing it changes nothing either.
    conn.execute("UPDATE starforge.hero_snapshots SET processed_at = NULL WHERE id = %s", (newer_id,))
    assert etl.process_snapshot(newer_id) is etl.Outcome.PROCESSED and dump(conn) == written


def test_an_older_profile_waiting_for_the_newer_ones_commit_changes_no_name(conn, conn_factory, monkeypatch):
    older, newer = older_and_newer_profile(50)
    older_id, newer_id = store(conn, older), store(conn, newer)
    outcomes = []

    def process_the_older_one(worker_conn):  # while the newer write is sent but not committed
        if hasattr(process_the_older_one, "worker"):
            return  # the older one's own write, in the thread
        worker = process_the_older_one.worker = threading.Thread(
            target=lambda: outcomes.append(etl.process_snapshot(older_id)))
        worker.start()
        wait_until_blocked(conn, thread=worker)

    break_the_write_of(monkeypatch, 50, process_the_older_one, after_sending=True)
    assert etl.process_snapshot(newer_id) is etl.Outcome.PROCESSED
    process_the_older_one.worker.join()
    assert outcomes == [etl.Outcome.SUPERSEDED]
    assert conn.execute("SELECT username FROM starforge.users").fetchone()[0] == "renamed"
    assert conn.execute("SELECT name FROM starforge.guilds").fetchone()[0] == "Renamed Guild"


def test_a_servertime_ahead_of_its_arrival_counts_as_the_arrival(conn):
    ahead = generate_profile(51, troops=10, envelope=False) | {"ServerTime": 32_503_680_000_000}  # year 3000
    assert etl.process_snapshot(store(conn, ahead)) is etl.Outcome.PROCESSED
    later = ahead | {"ServerTime": int(time.time() * 1000), "Level": ahead["Level"] + 1}
    assert etl.process_snapshot(store(conn, later)) is etl.Outcome.PROCESSED  # not superseded for good
    assert conn.execute("SELECT level FROM starforge.heroes").fetchone()[0] == ahead["Level"] + 1


def test_a_duplicate_delivery_after_processing_does_nothing(conn):
    snapshot_id = store(conn, generate_profile(8, troops=10))
    etl.process_snapshot(snapshot_id)
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.ALREADY_DONE


def test_claim_race_two_workers_one_wins(conn, conn_factory):
    snapshot_id = store(conn, generate_profile(9, troops=10))
    barrier = threading.Barrier(2)
    results = []

    def worker_claims():
        with conn_factory() as own:
            barrier.wait()
            try:
                results.append(etl.claim(own, snapshot_id))
            except etl.TransientEtlError as exc:
                results.append(exc)

    threads = [threading.Thread(target=worker_claims) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(r).__name__ for r in results) == ["Claim", "TransientEtlError"]


def test_two_workers_writing_one_new_hero_at_once_both_succeed(conn, conn_factory, monkeypatch):
    """Two snapshots of one new hero, processed at the same time: the second worker waits for the
    first at the hero upsert, then updates the rows the first inserted (with ids derived from the
    hero and the key, two inserts of one row would clash on the primary key)."""
    first = store(conn, generate_profile(11))
    newer = generate_profile(11)
    troop_id, troop = next(iter(newer["result"]["ProfileData"]["Troops"].items()))
    troop["Amount"] += 5
    second = store(conn, newer)
    holding, release = threading.Event(), threading.Event()

    def hold_the_first(worker_conn):
        if threading.current_thread().name == "first":
            holding.set()
            release.wait(10)

    break_the_write_of(monkeypatch, 11, hold_the_first, after_sending=True)
    outcomes = {}

    def process(snapshot_id):
        with conn_factory() as worker_conn:
            outcomes[threading.current_thread().name] = etl.process_snapshot(snapshot_id, worker_conn)

    workers = [threading.Thread(target=process, args=(snapshot_id,), name=name)
               for name, snapshot_id in (("first", first), ("second", second))]
    workers[0].start()
    assert holding.wait(10)
    workers[1].start()
    workers[1].join(1.0)
    assert workers[1].is_alive()  # held at the hero upsert by the first worker's open transaction
    release.set()
    for worker in workers:
        worker.join(10)
    assert outcomes == {"first": etl.Outcome.PROCESSED, "second": etl.Outcome.PROCESSED}
    assert count(conn, "hero_troops") == 700
    assert conn.execute("SELECT amount FROM starforge.hero_troops WHERE troop_id = %s",
                        (int(troop_id),)).fetchone()[0] == troop["Amount"]


def test_a_reprocess_waiting_on_a_claim_being_taken_answers_that_the_snapshot_is_processing(conn, conn_factory):
    snapshot_id = store(conn, generate_profile(65, troops=10))
    ttl = starforge_settings().claim_ttl_seconds
    answers = []
    with conn_factory() as claiming, conn_factory() as admin:
        with claiming.transaction():
            assert isinstance(etl.claim(claiming, snapshot_id), etl.Claim)  # not committed yet
            reprocess = threading.Thread(target=lambda: answers.append(
                queries.reset_for_reprocess(admin, snapshot_id, ttl, None, None, None)))
            reprocess.start()
            wait_until_blocked(conn, thread=reprocess)
        reprocess.join()
    assert answers == [False]  # 409: the claim committed while the reset waited for the row
    assert snapshot(conn, snapshot_id)["processing"] is True


def test_a_crashed_workers_claim_is_taken_over_after_the_ttl(conn, conn_factory, monkeypatch):
    snapshot_id = store(conn, generate_profile(10, troops=10))
    with conn_factory() as crashed:
        assert isinstance(etl.claim(crashed, snapshot_id), etl.Claim)
    # The worker died holding the claim: within the TTL nobody may take it...
    with pytest.raises(etl.TransientEtlError):
        etl.process_snapshot(snapshot_id)
    # ...once it is older than the TTL, the next delivery processes the snapshot.
    monkeypatch.setenv("STARFORGE_CLAIM_TTL_SECONDS", "30")
    starforge_settings.cache_clear()
    conn.execute("UPDATE starforge.hero_snapshots SET processing_started_at = now() - interval '31 seconds'"
                 " WHERE id = %s", (snapshot_id,))
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED


@pytest.mark.parametrize("payload, error_type", [
    ({"result": {"ProfileData": {"Name": "no namecode"}}}, "PARSE_ERROR"),
    ({"NameCode": "X1", "Troops": {"6001": {"Amount": "many"}}}, "PARSE_ERROR"),
    ({"NameCode": "X2", "Troops": {"6001": {"Amount": 10 ** 12}}}, "DB_ERROR"),  # beyond INT
    ([1, 2, 3], "PARSE_ERROR"),
])
def test_permanent_errors_are_recorded_once_and_not_retried(conn, payload, error_type):
    snapshot_id = store(conn, payload)
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.FAILED
    errors = conn.execute("SELECT error_type, message FROM starforge.etl_errors WHERE snapshot_id = %s",
                          (snapshot_id,)).fetchall()
    assert [e[0] for e in errors] == [error_type] and errors[0][1]
    state = snapshot(conn, snapshot_id)
    assert state["error_count"] == 1 and state["processing"] is False and state["processed_at"] is None
    assert state["last_error"]["type"] == error_type and state["last_error"]["permanent"] is True
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.ALREADY_DONE  # a redelivery changes nothing
    assert count(conn, "etl_errors") == 1 and count(conn, "heroes") == 0


def test_a_real_upstream_response_that_is_not_a_profile_is_a_parse_error(conn, shared_wog_ids):
    snapshot_id = store(conn, shared_wog_ids)
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.FAILED
    assert conn.execute("SELECT error_type FROM starforge.etl_errors").fetchone()[0] == "PARSE_ERROR"



# --- a batch: one claim, each snapshot parsed while the one before it is written -----------------

def test_a_batch_gives_each_snapshot_its_own_outcome_and_a_failure_spares_the_next_one(conn):
    processed_before = store(conn, generate_profile(40, troops=10))
    etl.process_snapshot(processed_before)
    good, too_big, unparsable, last = (
        store(conn, generate_profile(41, troops=10)),
        store(conn, {"NameCode": "X3", "Troops": {"6001": {"Amount": 10 ** 12}}}),  # fails in PostgreSQL
        store(conn, {"Name": "no namecode"}),  # fails in pydantic
        store(conn, generate_profile(42, troops=10)))
    unknown = "00000000-0000-4000-8000-000000000000"
    order = [good, too_big, processed_before, unknown, unparsable, last, good]  # SQS may deliver twice
    outcomes = etl.process_snapshots(order, conn)
    assert list(outcomes) == [good, too_big, processed_before, unknown, unparsable, last]
    assert outcomes == {good: etl.Outcome.PROCESSED, too_big: etl.Outcome.FAILED,
                        processed_before: etl.Outcome.ALREADY_DONE, unknown: etl.Outcome.NOT_FOUND,
                        unparsable: etl.Outcome.FAILED, last: etl.Outcome.PROCESSED}
    assert dict(conn.execute("SELECT snapshot_id::text, error_type FROM starforge.etl_errors").fetchall()) == {
        too_big: "DB_ERROR", unparsable: "PARSE_ERROR"}
    # The snapshot after each failure was written whole, in its own transaction.
    assert count(conn, "hero_troops", f"hero_id = (SELECT id FROM starforge.heroes"
                                      f" WHERE namecode = '{namecode_for(42)}')") == 10
    assert count(conn, "heroes", "namecode = 'X3'") == 0
    assert count(conn, "hero_snapshots", "processing") == 0


def test_a_batch_writes_what_one_snapshot_at_a_time_writes(conn):
    snapshot_ids = [store(conn, generate_profile(n, troops=50)) for n in range(43, 48)]
    assert set(etl.process_snapshots(snapshot_ids, conn).values()) == {etl.Outcome.PROCESSED}
    batched = dump(conn)
    forget_heroes(conn)
    for snapshot_id in snapshot_ids:
        assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    assert comparable(dump(conn)) == comparable(batched)
    # And the batch again over what it wrote changes nothing, updated_at included.
    before = dump(conn)
    conn.execute("UPDATE starforge.hero_snapshots SET processed_at = NULL")
    assert set(etl.process_snapshots(snapshot_ids, conn).values()) == {etl.Outcome.PROCESSED}
    assert dump(conn) == before


def test_two_snapshots_of_one_hero_in_a_batch_are_applied_in_order(conn):
    older = generate_profile(48, troops=10, envelope=False)
    newer = json.loads(json.dumps(older))
    dropped = sorted(newer["Troops"])[0]
    del newer["Troops"][dropped]
    newer["Level"] = older["Level"] + 1
    outcomes = etl.process_snapshots([store(conn, older), store(conn, newer)], conn)
    assert set(outcomes.values()) == {etl.Outcome.PROCESSED}
    assert conn.execute("SELECT level FROM starforge.heroes").fetchone()[0] == older["Level"] + 1
    assert count(conn, "hero_troops", f"troop_id = {dropped} AND amount = 0") == 1


def break_the_write_of(monkeypatch, seed: int, breaker, *, after_sending: bool = False) -> None:
    """``etl.execute_write`` as it is, except for the hero of ``seed``: ``breaker(conn)`` runs before
    its write, or once its statements are sent (``after_sending``)."""
    real_write = etl.execute_write

    def write(worker_conn, profile_write):
        if profile_write.hero[-1][1]["namecode"] != namecode_for(seed):
            return real_write(worker_conn, profile_write)
        if not after_sending:
            breaker(worker_conn)
            return real_write(worker_conn, profile_write)
        outcome = real_write(worker_conn, profile_write)
        breaker(worker_conn)
        return outcome

    monkeypatch.setattr(etl, "execute_write", write)


def deadlock(worker_conn) -> None:
    raise psycopg.errors.DeadlockDetected("deadlock detected")


def lose_the_connection(worker_conn) -> None:
    worker_conn.close()
    raise psycopg.OperationalError("server closed the connection unexpectedly")


def test_in_a_batch_a_snapshot_held_by_a_live_worker_or_hit_by_a_deadlock_alone_is_retried(
        conn, conn_factory, monkeypatch):
    held, deadlocked, fine = (store(conn, generate_profile(n, troops=10)) for n in (49, 50, 51))
    break_the_write_of(monkeypatch, 50, deadlock)
    with conn_factory() as live_worker:
        assert isinstance(etl.claim(live_worker, held), etl.Claim)
        outcomes = etl.process_snapshots([held, deadlocked, fine], conn)
    assert isinstance(outcomes[held], etl.TransientEtlError) and "another worker" in str(outcomes[held])
    assert outcomes[held].retry_after_seconds > 0 and outcomes[deadlocked].retry_after_seconds == 0
    assert isinstance(outcomes[deadlocked], etl.TransientEtlError) and outcomes[fine] is etl.Outcome.PROCESSED
    assert snapshot(conn, deadlocked)["processing"] is False  # released for the retry
    assert snapshot(conn, held)["processing"] is True  # still the live worker's
    assert count(conn, "etl_errors") == 0


def test_when_the_connection_is_lost_mid_batch_the_rest_of_the_batch_is_transient(conn, conn_factory, monkeypatch):
    first, lost, after = (store(conn, generate_profile(n, troops=10)) for n in (52, 53, 54))
    break_the_write_of(monkeypatch, 53, lose_the_connection)
    with conn_factory() as worker_conn:
        outcomes = etl.process_snapshots([first, lost, after], worker_conn)
    assert outcomes[first] is etl.Outcome.PROCESSED
    assert isinstance(outcomes[lost], etl.TransientEtlError) and isinstance(outcomes[after], etl.TransientEtlError)
    assert outcomes[after].retry_after_seconds == starforge_settings().claim_ttl_seconds
    # Their claims could not be released: they expire after the TTL; nothing was half written.
    assert snapshot(conn, lost)["processing"] is True and snapshot(conn, after)["processing"] is True
    assert count(conn, "heroes") == 1 and count(conn, "etl_errors") == 0


def assert_only_the_second_was_written(conn, outcomes, failed: str, written: str, error_type: str) -> None:
    """Of two 10-troop snapshots processed together, the first failed with ``error_type`` and left
    nothing behind, and the second (prepared during the first's write) was written."""
    assert outcomes == {failed: etl.Outcome.FAILED, written: etl.Outcome.PROCESSED}
    assert conn.execute("SELECT error_type FROM starforge.etl_errors").fetchall() == [(error_type,)]
    assert conn.execute("SELECT h.id FROM starforge.heroes h JOIN starforge.hero_snapshots s "
                        "ON s.namecode = h.namecode WHERE s.id = %s", (written,)).fetchone()
    assert count(conn, "heroes") == 1 and count(conn, "hero_troops") == 10
    assert snapshot(conn, failed)["processed_at"] is None


def test_an_error_that_surfaces_at_the_commit_spares_the_snapshot_prepared_meanwhile(conn, monkeypatch):
    failing, after = store(conn, generate_profile(56, troops=10)), store(conn, generate_profile(57, troops=10))
    # The division's error arrives with the pipeline's results, after the next snapshot was prepared.
    break_the_write_of(monkeypatch, 56, lambda worker_conn: worker_conn.execute("SELECT 1 / 0"), after_sending=True)
    assert_only_the_second_was_written(conn, etl.process_snapshots([failing, after], conn), failing, after, "DB_ERROR")


def test_an_error_raised_by_the_commit_itself_fails_that_snapshot_alone(conn):
    refused, after = store(conn, generate_profile(82, troops=10)), store(conn, generate_profile(83, troops=10))
    # A deferred constraint trigger fails at COMMIT: the one statement of the write that errs after
    # the next snapshot was prepared.
    conn.execute(f"""
        CREATE FUNCTION starforge.refuse_hero() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.namecode = '{namecode_for(82)}' THEN RAISE EXCEPTION 'refused at commit'; END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_hero AFTER INSERT ON starforge.heroes DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION starforge.refuse_hero();""")
    assert_only_the_second_was_written(conn, etl.process_snapshots([refused, after], conn), refused, after, "DB_ERROR")


def test_an_exception_in_python_after_the_statements_are_sent_commits_none_of_them(conn, monkeypatch):
    broken, after = store(conn, generate_profile(62, troops=10)), store(conn, generate_profile(63, troops=10))

    def bug(worker_conn):
        raise RuntimeError("a bug between the write and its COMMIT")

    break_the_write_of(monkeypatch, 62, bug, after_sending=True)
    # The broken write was rolled back, not committed with the next snapshot's transaction.
    assert_only_the_second_was_written(conn, etl.process_snapshots([broken, after], conn), broken, after,
                                       "PROCESSING_ERROR")


def test_statements_prepared_in_a_failed_pipeline_do_not_fail_the_next_snapshot(conn, monkeypatch):
    prepared_statements_on(monkeypatch)
    # psycopg prepares a statement at its run after PREPARE_THRESHOLD good ones. Here the hero's
    # statements reach that run in a pipeline whose first statement fails (after an earlier failure,
    # so that rolling back is nothing new to the connection): PostgreSQL skips the preparing, and
    # psycopg must forget the names it gave them.
    seeds = [64, *range(65, 65 + db.PREPARE_THRESHOLD), 75, 76]
    snapshot_ids = [store(conn, generate_profile(n, troops=10)) for n in seeds]
    failing = {namecode_for(64), namecode_for(75)}
    real_write = etl.execute_write

    def write(worker_conn, profile_write):
        if profile_write.hero[-1][1]["namecode"] in failing:
            # fails once the hero's statements are sent behind it, as a lock timeout would
            worker_conn.execute("SELECT pg_sleep(0.05), 1 / 0")
        return real_write(worker_conn, profile_write)

    monkeypatch.setattr(etl, "execute_write", write)
    outcomes = etl.process_snapshots(snapshot_ids)
    failed, processed = etl.Outcome.FAILED, etl.Outcome.PROCESSED
    assert [outcomes[snapshot_id] for snapshot_id in snapshot_ids] == (
        [failed] + [processed] * db.PREPARE_THRESHOLD + [failed, processed])
    db.reset()


def test_an_interrupt_mid_write_leaves_nothing_for_the_next_invocation_to_commit(conn, monkeypatch):
    interrupted, later = store(conn, generate_profile(80, troops=10)), store(conn, generate_profile(81, troops=10))

    def interrupt(worker_conn):
        raise KeyboardInterrupt

    break_the_write_of(monkeypatch, 80, interrupt, after_sending=True)
    with pytest.raises(KeyboardInterrupt):
        etl.process_snapshots([interrupted])  # on the container's connection, which the next call reuses
    assert etl.process_snapshots([later])[later] is etl.Outcome.PROCESSED
    assert conn.execute("SELECT namecode FROM starforge.heroes").fetchall() == [(namecode_for(81),)]
    db.reset()


def test_an_error_that_cannot_be_recorded_is_transient_and_the_batch_goes_on(conn, monkeypatch):
    unrecordable, fine = store(conn, {"Name": "no namecode"}), store(conn, generate_profile(58, troops=10))

    def read_only(*args, **kwargs):
        raise psycopg.errors.ReadOnlySqlTransaction("cannot execute UPDATE in a read-only transaction")

    monkeypatch.setattr(etl, "record_error", read_only)
    outcomes = etl.process_snapshots([unrecordable, fine], conn)
    assert isinstance(outcomes[unrecordable], etl.TransientEtlError) and outcomes[fine] is etl.Outcome.PROCESSED
    # Its claim could not be released: the message comes back once the claim can expire.
    assert outcomes[unrecordable].retry_after_seconds == starforge_settings().claim_ttl_seconds


def test_the_containers_connection_lost_mid_batch_is_reopened_for_the_rest(conn, monkeypatch):
    first, lost, after = (store(conn, generate_profile(n, troops=10)) for n in (59, 60, 61))
    break_the_write_of(monkeypatch, 60, lose_the_connection)
    lost_connection = db.connection()
    outcomes = etl.process_snapshots([first, lost, after])
    assert outcomes[first] is etl.Outcome.PROCESSED and outcomes[after] is etl.Outcome.PROCESSED
    assert isinstance(outcomes[lost], etl.TransientEtlError)
    assert lost_connection.closed and not db.connection().closed
    db.reset()

@pytest.fixture
def shared_wog_ids():
    from tests.conftest import SHARED

    path = SHARED / "upstream-samples" / "starforge" / "wog_ids.json"
    if not path.exists():
        pytest.skip("../shared/upstream-samples is absent")
    return json.loads(path.read_text())


def test_a_transient_error_releases_the_claim_records_no_etl_error_and_is_retried(conn, monkeypatch):
    snapshot_id = store(conn, generate_profile(11, troops=10))
    real_write = etl.execute_write

    def deadlocked(*args, **kwargs):
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    monkeypatch.setattr(etl, "execute_write", deadlocked)
    with pytest.raises(etl.TransientEtlError):
        etl.process_snapshot(snapshot_id)
    state = snapshot(conn, snapshot_id)
    assert state["processing"] is False and state["error_count"] == 1
    assert state["last_error"]["permanent"] is False and count(conn, "etl_errors") == 0
    monkeypatch.setattr(etl, "execute_write", real_write)
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    assert snapshot(conn, snapshot_id)["last_error"] is None


def test_the_batch_handler_reports_only_transient_failures_and_delays_their_retry(conn, monkeypatch):
    good = store(conn, generate_profile(12, troops=10))
    broken = store(conn, {"no": "namecode"})
    flaky = store(conn, generate_profile(13, troops=10))
    real_process = etl.process_snapshots

    def process(snapshot_ids, conn=None):
        outcomes = real_process([s for s in snapshot_ids if str(s) != flaky], conn)
        return outcomes | {flaky: etl.TransientEtlError("database restarting")}

    monkeypatch.setattr(etl, "process_snapshots", process)
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        worker._sqs.cache_clear()
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="etl", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        monkeypatch.setenv("STARFORGE_ETL_QUEUE_URL", queue_url)
        for snapshot_id in (good, broken, flaky):
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"snapshot_id": snapshot_id}))
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        records = [sqs_record("etl", m["MessageId"], m["Body"], 1) | {"receiptHandle": m["ReceiptHandle"]}
                   for m in received]
        records.append(sqs_record("etl", "not-json", "{oops", 1))
        result = worker.handle_batch({"Records": records}, None)
        flaky_message = next(m["MessageId"] for m in received if flaky in m["Body"])
        assert result == {"batchItemFailures": [{"itemIdentifier": flaky_message}]}
        # The flaky job's visibility was pushed out (10 s backoff); the others (not deleted here, as
        # the event source mapping would) are visible again at once, the queue's own timeout being 0 s.
        again = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        assert {m["MessageId"] for m in again} == {m["MessageId"] for m in received} - {flaky_message}
        worker._sqs.cache_clear()
    assert snapshot(conn, good)["processed_at"] and snapshot(conn, broken)["last_error"]["permanent"]


def test_a_batch_that_cannot_be_processed_at_all_comes_back_whole_with_the_backoff(conn, monkeypatch):
    def broken(snapshot_ids, conn=None):
        raise RuntimeError("a bug")

    delayed = []
    monkeypatch.setattr(etl, "process_snapshots", broken)
    monkeypatch.setattr(worker, "_delay_retry", lambda record, at_least: delayed.append(record))
    records = [sqs_record("etl", f"m{n}", json.dumps({"snapshot_id": store(conn, {"NameCode": f"B{n}"})}), 1)
               for n in range(3)]
    records.append(sqs_record("etl", "not-json", "{oops", 1))
    result = worker.handle_batch({"Records": records}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"m{n}"} for n in range(3)]}
    assert [r.message_id for r in delayed] == ["m0", "m1", "m2"]  # the malformed one is still dropped


def test_retry_delays_grow_exponentially_up_to_15_minutes():
    assert [worker.retry_delay_seconds(n) for n in (1, 2, 3, 4, 10)] == [10, 20, 40, 80, 900]
    # ...and wait at least for a claim that still holds the snapshot.
    assert [worker.retry_delay_seconds(n, at_least=118) for n in (1, 4, 5, 10)] == [118, 118, 160, 900]


def test_a_message_whose_snapshot_another_worker_holds_comes_back_once_the_claim_can_expire(
        conn, conn_factory, monkeypatch):
    snapshot_id = store(conn, generate_profile(62, troops=10))
    delayed = []
    monkeypatch.setattr(worker, "_delay_retry", lambda record, at_least: delayed.append(at_least))
    with conn_factory() as live_worker:
        assert isinstance(etl.claim(live_worker, snapshot_id), etl.Claim)
        records = [sqs_record("etl", "m", json.dumps({"snapshot_id": snapshot_id}), 1), sqs_record("etl", "x", "{", 1)]
        result = worker.handle_batch({"Records": records}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    ttl = starforge_settings().claim_ttl_seconds
    assert len(delayed) == 1 and ttl - 5 <= delayed[0] <= ttl


def test_a_job_failing_on_its_last_receive_is_dead_lettered_and_no_longer_pending(conn, monkeypatch):
    profile = generate_profile(63, troops=10, envelope=False)
    snapshot_id = store(conn, profile)
    conn.execute("UPDATE starforge.hero_snapshots SET namecode = %s WHERE id = %s",  # as ingestion does
                 (profile["NameCode"], snapshot_id))
    real_write = etl.execute_write

    def deadlocked(*args, **kwargs):
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    monkeypatch.setattr(etl, "execute_write", deadlocked)
    monkeypatch.setattr(worker, "_delay_retry", lambda record, at_least: None)
    last = starforge_settings().etl_max_receives

    def deliver(receive_count: int) -> dict:
        # One record only: a batch whose every record failed still answers with its failures.
        return worker.handle_batch({"Records": [sqs_record("etl", "m", json.dumps({"snapshot_id": snapshot_id}),
                                                           receive_count)]}, None)

    def status() -> str:
        return queries.snapshot_status(conn, snapshot_id, starforge_settings().claim_ttl_seconds)["status"]

    assert deliver(last - 1) == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert status() == "retrying"
    assert queries.profile_summary(conn, profile["NameCode"])[1] >= 1  # still expected: 202
    assert deliver(last) == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert status() == "dead_lettered"
    assert queries.profile_summary(conn, profile["NameCode"]) == (None, None)  # no retry comes: 404
    # A redrive from the dead-letter queue processes it like any other job.
    monkeypatch.setattr(etl, "execute_write", real_write)
    assert deliver(1) == {"batchItemFailures": []}
    assert status() == "processed" and snapshot(conn, snapshot_id)["last_error"] is None


def test_a_snapshot_processed_meanwhile_is_not_marked_dead_lettered(conn):
    snapshot_id = store(conn, generate_profile(64, troops=10))
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    etl.mark_dead_lettered(conn, [snapshot_id])
    assert snapshot(conn, snapshot_id)["last_error"] is None


def test_a_prepared_statement_made_stale_by_a_migration_is_transient_and_the_connection_is_renewed(
        conn, monkeypatch):
    worker_conn = prepared_statements_on(monkeypatch)
    snapshot_ids = [store(conn, generate_profile(n, troops=20)) for n in range(30, 38)]
    for snapshot_id in snapshot_ids[:7]:  # the claim is prepared from its sixth run on
        assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    conn.execute("ALTER TABLE starforge.hero_snapshots ALTER COLUMN created_at TYPE timestamptz(3)")  # the claim returns it
    with pytest.raises(etl.TransientEtlError, match="cached plan"):
        etl.process_snapshot(snapshot_ids[7])
    assert worker_conn.closed
    assert etl.process_snapshot(snapshot_ids[7]) is etl.Outcome.PROCESSED  # on a new connection
    assert count(conn, "etl_errors") == 0
    db.reset()
