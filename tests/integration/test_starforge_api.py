"""StarForge HTTP routes through their real handlers (loaded from template.yaml), against the embedded
PostgreSQL and a moto SQS queue: every status code the issue lists."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from uuid import uuid4

import boto3
import pytest
from moto import mock_aws

from frontline import cli, db
from frontline.local import invoke, template
from frontline.local.events import http_api_event
from frontline.starforge import etl, ingest, queries
from frontline.starforge.generator import generate_profile, namecode_for
from frontline.starforge.settings import settings as starforge_settings
from tests.conftest import PROJECT_ROOT, wait_until_blocked

APP = template.read(PROJECT_ROOT / "template.yaml")


def admin_api_key(capsys) -> str:
    """An API key of an admin user, made the way an operator bootstraps a deployment."""
    for argv in (["users", "create", "--username", "starforge-admin"],
                 ["users", "grant-admin", "--username", "starforge-admin"]):
        assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(["keys", "create", "--username", "starforge-admin"]) == 0
    return capsys.readouterr().out.strip()


@pytest.fixture
def starforge(database, monkeypatch, capsys):
    """A migrated database and a mocked ETL queue; yields a function that reads the queued jobs."""
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="etl")["QueueUrl"]
        monkeypatch.setenv("STARFORGE_ETL_QUEUE_URL", queue_url)
        starforge_settings.cache_clear()

        def queued_jobs() -> list[str]:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"])["snapshot_id"] for m in messages]

        global AUTH
        AUTH = {"X-API-Key": admin_api_key(capsys)}
        yield queued_jobs
    starforge_settings.cache_clear()


AUTH: dict[str, str] = {}


def call(method: str, path: str, body: bytes | str = b"", headers: dict | None = None, query: str = ""):
    """Route like API Gateway: find the template route, build a payload-2.0 event, invoke its handler.
    Every call sends the admin's API key unless ``headers`` overrides it (None: no key)."""
    for route in APP.routes:
        pattern = route.path.split("/")
        parts = path.split("/")
        if route.method == method and len(pattern) == len(parts) and all(
                p.startswith("{") or p == q for p, q in zip(pattern, parts)):
            params = {p[1:-1]: q for p, q in zip(pattern, parts) if p.startswith("{")}
            break
    else:
        raise AssertionError(f"no route for {method} {path}")
    raw = body.encode() if isinstance(body, str) else body
    headers = {name: value for name, value in (AUTH | (headers or {})).items() if value is not None}
    event = http_api_event(method=method, raw_path=path, raw_query=query, headers=headers, body=raw,
                           route_key=route.route_key, path_parameters=params)
    result = invoke.invoke(APP.functions[route.function], event)
    return result["statusCode"], json.loads(result["body"]), result.get("headers", {})


def snapshot_body(seed: int = 1, **profile) -> str:
    shape = {"troops": 30, "pets": 5, "kingdoms": 5} | profile
    return json.dumps({"source": "login", "payload": generate_profile(seed, **shape)})


def snapshot_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM starforge.hero_snapshots").fetchone()[0]


def test_post_snapshot_commits_then_queues_and_answers_202(starforge, conn):
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body())
    assert status == 202 and body["status"] == "queued"
    row = conn.execute("SELECT namecode, source, size_bytes, content_hash, processed_at FROM starforge.hero_snapshots"
                       " WHERE id = %s", (body["snapshot_id"],)).fetchone()
    payload = json.loads(snapshot_body())["payload"]
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    import hashlib
    assert row == (namecode_for(1), "login", len(raw), hashlib.sha256(raw).hexdigest(), None)
    assert starforge() == [body["snapshot_id"]]


def test_identical_content_inside_the_window_is_409_with_the_existing_id(starforge, conn):
    _, first, _ = call("POST", "/api/v1/snapshots", snapshot_body())
    # Same payload, other whitespace and source: the content hash is over the payload only.
    resent = json.dumps({"source": "cli_upload", "payload": json.loads(snapshot_body())["payload"]}, indent=2)
    status, body, _ = call("POST", "/api/v1/snapshots", resent)
    assert status == 409
    assert body["error"]["code"] == "duplicate_snapshot" and body["error"]["snapshot_id"] == first["snapshot_id"]
    assert body["error"]["request_id"]
    assert snapshot_count(conn) == 1 and len(starforge()) == 1


