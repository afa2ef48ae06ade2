"""The push chain against the real database and the local push service: relay → SQS (moto) → fan-out →
Web Push (VAPID checked, payload decrypted), exactly once, with cleanup and retries."""

import json

import boto3
import pytest
from moto import mock_aws

from frontline.local import events, invoke, template
from frontline.push import endpoint, fanout, relay, sender, subscriptions, vapid
from frontline.push.fanout import FanoutIncomplete
from frontline.push.local_service import LocalPushService
from frontline.push.notification import Notification
from frontline.push.settings import PushSettings
from tests.conftest import PROJECT_ROOT

EVENT = {"type": "defend", "event_id": 4242, "region": 3, "enemy": 1, "points": 90, "points_max": 100,
         "status": "active"}
VAPID_KEY = vapid.generate_private_key()


@pytest.fixture
def push_service(monkeypatch):
    monkeypatch.setenv("VAPID_PRIVATE_KEY", VAPID_KEY)
    monkeypatch.setenv("PUSH_ALLOW_LOOPBACK_ENDPOINTS", "true")
    service = LocalPushService().start()
    yield service
    service.stop()


@pytest.fixture
def queue(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("sqs")
        url = client.create_queue(QueueName="push")["QueueUrl"]
        monkeypatch.setenv("PUSH_QUEUE_URL", url)
        monkeypatch.setattr("frontline.queues._sqs", lambda: client)

        def receive_all() -> list[str]:
            bodies = []
            while batch := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                bodies += [m["Body"] for m in batch]
                client.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
            return bodies

        yield receive_all


def subscribe(conn, service, factions=None, kinds=None) -> dict:
    subscription = service.subscribe(vapid.public_key())
    conn.execute(
        "INSERT INTO push_subscription (endpoint, keys_p256dh, keys_auth, factions, kinds) VALUES (%s, %s, %s, %s, %s)",
        (subscription["endpoint"], subscription["keys"]["p256dh"], subscription["keys"]["auth"], factions, kinds),
    )
    return subscription


def add_transition(conn, key: str, kind: str = "started", enemy: int | None = 1, payload: dict = EVENT) -> int:
    return conn.execute(
        "INSERT INTO push_outbox (dedupe_key, kind, season, enemy, payload) VALUES (%s, %s, 7, %s, %s) RETURNING id",
        (key, kind, enemy, json.dumps(payload)),
    ).fetchone()[0]


def received(service, subscription) -> list[dict]:
    return [json.loads(p) for p in service.received(subscription["endpoint"])]


def test_the_payload_the_push_service_decrypts_is_the_one_sent(conn, push_service, queue):
    subscriber = subscribe(conn, push_service)
    add_transition(conn, "defend:4242:started")

    assert relay.relay_outbox(conn) == 1
    [body] = queue()
    assert fanout.deliver(body, conn)["delivered"] == 1

    [got] = received(push_service, subscriber)
    assert Notification.model_validate(got) == Notification(
        title="The Cyborgs attack region 3", body="Defend region 3 against the Cyborgs.", url="/",
        tag="h1-defend-4242")
    [message] = push_service.subscription(subscriber["endpoint"]).received
    assert message.ttl == 21600 and message.topic == "h1-defend-4242"
    assert conn.execute("SELECT count(*) FROM push_outbox WHERE relayed_at IS NULL").fetchone()[0] == 0


def test_topic_filters_choose_the_recipients(conn, push_service, queue):
    everything = subscribe(conn, push_service)
    cyborgs_only = subscribe(conn, push_service, factions=[1])
    bugs_only = subscribe(conn, push_service, factions=[0])
    seasons_only = subscribe(conn, push_service, kinds=["season_started", "season_ended"])
    add_transition(conn, "defend:4242:started")
    add_transition(conn, "season:8:started", kind="season_started", enemy=None, payload={"season": 8})
    relay.relay_outbox(conn)
    for body in queue():
        fanout.deliver(body, conn)

    tags = {name: [m["tag"] for m in received(push_service, s)] for name, s in
            {"everything": everything, "cyborgs": cyborgs_only, "bugs": bugs_only, "seasons": seasons_only}.items()}
    assert tags == {"everything": ["h1-defend-4242", "h1-season-7"], "cyborgs": ["h1-defend-4242", "h1-season-7"],
                    "bugs": ["h1-season-7"], "seasons": ["h1-season-7"]}


def test_a_relay_that_fails_after_the_commit_loses_nothing_and_duplicates_nothing(conn, push_service, queue,
                                                                                  monkeypatch):
    subscribers = [subscribe(conn, push_service) for _ in range(3)]
    add_transition(conn, "defend:4242:started")  # committed by "the ingest"
    add_transition(conn, "defend:4242:won", kind="won", payload={**EVENT, "status": "success"})

    real_send = relay._send

    def send_then_die(queue_url, rows):
        real_send(queue_url, rows)
        raise ConnectionError("the Lambda died before stamping relayed_at")

    monkeypatch.setattr(relay, "_send", send_then_die)
    with pytest.raises(ConnectionError):
        relay.relay_outbox(conn)
    assert conn.execute("SELECT count(*) FROM push_outbox WHERE relayed_at IS NULL").fetchone()[0] == 2

    monkeypatch.setattr(relay, "_send", real_send)
    assert relay.relay_outbox(conn) == 2  # the next poll relays both again
    assert relay.relay_outbox(conn) == 0
    bodies = queue()
    assert len(bodies) == 4  # each transition is in the queue twice
    for body in bodies:
        fanout.deliver(body, conn)

    for subscriber in subscribers:
        assert [m["title"] for m in received(push_service, subscriber)] == [
            "The Cyborgs attack region 3", "Region 3 held"]


def test_a_copy_received_while_another_is_sending_sends_nothing_and_comes_back(conn, push_service, conn_factory,
                                                                              monkeypatch):
    subscriber = subscribe(conn, push_service)
    outbox_id = add_transition(conn, "defend:4242:started")
    body = json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 7, "enemy": 1, "payload": EVENT})
    first_page = subscriptions.pending_page

    def a_copy_arrives(*args):  # while the first receipt sends its first page
        if not hasattr(a_copy_arrives, "raised"):
            with conn_factory() as other_consumer, pytest.raises(FanoutIncomplete, match="another receipt") as raised:
                fanout.deliver(body, other_consumer)
            a_copy_arrives.raised = raised
        return first_page(*args)

    monkeypatch.setattr(subscriptions, "pending_page", a_copy_arrives)
    assert fanout.deliver(body, conn)["delivered"] == 1
    assert a_copy_arrives.raised and len(received(push_service, subscriber)) == 1
    monkeypatch.setattr(subscriptions, "pending_page", first_page)
    assert fanout.deliver(body, conn)["delivered"] == 0  # the copy, back later: nothing left, lease free
    # A consumer that died while sending: its lease lapses on its own, before SQS brings the message back.
    conn.execute("UPDATE push_dispatch SET sending_until = now() - interval '1 second'")
    assert fanout.deliver(body, conn)["delivered"] == 0
    timeout = template.read(PROJECT_ROOT / "template.yaml").functions["PushFunction"].timeout
    assert timeout < subscriptions.SENDING_LEASE_SECONDS


