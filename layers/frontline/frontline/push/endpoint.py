"""Is a browser PushSubscription safe and well-formed? The SSRF guard of the push sender.

An endpoint must be ``https`` on port 443, without userinfo, at most 2048 characters, and its host must
resolve only to public addresses. The sender resolves it again right before each delivery page and
connects to the address it checked (``Target.address``), so a name that rebinds to a private address
after subscribing reaches nothing. ``PUSH_ALLOW_LOOPBACK_ENDPOINTS`` (local development only) also admits
``http`` and any port when every address is loopback: that is the local push service.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from frontline.push.settings import PushSettings

MAX_ENDPOINT_LENGTH = 2048
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidSubscription(ValueError):
    """A subscription we refuse; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Endpoint:
    url: str
    scheme: str
    host: str
    port: int

    @property
    def origin(self) -> str:
        default = {"https": 443, "http": 80}[self.scheme]
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{netloc}" + ("" if self.port == default else f":{self.port}")


@dataclass(frozen=True)
class Target:
    """Where to connect for an endpoint: its checked address, and the host name for TLS and Host."""

    scheme: str
    host: str
    port: int
    address: str


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the name resolves to (tests replace this function to simulate DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def parse_endpoint(url: str) -> Endpoint:
    """The syntax checks, which need no network."""
    if len(url) > MAX_ENDPOINT_LENGTH:
        raise InvalidSubscription("invalid_endpoint", f"endpoint is longer than {MAX_ENDPOINT_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise InvalidSubscription("invalid_endpoint", "endpoint must be printable ASCII without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidSubscription("invalid_endpoint", f"endpoint is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidSubscription("invalid_endpoint", "endpoint must be an https URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidSubscription("invalid_endpoint", "endpoint must not contain userinfo")
    if not parts.hostname:
        raise InvalidSubscription("invalid_endpoint", "endpoint has no host")
    host = parts.hostname.rstrip(".").lower()
    return Endpoint(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address.teredo:
            return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, multicast, reserved, shared or
    unspecified, in IPv4, IPv6, or an IPv4 address carried inside IPv6."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and not is_public(embedded):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in allowed)


def _resolve(endpoint: Endpoint) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve_host(endpoint.host, endpoint.port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise InvalidSubscription("unresolvable_endpoint", f"{endpoint.host} does not resolve: {exc}") from None


def resolve_target(endpoint: Endpoint, cfg: PushSettings) -> Target:
    """Resolve the endpoint's host and check every address (at subscribe time and before sending)."""
    if cfg.allowed_hosts and not _host_allowed(endpoint.host, cfg.allowed_hosts):
        raise InvalidSubscription("endpoint_not_allowed", f"{endpoint.host} is not an allowed push service")
    try:
        addresses = [ipaddress.ip_address(endpoint.host)]
    except ValueError:
        addresses = _resolve(endpoint)
    if not addresses:
        raise InvalidSubscription("unresolvable_endpoint", f"{endpoint.host} does not resolve")
    local = cfg.allow_loopback and all(a.is_loopback for a in addresses)
    if not local:
        blocked = [str(a) for a in addresses if not is_public(a)]
        if blocked:
            raise InvalidSubscription(
                "endpoint_not_public", f"{endpoint.host} resolves to a non-public address ({', '.join(blocked)})"
            )
        if endpoint.scheme != "https":
            raise InvalidSubscription("invalid_endpoint", "endpoint must be an https URL")
        if endpoint.port != 443:
            raise InvalidSubscription("invalid_endpoint", "endpoint must use port 443")
    return Target(endpoint.scheme, endpoint.host, endpoint.port, str(addresses[0]))


def b64url_decode(value: str, name: str) -> bytes:
    if not _BASE64URL.fullmatch(value):
        raise InvalidSubscription("invalid_keys", f"{name} is not base64url")
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except ValueError:
        raise InvalidSubscription("invalid_keys", f"{name} is not base64url") from None


def check_keys(p256dh: str, auth: str) -> None:
    """``p256dh``: an uncompressed P-256 point (65 bytes, on the curve); ``auth``: 16 bytes."""
    point = b64url_decode(p256dh, "keys.p256dh")
    if len(point) != 65 or point[0] != 0x04:
        raise InvalidSubscription("invalid_keys", "keys.p256dh must be a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidSubscription("invalid_keys", "keys.p256dh is not a point on the P-256 curve") from None
    if len(b64url_decode(auth, "keys.auth")) != 16:
        raise InvalidSubscription("invalid_keys", "keys.auth must be 16 bytes")