def test_identical_content_after_the_window_is_a_new_snapshot(starforge, conn, monkeypatch):
    monkeypatch.setenv("STARFORGE_DEDUPE_WINDOW_SECONDS", "0")
    starforge_settings.cache_clear()
    assert call("POST", "/api/v1/snapshots", snapshot_body())[0] == 202
    assert call("POST", "/api/v1/snapshots", snapshot_body())[0] == 202
    assert snapshot_count(conn) == 2


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(starforge, conn):
    headers = {"Idempotency-Key": "k-1"}
    first = call("POST", "/api/v1/snapshots", snapshot_body(1), headers)
    again = call("POST", "/api/v1/snapshots", snapshot_body(1), headers)
    assert first[0] == again[0] == 202 and first[1] == again[1]
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body(2), headers)
    assert status == 422 and body["error"]["code"] == "idempotency_key_reused" and body["error"]["request_id"]
    assert snapshot_count(conn) == 1 and len(starforge()) == 1
    # A key remembers a 409 too: replaying it gives the same 409, not a fresh 202.
    dup = call("POST", "/api/v1/snapshots", snapshot_body(1), {"Idempotency-Key": "k-2"})
    assert dup[0] == 409
    assert call("POST", "/api/v1/snapshots", snapshot_body(1), {"Idempotency-Key": "k-2"})[0] == 409


def test_an_idempotency_key_can_be_used_again_once_expired(starforge, conn):
    headers = {"Idempotency-Key": "k-old"}
    assert call("POST", "/api/v1/snapshots", snapshot_body(1), headers)[0] == 202
    conn.execute("UPDATE starforge.ingest_idempotency_keys SET created_at = now() - interval '25 hours'")
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body(2), headers)
    assert status == 202, body  # a new request under the old key, not 422
    assert call("POST", "/api/v1/snapshots", snapshot_body(3), headers)[0] == 422  # and the key is live again


def test_an_overlong_idempotency_key_is_400(starforge, conn):
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body(), {"Idempotency-Key": "k" * 256})
    assert status == 400 and body["error"]["code"] == "invalid_idempotency_key"
    assert snapshot_count(conn) == 0


def test_a_body_over_the_limit_is_413_and_stores_nothing(starforge, conn, monkeypatch):
    monkeypatch.setenv("STARFORGE_MAX_PAYLOAD_BYTES", "1000")
    starforge_settings.cache_clear()
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body())
    assert status == 413 and body["error"]["code"] == "payload_too_large" and body["error"]["request_id"]
    assert snapshot_count(conn) == 0 and starforge() == []


@pytest.mark.parametrize("body, code", [
    ('{"source": "login", "payload": {', "invalid_json"),
    ("", "invalid_json"),
    ('{"source": "login"}', "invalid_request"),
    ('{"source": "scraped", "payload": {}}', "invalid_request"),
    ('{"source": "login", "payload": [1, 2]}', "invalid_request"),
    (b'{"source": "login", "payload": {"NameCode": "\xff\xfe"}}', "invalid_json"),  # not UTF-8
    ('{"source": "login", "namecode": "A\\u0000B", "payload": {"x": 1}}', "invalid_value"),  # NUL: unstorable
    ('{"source": "login", "payload": {"NameCode": "A\\u0000B"}}', "invalid_value"),
    ('{"source": "login", "payload": {"NameCode": "N1", "Attack": NaN}}', "invalid_json"),  # not JSON
    ('{"source": "login", "payload": {"NameCode": "N1", "Stats": [1, -Infinity]}}', "invalid_json"),
])
def test_bad_bodies_are_400_and_store_nothing(starforge, conn, body, code):
    status, answer, _ = call("POST", "/api/v1/snapshots", body)
    assert status == 400 and answer["error"]["code"] == code and answer["error"]["request_id"]
    assert snapshot_count(conn) == 0


def test_nan_and_infinity_inside_strings_are_just_text(starforge, conn):
    status, answer, _ = call("POST", "/api/v1/snapshots",
                             '{"source": "login", "payload": {"NameCode": "N2", "Name": "NaNa Infinity"}}')
    assert status == 202, answer
    assert conn.execute("SELECT raw ->> 'Name' FROM starforge.hero_snapshots").fetchone()[0] == "NaNa Infinity"


