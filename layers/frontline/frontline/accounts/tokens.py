"""Random secrets and their one-way digests: API keys, session tokens, OAuth state and PKCE."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "fl_"
_KEY_BYTES = 32  # 256 random bits; the seed asks for at least 128


@dataclass(frozen=True)
class NewApiKey:
    plaintext: str  # shown once, never stored
    hash: str
    visible: str


def digest(secret: str) -> str:
    """SHA-256, hex: how API keys and session tokens are stored and looked up. The secrets are random
    and long, so a fast unsalted hash is enough; nobody can guess their way to a preimage."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> NewApiKey:
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)
    return NewApiKey(plaintext=plaintext, hash=digest(plaintext), visible=plaintext[-4:])


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_oauth_state() -> str:
    return secrets.token_urlsafe(32)


def new_pkce_verifier() -> str:
    return secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
