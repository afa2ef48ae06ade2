"""The notification endpoints, through the handler Lambda runs, against the real database."""

import json
import os

import pytest

from frontline.local import invoke, template
from frontline.local.events import http_api_event
from frontline.push import endpoint, vapid
from tests.conftest import PROJECT_ROOT
from tests.unit.test_push_endpoint import b64url, p256dh

VAPID_KEY = vapid.generate_private_key()
FUNCTION = template.read(PROJECT_ROOT / "template.yaml").functions["NotificationsFunction"]


@pytest.fixture
def browser(monkeypatch, database):
    """A browser's PushSubscription JSON; its push service's name resolves to a public address."""
    monkeypatch.setattr(endpoint, "resolve_host", lambda host, port: ["93.184.215.14"])
    return {"endpoint": "https://push.example.net/wpush/v2/abc", "expirationTime": None,
            "keys": {"p256dh": p256dh(), "auth": b64url(os.urandom(16))}}


def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    event = http_api_event(method=method, raw_path=path, raw_query="", headers={"content-type": "application/json"},
                           body=json.dumps(body).encode() if body is not None else b"", route_key=f"{method} {path}",
                           path_parameters={})
    response = invoke.invoke(FUNCTION, event)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}


def stored(conn):
    return conn.execute("SELECT endpoint, keys_p256dh, keys_auth, factions, kinds FROM push_subscription").fetchall()


def test_subscribe_upserts_with_topic_filters(conn, browser):
    status, body = call("POST", "/api/notifications/subscribe", browser)
    assert status == 201 and body["factions"] is None and body["kinds"] is None

    status, again = call("POST", "/api/notifications/subscribe",
                         {**browser, "factions": ["illuminate", 0, "bugs"], "kinds": ["won", "lost", "won"]})
    assert status == 200 and again["id"] == body["id"]
    assert again["factions"] == [0, 2] and again["kinds"] == ["lost", "won"]
    assert stored(conn) == [(browser["endpoint"], browser["keys"]["p256dh"], browser["keys"]["auth"], [0, 2],
                             ["lost", "won"])]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"endpoint": "http://push.example.net/x"}, "invalid_endpoint"),
        ({"endpoint": "https://10.0.0.1/x"}, "endpoint_not_public"),
        ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "invalid_keys"),
        ({"kinds": ["exploded"]}, "invalid_request"),
        ({"factions": ["squids"]}, "invalid_request"),
        ({"keys": None}, "invalid_request"),
    ],
)
def test_a_bad_subscription_gets_400_with_the_reason_and_stores_nothing(conn, browser, change, code):
    status, body = call("POST", "/api/notifications/subscribe", {**browser, **change})
    assert status == 400 and body["error"]["code"] == code and body["error"]["message"]
    assert stored(conn) == []


def test_a_body_that_is_not_json_is_400_invalid_json(conn):
    event = http_api_event(method="POST", raw_path="/api/notifications/subscribe", raw_query="",
                           headers={"content-type": "application/json"}, body=b'{"endpoint": ',
                           route_key="POST /api/notifications/subscribe", path_parameters={})
    response = invoke.invoke(FUNCTION, event)
    error = json.loads(response["body"])["error"]
    assert response["statusCode"] == 400 and error["code"] == "invalid_json" and error["request_id"]
    assert stored(conn) == []


def test_a_name_resolving_to_a_private_address_is_refused_at_subscribe(conn, browser, monkeypatch):
    monkeypatch.setattr(endpoint, "resolve_host", lambda host, port: ["192.168.1.20"])
    status, body = call("POST", "/api/notifications/subscribe", browser)
    assert status == 400 and body["error"]["code"] == "endpoint_not_public"
    assert "192.168.1.20" in body["error"]["message"] and stored(conn) == []


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/api/notifications/subscribe"),
                                              ("POST", "/api/notifications/unsubscribe")])
def test_unsubscribe_removes_the_subscription(conn, browser, method, path):
    call("POST", "/api/notifications/subscribe", browser)
    assert call(method, path, {"endpoint": browser["endpoint"]}) == (200, {"deleted": True})
    assert stored(conn) == []
    assert call(method, path, {"endpoint": browser["endpoint"]}) == (200, {"deleted": False})


def test_the_vapid_public_key_is_the_configured_key(monkeypatch, database):
    monkeypatch.setenv("VAPID_PRIVATE_KEY", VAPID_KEY)
    status, body = call("GET", "/api/notifications/vapid-public-key")
    assert status == 200 and body == {"publicKey": vapid.public_key()}
    assert len(endpoint.b64url_decode(body["publicKey"], "key")) == 65

    monkeypatch.delenv("VAPID_PRIVATE_KEY")
    status, body = call("GET", "/api/notifications/vapid-public-key")
    assert status == 503 and body["error"]["code"] == "push_not_configured"