def test_a_queue_failure_is_503_and_leaves_no_snapshot(starforge, conn, monkeypatch):
    monkeypatch.setenv("STARFORGE_ETL_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/missing")
    starforge_settings.cache_clear()
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body(), {"Idempotency-Key": "k"})
    assert status == 503 and body["error"]["code"] == "queue_unavailable"
    assert snapshot_count(conn) == 0
    assert conn.execute("SELECT count(*) FROM starforge.ingest_idempotency_keys").fetchone()[0] == 0


def test_profile_summary_is_404_then_202_while_queued_then_200(starforge):
    assert call("GET", f"/api/v1/profile/summary/{namecode_for(1)}")[0] == 404
    _, posted, _ = call("POST", "/api/v1/snapshots", snapshot_body())
    status, body, headers = call("GET", f"/api/v1/profile/summary/{namecode_for(1)}")
    assert status == 202 and body["estimated_ready_in_seconds"] >= 1
    assert headers["Retry-After"] == str(body["estimated_ready_in_seconds"])
    assert etl.process_snapshot(posted["snapshot_id"]) is etl.Outcome.PROCESSED
    status, body, _ = call("GET", f"/api/v1/profile/summary/{namecode_for(1)}")
    assert status == 200
    assert body["namecode"] == namecode_for(1) and body["snapshot_id"] == posted["snapshot_id"]
    assert len(body["top_troops"]) == 5 and body["guild_name"] and body["equipped_pet"]["pet_id"] >= 13000
    amounts = [t["amount"] for t in body["top_troops"]]
    assert amounts == sorted(amounts, reverse=True)


def test_the_ready_in_estimate_is_the_median_wait_less_the_wait_so_far(conn):
    def stored(namecode: str, age_seconds: int, waited_seconds: int | None) -> None:
        conn.execute("""
            INSERT INTO starforge.hero_snapshots (namecode, source, raw, size_bytes, content_hash, created_at, processed_at)
            VALUES (%(namecode)s, 'login', '{}', 2, md5(random()::text), now() - make_interval(secs => %(age)s),
                    now() - make_interval(secs => %(age)s) + make_interval(secs => %(waited)s))""",
                     {"namecode": namecode, "age": age_seconds, "waited": waited_seconds})

    for waited in (20, 30, 90):  # processed a while ago: the median wait is 30 s
        stored("DONE", 600, waited)
    stored("WAITING", 10, None)
    summary, eta = queries.profile_summary(conn, "WAITING")
    assert summary is None and 19 <= eta <= 21
    stored("LATE", 45, None)  # waited longer than usual already: soon, but not "now"
    assert queries.profile_summary(conn, "LATE") == (None, 1)