def test_a_gone_subscription_is_deleted_and_the_others_still_get_the_message(conn, push_service):
    kept, gone = subscribe(conn, push_service), subscribe(conn, push_service)
    push_service.answer_with(gone["endpoint"], 410)
    outbox_id = add_transition(conn, "defend:4242:started")

    counts = fanout.deliver(json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 7, "enemy": 1,
                                        "payload": EVENT}), conn)

    assert (counts["delivered"], counts["gone"]) == (1, 1)
    assert [r[0] for r in conn.execute("SELECT endpoint FROM push_subscription")] == [kept["endpoint"]]
    assert len(received(push_service, kept)) == 1


def test_429_and_5xx_are_retried_later_for_those_subscriptions_only(conn, push_service):
    fine, busy, broken = (subscribe(conn, push_service) for _ in range(3))
    push_service.answer_with(busy["endpoint"], 429)
    push_service.answer_with(broken["endpoint"], 503)
    outbox_id = add_transition(conn, "defend:4242:started")
    body = json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 7, "enemy": 1, "payload": EVENT})

    with pytest.raises(FanoutIncomplete):
        fanout.deliver(body, conn)  # the SQS message fails and comes back after its visibility timeout
    assert conn.execute("SELECT count(*), min(attempts), max(last_status) FROM push_delivery").fetchone() == (2, 1, 503)

    push_service.answer_with(busy["endpoint"], None)
    push_service.answer_with(broken["endpoint"], None)
    assert fanout.deliver(body, conn)["delivered"] == 2
    assert [len(received(push_service, s)) for s in (fine, busy, broken)] == [1, 1, 1]
    assert conn.execute("SELECT finished_at IS NOT NULL FROM push_dispatch").fetchone()[0]


