"""A Web Push service on loopback, for ``frontline dev``, the tests and the benchmark.

It plays both ends a real push service connects: it hands out subscriptions (like a browser's
``pushManager.subscribe``, keeping the subscriber's private key and auth secret) and accepts Web Push
requests for them (RFC 8030), checking the VAPID JWT (RFC 8292: signature, ``aud``, ``exp``, ``sub``,
and the application server key the subscription was made for) and decrypting the ``aes128gcm`` body
(RFC 8291). What it received can be read back, and a subscription can be made to answer with any status
(410 to test cleanup, 429 or 503 to test retries).

HTTP API (all JSON):
- ``POST /subscriptions`` ``{"applicationServerKey": "..."}`` (optional) → 201, a PushSubscription JSON
- ``GET /subscriptions/<token>/messages`` → the decrypted payloads received, oldest first
- ``PUT /subscriptions/<token>/status`` ``{"status": 410}`` → later pushes get that status
- ``POST /push/<token>`` → the Web Push endpoint
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
from aws_lambda_powertools import Logger
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt
from py_vapid.utils import b64urlencode

from frontline.push import vapid

log = Logger(child=True)
MAX_JWT_LIFETIME_SECONDS = 24 * 3600


@dataclass
class Received:
    payload: bytes
    ttl: int
    topic: str | None
    urgency: str | None


@dataclass
class LocalSubscription:
    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None
    forced_status: int | None = None
    received: list[Received] = field(default_factory=list)

    def public_key(self) -> str:
        return b64urlencode(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


class PushRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LocalPushService:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the local push service listens on loopback only")
        self.subscriptions: dict[str, LocalSubscription] = {}
        self._lock = threading.Lock()
        self._verified: dict[tuple[str, str], dict] = {}
        self.httpd = _Server((host, port), _handler_for(self))
        self.origin = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> "LocalPushService":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="local-push", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def subscribe(self, application_server_key: str | None = None) -> dict:
        """A new subscription, as ``PushSubscription.toJSON()`` gives it to the page."""
        subscription = LocalSubscription(uuid.uuid4().hex, ec.generate_private_key(ec.SECP256R1()),
                                         secrets.token_bytes(16), application_server_key)
        with self._lock:
            self.subscriptions[subscription.token] = subscription
        return {"endpoint": f"{self.origin}/push/{subscription.token}", "expirationTime": None,
                "keys": {"p256dh": subscription.public_key(), "auth": b64urlencode(subscription.auth)}}

    def subscription(self, endpoint_or_token: str) -> LocalSubscription:
        return self.subscriptions[endpoint_or_token.rsplit("/", 1)[-1]]

    def received(self, endpoint_or_token: str) -> list[bytes]:
        return [r.payload for r in self.subscription(endpoint_or_token).received]

    def answer_with(self, endpoint_or_token: str, status: int | None) -> None:
        self.subscription(endpoint_or_token).forced_status = status

    def _claims(self, authorization: str) -> tuple[dict, str]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise PushRejected(HTTPStatus.UNAUTHORIZED, "Authorization must use the vapid scheme")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t"), parts.get("k")
        if not token or not key:
            raise PushRejected(HTTPStatus.UNAUTHORIZED, "vapid authorization needs t and k")
        claims = self._verified.get((token, key))
        if claims is None:
            try:
                claims = jwt.decode(token, key)
            except InvalidSignature:
                raise PushRejected(HTTPStatus.UNAUTHORIZED, "VAPID JWT signature does not verify") from None
            self._verified[(token, key)] = claims
        now = time.time()
        if claims.get("aud") != self.origin:
            raise PushRejected(HTTPStatus.FORBIDDEN, f"JWT aud must be {self.origin}")
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + MAX_JWT_LIFETIME_SECONDS:
            raise PushRejected(HTTPStatus.FORBIDDEN, "JWT exp must be within the next 24 hours")
        if not claims.get("sub"):
            raise PushRejected(HTTPStatus.FORBIDDEN, "JWT sub is missing")
        return claims, key

    def accept(self, token: str, headers, body: bytes) -> None:
        """Check and decrypt one Web Push request; raise PushRejected with the status to answer."""
        subscription = self.subscriptions.get(token)
        if subscription is None:
            raise PushRejected(HTTPStatus.NOT_FOUND, "no such subscription")
        if subscription.forced_status:
            raise PushRejected(subscription.forced_status, "status forced for this subscription")
        _, key = self._claims(headers.get("Authorization", ""))
        if subscription.application_server_key and key != subscription.application_server_key:
            raise PushRejected(HTTPStatus.FORBIDDEN, "VAPID key is not the one the subscription was made for")
        if headers.get("TTL") is None or not headers["TTL"].isdigit():
            raise PushRejected(HTTPStatus.BAD_REQUEST, "TTL header is required")
        if headers.get("Content-Encoding") != "aes128gcm":
            raise PushRejected(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Encoding must be aes128gcm")
        try:
            payload = http_ece.decrypt(body, private_key=subscription.private_key, auth_secret=subscription.auth,
                                       version="aes128gcm")
        except Exception as exc:
            raise PushRejected(HTTPStatus.BAD_REQUEST, f"payload does not decrypt: {exc}") from None
        subscription.received.append(Received(payload, int(headers["TTL"]), headers.get("Topic"),
                                              headers.get("Urgency")))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 refuses connections when a fan-out opens dozens


def _handler_for(service: LocalPushService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
            pass

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/subscriptions":
                options = json.loads(body or b"{}")
                self._answer(HTTPStatus.CREATED, service.subscribe(options.get("applicationServerKey")))
            elif self.path.startswith("/push/"):
                try:
                    service.accept(self.path.removeprefix("/push/"), self.headers, body)
                except PushRejected as exc:
                    self._answer(exc.status, {"reason": exc.reason})
                else:
                    self._answer(HTTPStatus.CREATED, headers={"Location": f"{service.origin}/m/{uuid.uuid4().hex}"})
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"reason": "no such path"})

        def do_GET(self) -> None:
            token = self.path.removeprefix("/subscriptions/").removesuffix("/messages")
            if self.path.endswith("/messages") and token in service.subscriptions:
                self._answer(HTTPStatus.OK, [p.decode("utf-8", "replace") for p in service.received(token)])
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"reason": "no such subscription"})

        def do_PUT(self) -> None:
            body = self._body()
            token = self.path.removeprefix("/subscriptions/").removesuffix("/status")
            if self.path.endswith("/status") and token in service.subscriptions:
                service.answer_with(token, json.loads(body).get("status"))
                self._answer(HTTPStatus.NO_CONTENT)
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"reason": "no such subscription"})

    return Handler


def start_for_dev(state_dir: Path) -> tuple[LocalPushService, dict[str, str]]:
    """Start the service for ``frontline dev``; return it and the environment the push code needs:
    the VAPID key kept in the state folder (made on first start), loopback endpoints allowed, and
    the service's own address (``LOCAL_PUSH_SERVICE_URL``) for whoever wants a subscription."""
    key_file = state_dir / "vapid_private_key"
    if not key_file.exists():
        key_file.write_text(vapid.generate_private_key())
        os.chmod(key_file, 0o600)
    service = LocalPushService().start()
    log.info(f"local push service at {service.origin} (POST {service.origin}/subscriptions for a subscription)")
    return service, {"VAPID_PRIVATE_KEY": key_file.read_text().strip(), "PUSH_ALLOW_LOOPBACK_ENDPOINTS": "true",
                     "LOCAL_PUSH_SERVICE_URL": service.origin}