def test_troop_owners_are_paginated_by_amount(starforge):
    for seed in (1, 2, 3, 4):
        _, posted, _ = call("POST", "/api/v1/snapshots", snapshot_body(seed, troops=1000, pets=1))
        etl.process_snapshot(posted["snapshot_id"])
    troop_id = 6500  # a 1000-troop profile owns every troop id
    seen, cursor = [], None
    while True:
        status, page, _ = call("GET", f"/api/v1/troops/{troop_id}/owners",
                               query="limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200 and len(page["owners"]) <= 1
        seen += page["owners"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    status, everything, _ = call("GET", f"/api/v1/troops/{troop_id}/owners", query="limit=100")
    assert seen == everything["owners"] and everything["next_cursor"] is None
    assert 1 <= len(seen) <= 4 and all(o["amount"] > 0 for o in seen)
    assert [(o["amount"], o["level"]) for o in seen] == sorted(((o["amount"], o["level"]) for o in seen),
                                                              reverse=True)
    assert call("GET", f"/api/v1/troops/{troop_id}/owners", query="cursor=bm9wZQ")[0] == 400
    beyond_int = base64.urlsafe_b64encode(f"99999999999:1:{uuid4()}".encode()).decode()
    assert call("GET", f"/api/v1/troops/{troop_id}/owners", query=f"cursor={beyond_int}")[1]["error"]["code"] == \
        "invalid_cursor"
    assert call("GET", f"/api/v1/troops/{troop_id}/owners", query="limit=0")[0] == 400


def test_snapshot_status_follows_the_snapshot(starforge):
    _, posted, _ = call("POST", "/api/v1/snapshots", snapshot_body())
    status, body, _ = call("GET", f"/api/v1/snapshots/{posted['snapshot_id']}/status")
    assert status == 200 and body["status"] == "queued" and body["namecode"] == namecode_for(1)
    etl.process_snapshot(posted["snapshot_id"])
    assert call("GET", f"/api/v1/snapshots/{posted['snapshot_id']}/status")[1]["status"] == "processed"
    assert call("GET", f"/api/v1/snapshots/{uuid4()}/status")[0] == 404
    assert call("GET", "/api/v1/snapshots/not-a-uuid/status")[0] == 400


def test_reprocess_is_202_409_while_processing_and_404_when_unknown(starforge, conn):
    _, posted, _ = call("POST", "/api/v1/snapshots", snapshot_body())
    snapshot_id = posted["snapshot_id"]
    starforge()  # drain the ingest's job
    assert etl.process_snapshot(snapshot_id) is etl.Outcome.PROCESSED
    status, body, _ = call("POST", f"/api/v1/admin/snapshots/{snapshot_id}/reprocess")
    assert status == 202 and body == {"snapshot_id": snapshot_id, "status": "queued"}
    assert starforge() == [snapshot_id]
    assert conn.execute("SELECT count(*) FROM starforge.audit_logs WHERE action = 'snapshot_reprocessed'"
                        ).fetchone()[0] == 1

    assert isinstance(etl.claim(conn, snapshot_id), etl.Claim)  # a worker holds it now
    status, body, _ = call("POST", f"/api/v1/admin/snapshots/{snapshot_id}/reprocess")
    assert status == 409 and body["error"]["code"] == "snapshot_processing"
    assert call("POST", f"/api/v1/admin/snapshots/{uuid4()}/reprocess")[0] == 404


def test_ingest_needs_an_api_key_and_reprocess_an_admin(starforge, conn, capsys):
    status, body, _ = call("POST", "/api/v1/snapshots", snapshot_body(), {"X-API-Key": None})
    assert status == 401 and body["error"]["request_id"]
    assert snapshot_count(conn) == 0
    for argv in (["users", "create", "--username", "player"], ["keys", "create", "--username", "player"]):
        assert cli.main(argv) == 0
    player = {"X-API-Key": capsys.readouterr().out.strip().splitlines()[-1]}
    status, posted, _ = call("POST", "/api/v1/snapshots", snapshot_body(), player)
    assert status == 202  # any user's key may post
    status, body, _ = call("POST", f"/api/v1/admin/snapshots/{posted['snapshot_id']}/reprocess", headers=player)
    assert status == 403 and body["error"]["request_id"]
    assert call("POST", f"/api/v1/admin/snapshots/{posted['snapshot_id']}/reprocess",
                headers={"X-API-Key": None})[0] == 401


def ingest_in_threads(bodies: list[bytes]) -> tuple[list[int], list[threading.Thread]]:
    """Start one ingest per body, each in a thread of its own (and so on a connection of its own)."""
    answers: list[int] = []

    def post(body: bytes) -> None:
        try:
            answers.append(ingest.ingest(body).status)
        finally:
            db.reset()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    return answers, threads


def test_identical_posts_at_the_same_moment_store_one_snapshot(starforge, conn, conn_factory):
    body = snapshot_body(5).encode()
    content_hash = hashlib.sha256(db.jsonb_text(json.loads(body)["payload"]).encode()).hexdigest()
    with conn_factory() as holder:
        with holder.transaction():  # hold the content's lock until both posts wait for it
            holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (content_hash,))
            answers, threads = ingest_in_threads([body, body])
            wait_until_blocked(conn, 2, lock="advisory")
        for thread in threads:
            thread.join()
    assert sorted(answers) == [202, 409]
    assert snapshot_count(conn) == 1 and len(starforge()) == 1


def test_a_snapshot_of_a_namecode_another_post_is_creating_is_linked_to_its_user(starforge, conn, conn_factory):
    with conn_factory() as other_post:
        with other_post.transaction():
            user_id = other_post.execute("INSERT INTO starforge.users (namecode) VALUES (%s) RETURNING id",
                                         (namecode_for(6),)).fetchone()[0]
            answers, threads = ingest_in_threads([snapshot_body(6).encode()])
            wait_until_blocked(conn, thread=threads[0])
        threads[0].join()
    assert answers == [202]
    assert conn.execute("SELECT user_id FROM starforge.hero_snapshots").fetchone()[0] == user_id
