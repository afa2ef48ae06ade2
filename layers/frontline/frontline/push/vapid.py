"""The application server's VAPID key: from ``VAPID_PRIVATE_KEY`` (local development) or from the Secrets
Manager secret ``VAPID_SECRET_ARN`` (powertools parameters, cached 5 minutes). The secret holds the raw
private key in base64url (32 bytes, what ``web-push generate-vapid-keys`` prints) or its DER form."""

from __future__ import annotations

import threading
import time
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from py_vapid.utils import b64urlencode

from frontline.push.settings import push_settings

# A JWT lives 12 hours (RFC 8292 allows 24) and is re-signed an hour before it expires.
TOKEN_LIFETIME_SECONDS = 12 * 3600
TOKEN_RENEWAL_SECONDS = 3600


class VapidNotConfigured(RuntimeError):
    pass


def _private_key_text() -> str:
    cfg = push_settings()
    if cfg.vapid_private_key:
        return cfg.vapid_private_key
    if cfg.vapid_secret_arn:
        from aws_lambda_powertools.utilities import parameters

        return parameters.get_secret(cfg.vapid_secret_arn, max_age=300).strip()
    raise VapidNotConfigured("set VAPID_PRIVATE_KEY (local) or VAPID_SECRET_ARN (AWS)")


@lru_cache(maxsize=2)
def _vapid(private_key_text: str) -> Vapid:
    return Vapid.from_string(private_key_text)


def application_key() -> Vapid:
    return _vapid(_private_key_text())


def public_key() -> str:
    """The application server key a browser passes to ``pushManager.subscribe`` (base64url, 65 bytes)."""
    key = application_key().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64urlencode(key)


def generate_private_key() -> str:
    """A new raw private key in base64url (the format VAPID_PRIVATE_KEY and the secret hold)."""
    vapid = Vapid()
    vapid.generate_keys()
    return b64urlencode(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))


_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def authorization(audience: str) -> str:
    """The ``Authorization`` header for one push service origin, signed once and reused until renewal."""
    key_text, subject = _private_key_text(), push_settings().vapid_subject
    now = time.time()
    with _tokens_lock:
        cached = _tokens.get((audience, key_text, subject))
        if cached and cached[1] - TOKEN_RENEWAL_SECONDS > now:
            return cached[0]
        expires = int(now) + TOKEN_LIFETIME_SECONDS
        header = _vapid(key_text).sign({"aud": audience, "sub": subject, "exp": expires})["Authorization"]
        _tokens[(audience, key_text, subject)] = (header, expires)
        return header
