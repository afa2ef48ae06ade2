"""The whole push chain inside the local runtime: HTTP subscribe → outbox → relay → in-process SQS →
PushFunction (as template.yaml declares it) → the local push service."""

import json
import os
import time
import urllib.request

import pytest

from frontline.local.dev import DevOptions, DevRuntime
from frontline.push import relay
from tests.conftest import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"


def http(method: str, url: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture
def dev(database, tmp_path):
    environment = dict(os.environ)
    runtime = DevRuntime(DevOptions(template_path=TEMPLATE, state_dir=tmp_path, port=0, schedules=False))
    runtime.start()
    yield runtime
    runtime.stop()
    os.environ.clear()
    os.environ.update(environment)


def test_frontline_dev_delivers_a_transition_to_a_subscriber(dev, conn, tmp_path, monkeypatch):
    key = (tmp_path / "vapid_private_key").read_text()
    push_service = os.environ["LOCAL_PUSH_SERVICE_URL"]
    public_key = http("GET", f"{dev.url}/api/notifications/vapid-public-key")["publicKey"]
    subscription = http("POST", f"{push_service}/subscriptions", {"applicationServerKey": public_key})
    http("POST", f"{dev.url}/api/notifications/subscribe", subscription)

    conn.execute("INSERT INTO push_outbox (dedupe_key, kind, season, payload) VALUES ('season:9:started', "
                 "'season_started', 9, '{\"season\": 9}')")
    monkeypatch.setenv("PUSH_QUEUE_URL", "local://queue/PushQueue")
    assert relay.relay_outbox(conn) == 1

    messages_url = subscription["endpoint"].replace("/push/", "/subscriptions/") + "/messages"
    deadline = time.monotonic() + 10
    while not (messages := http("GET", messages_url)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [json.loads(m)["title"] for m in messages] == ["Galactic War 9 has begun"]
    assert os.environ["VAPID_PRIVATE_KEY"] == key  # generated on first start, kept in the state folder