def test_deliveries_that_keep_failing_are_given_up_after_max_attempts(conn, push_service, monkeypatch):
    monkeypatch.setenv("PUSH_MAX_ATTEMPTS", "2")
    busy = subscribe(conn, push_service)
    push_service.answer_with(busy["endpoint"], 500)
    outbox_id = add_transition(conn, "defend:4242:started")
    body = json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 7, "enemy": 1, "payload": EVENT})

    with pytest.raises(FanoutIncomplete):
        fanout.deliver(body, conn)
    assert fanout.deliver(body, conn)["abandoned"] == 1
    assert conn.execute("SELECT count(*) FROM push_delivery").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM push_subscription").fetchone()[0] == 1


def test_a_name_rebound_to_a_private_address_after_subscribing_is_never_contacted(conn, push_service, monkeypatch):
    answers = {"push.example.net": ["93.184.215.14"]}
    monkeypatch.setattr(endpoint, "resolve_host", lambda host, port: answers[host])
    monkeypatch.delenv("PUSH_ALLOW_LOOPBACK_ENDPOINTS")
    honest = push_service.subscribe()
    conn.execute(
        "INSERT INTO push_subscription (endpoint, keys_p256dh, keys_auth) VALUES (%s, %s, %s)",
        ("https://push.example.net/sub/1", honest["keys"]["p256dh"], honest["keys"]["auth"]),
    )
    endpoint.resolve_target(endpoint.parse_endpoint("https://push.example.net/sub/1"), PushSettings())

    answers["push.example.net"] = ["10.0.0.7"]  # the attacker's DNS now points at the internal network
    pools = []
    monkeypatch.setattr(sender, "_pool", lambda target, cfg: pools.append(target))
    outbox_id = add_transition(conn, "defend:4242:started")
    counts = fanout.deliver(json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 7, "enemy": 1,
                                        "payload": EVENT}), conn)

    assert counts == {"blocked": 1, "abandoned": 0} and pools == []


def test_the_push_service_refuses_a_request_signed_with_another_vapid_key(conn, push_service, monkeypatch):
    subscriber = subscribe(conn, push_service)  # made for VAPID_KEY
    monkeypatch.setenv("VAPID_PRIVATE_KEY", vapid.generate_private_key())
    outbox_id = add_transition(conn, "defend:4242:started")
    counts = fanout.deliver(json.dumps({"outbox_id": outbox_id, "kind": "started", "season": 7, "enemy": 1,
                                        "payload": EVENT}), conn)
    assert counts["rejected"] == 1 and received(push_service, subscriber) == []


def test_the_push_lambda_fails_only_the_bad_records_and_counts_rejections_in_metrics(conn, push_service, monkeypatch,
                                                                                      capsys):
    function = template.read(PROJECT_ROOT / "template.yaml").functions["PushFunction"]
    monkeypatch.setattr(fanout.metrics, "namespace", "FrontlineTest")
    fanout.metrics.clear_metrics()
    refusing = subscribe(conn, push_service)
    push_service.answer_with(refusing["endpoint"], 403)
    outbox_id = add_transition(conn, "season:9:ended", kind="season_ended", enemy=None, payload={"season": 9})
    good = json.dumps({"outbox_id": outbox_id, "kind": "season_ended", "season": 9, "payload": {"season": 9}})
    event = {"Records": [events.sqs_record("PushQueue", "good", good, 1),
                         events.sqs_record("PushQueue", "bad", '{"outbox_id": "x"}', 1)]}

    assert invoke.invoke(function, event) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert conn.execute("SELECT finished_at IS NOT NULL FROM push_dispatch").fetchone() == (True,)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(record.get("PushRejected") == [1.0] or record.get("PushRejected") == 1.0 for record in emf), emf
