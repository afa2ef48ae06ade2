"""Subscription validation and the SSRF guard (no network: the resolver is replaced)."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from frontline.push import endpoint
from frontline.push.endpoint import InvalidSubscription, check_keys, parse_endpoint, resolve_target
from frontline.push.settings import PushSettings, push_settings

PUBLIC = "93.184.215.14"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def p256dh() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64url(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


@pytest.fixture
def dns(monkeypatch):
    """Name → addresses; a name not listed resolves to a public address."""
    answers: dict[str, list[str]] = {}
    monkeypatch.setattr(endpoint, "resolve_host", lambda host, port: answers.get(host, [PUBLIC]))
    return answers


def check(url: str, cfg: PushSettings | None = None):
    return resolve_target(parse_endpoint(url), cfg or PushSettings())


def reason(url: str, cfg: PushSettings | None = None) -> InvalidSubscription:
    with pytest.raises(InvalidSubscription) as caught:
        check(url, cfg)
    return caught.value


def test_a_public_https_endpoint_is_accepted_and_pinned_to_its_checked_address(dns):
    target = check("https://fcm.googleapis.com/fcm/send/abc:def")
    assert (target.scheme, target.host, target.port, target.address) == ("https", "fcm.googleapis.com", 443, PUBLIC)


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [
        ("http://push.example.com/x", "invalid_endpoint", "https"),
        ("https://push.example.com:8443/x", "invalid_endpoint", "port 443"),
        ("https://user:pw@push.example.com/x", "invalid_endpoint", "userinfo"),
        ("https://push.example.com@evil.example/x", "invalid_endpoint", "userinfo"),
        ("https://push.example.com/" + "a" * 2030, "invalid_endpoint", "2048"),
        ("ftp://push.example.com/x", "invalid_endpoint", "https"),
        ("https://push.example.com/a b", "invalid_endpoint", "spaces"),
        ("https://10.1.2.3/x", "endpoint_not_public", "10.1.2.3"),
        ("https://192.168.0.1/x", "endpoint_not_public", "192.168.0.1"),
        ("https://127.0.0.1/x", "endpoint_not_public", "127.0.0.1"),
        ("https://[::1]/x", "endpoint_not_public", "::1"),
        ("https://169.254.169.254/latest/meta-data", "endpoint_not_public", "169.254.169.254"),
        ("https://[fe80::1]/x", "endpoint_not_public", "fe80::1"),
        ("https://[fc00::1]/x", "endpoint_not_public", "fc00::1"),
        ("https://[::ffff:10.0.0.1]/x", "endpoint_not_public", "::ffff:a00:1"),
        ("https://224.0.0.1/x", "endpoint_not_public", "224.0.0.1"),
        ("https://100.64.0.1/x", "endpoint_not_public", "100.64.0.1"),
        ("https://0.0.0.0/x", "endpoint_not_public", "0.0.0.0"),
        ("https://240.0.0.1/x", "endpoint_not_public", "240.0.0.1"),
    ],
)
def test_unsafe_endpoints_are_refused_with_the_reason(dns, url, code, words):
    error = reason(url)
    assert error.code == code and words in error.message


def test_a_name_that_resolves_to_a_private_address_is_refused(dns):
    dns["push.attacker.example"] = ["10.0.0.5"]
    dns["mixed.attacker.example"] = [PUBLIC, "fd00::7"]
    assert "10.0.0.5" in reason("https://push.attacker.example/x").message
    assert "fd00::7" in reason("https://mixed.attacker.example/x").message  # every address must be public


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    def fail(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(endpoint, "resolve_host", fail)
    assert reason("https://nowhere.invalid/x").code == "unresolvable_endpoint"


def test_loopback_endpoints_are_refused_unless_local_development_allows_them(dns, monkeypatch):
    monkeypatch.delenv("PUSH_ALLOW_LOOPBACK_ENDPOINTS", raising=False)
    assert push_settings().allow_loopback is False  # off by default
    assert reason("http://127.0.0.1:8123/push/t").code == "endpoint_not_public"

    monkeypatch.setenv("PUSH_ALLOW_LOOPBACK_ENDPOINTS", "true")
    local = push_settings()
    assert check("http://127.0.0.1:8123/push/t", local).address == "127.0.0.1"
    dns["localhost"] = ["127.0.0.1", "::1"]
    assert check("http://localhost:8123/push/t", local).port == 8123
    # Only loopback is relaxed: private addresses and plain http to public hosts stay refused.
    assert reason("http://10.0.0.1:8123/push/t", local).code == "endpoint_not_public"
    assert reason("http://push.example.com/x", local).code == "invalid_endpoint"


def test_the_host_allowlist_is_off_by_default_and_matches_exact_names_and_suffixes(dns):
    assert PushSettings().allowed_hosts == ()
    check("https://anything.example.net/x")
    cfg = PushSettings(PUSH_ALLOWED_HOSTS="fcm.googleapis.com, *.push.apple.com")
    check("https://fcm.googleapis.com/x", cfg)
    check("https://web.push.apple.com/x", cfg)
    assert reason("https://push.apple.com.evil.example/x", cfg).code == "endpoint_not_allowed"
    assert reason("https://evilpush.apple.com/x", cfg).code == "endpoint_not_allowed"


def test_valid_keys_pass():
    check_keys(p256dh(), b64url(b"\x01" * 16))
    check_keys(p256dh() + "=", b64url(b"\x01" * 16) + "==")  # padded base64url is fine too


@pytest.mark.parametrize(
    ("key", "auth", "words"),
    [
        (lambda: p256dh()[:-4], lambda: b64url(b"a" * 16), "65-byte"),
        (lambda: b64url(b"\x04" + b"\x01" * 64), lambda: b64url(b"a" * 16), "not a point"),
        (lambda: b64url(b"\x02" + b"\x01" * 64), lambda: b64url(b"a" * 16), "uncompressed"),
        (lambda: "+" + p256dh()[1:], lambda: b64url(b"a" * 16), "base64url"),
        (lambda: "!!" + p256dh(), lambda: b64url(b"a" * 16), "base64url"),
        (p256dh, lambda: b64url(b"a" * 15), "16 bytes"),
        (p256dh, lambda: b64url(b"a" * 17), "16 bytes"),
        (p256dh, lambda: "a/b+", "base64url"),
    ],
)
def test_bad_keys_are_refused_with_the_reason(key, auth, words):
    with pytest.raises(InvalidSubscription) as caught:
        check_keys(key(), auth())
    assert caught.value.code == "invalid_keys" and words in caught.value.message
