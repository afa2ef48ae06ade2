"""OAuth 2.0 sign-in with Discord and GitHub: authorization code flow with ``state`` and PKCE (S256).

Login stores the state (``Verification.identifier``) with the PKCE verifier and sets the same state in a
short-lived cookie, so a callback completes only in the browser that started it. The callback consumes
the state once, exchanges the code (with the verifier) at the provider's token endpoint, reads the
provider's user, upserts User and Account, and opens a Session. Client ids and secrets come from the
Secrets Manager secret ``OAUTH_SECRET_ARN`` (powertools parameters, cached 5 minutes); endpoints are
configurable (``OAUTH_<PROVIDER>_<AUTHORIZE|TOKEN|USER>_URL``), which is how the tests use a fake
provider on loopback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import urllib3
from pydantic import BaseModel, ValidationError

from frontline import db
from frontline.accounts import store, tokens
from frontline.accounts.settings import account_settings
from frontline.web import ApiError

PROVIDERS = ("discord", "github")
SCOPES = {"discord": "identify email", "github": "read:user user:email"}
STATE_TTL = timedelta(minutes=10)
_USER_AGENT = "frontline (+https://github.com/frontline)"
_http = urllib3.PoolManager()


# --- upstream payloads -----------------------------------------------------------------------------

class OAuthClient(BaseModel):
    client_id: str
    client_secret: str


class OAuthClients(BaseModel):
    """The OAUTH_SECRET_ARN secret: ``{"discord": {"client_id", "client_secret"}, "github": {...}}``."""
    discord: OAuthClient | None = None
    github: OAuthClient | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    scope: str | None = None


class DiscordUser(BaseModel):
    id: str
    username: str
    global_name: str | None = None
    email: str | None = None
    verified: bool = False
    avatar: str | None = None

    def profile(self) -> dict[str, Any]:
        image = f"https://cdn.discordapp.com/avatars/{self.id}/{self.avatar}.png" if self.avatar else None
        return {"account_id": self.id, "username": self.username, "name": self.global_name or self.username,
                "email": self.email, "email_verified": bool(self.email and self.verified), "image": image}


class GitHubUser(BaseModel):
    id: int
    login: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None

    def profile(self) -> dict[str, Any]:
        # GitHub's public profile email is not a verified one.
        return {"account_id": str(self.id), "username": self.login, "name": self.name or self.login,
                "email": self.email, "email_verified": False, "image": self.avatar_url}


USER_MODELS: dict[str, type[DiscordUser] | type[GitHubUser]] = {"discord": DiscordUser, "github": GitHubUser}


# --- the flow ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginStart:
    location: str
    state: str


@dataclass(frozen=True)
class SignedIn:
    session_token: str
    expires_at: datetime
    return_to: str


def check_provider(name: str) -> str:
    if name not in PROVIDERS:
        raise ApiError(HTTPStatus.NOT_FOUND, "unknown_provider", f"sign-in supports {', '.join(PROVIDERS)}")
    return name


def _client(provider: str) -> OAuthClient:
    arn = account_settings().oauth_secret_arn
    client = None
    if arn:
        from aws_lambda_powertools.utilities import parameters

        client = getattr(OAuthClients.model_validate(parameters.get_secret(arn, transform="json", max_age=300)),
                         provider)
    if client is None:
        raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "oauth_not_configured",
                       f"sign-in with {provider} is not configured on this deployment")
    return client


def safe_return_to(value: str | None) -> str:
    """Only a path on this site: an open redirect would hand sessions to whoever crafts the link.
    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so ``/\t/evil.example``
    would become ``//evil.example``: any control character or backslash is refused outright."""
    if (value and value.startswith("/") and not value.startswith("//")
            and "\\" not in value and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)):
        return value
    return "/"


def redirect_uri(base_url: str, provider: str) -> str:
    return f"{base_url}/api/auth/{provider}/callback"


def begin_login(provider: str, base_url: str, return_to: str | None) -> LoginStart:
    client = _client(check_provider(provider))
    state, verifier = tokens.new_oauth_state(), tokens.new_pkce_verifier()
    store.insert_oauth_state(db.connection(), state,
                             {"provider": provider, "verifier": verifier, "return_to": safe_return_to(return_to)},
                             STATE_TTL)
    query = urlencode({
        "client_id": client.client_id,
        "redirect_uri": redirect_uri(base_url, provider),
        "response_type": "code",
        "scope": SCOPES[provider],
        "state": state,
        "code_challenge": tokens.pkce_challenge(verifier),
        "code_challenge_method": "S256",
    })
    return LoginStart(f"{account_settings().oauth_endpoints[provider]['authorize']}?{query}", state)


def _call(method: str, url: str, **kwargs: Any) -> Any:
    """One request to the provider; its refusal is the client's problem (400), its absence ours (502)."""
    headers = {"Accept": "application/json", "User-Agent": _USER_AGENT, **kwargs.pop("headers", {})}
    try:
        response = _http.request(method, url, headers=headers, timeout=account_settings().oauth_timeout_seconds,
                                 retries=False, **kwargs)
    except urllib3.exceptions.HTTPError as exc:
        raise ApiError(HTTPStatus.BAD_GATEWAY, "oauth_provider_unavailable", type(exc).__name__) from exc
    if response.status >= 500:
        raise ApiError(HTTPStatus.BAD_GATEWAY, "oauth_provider_unavailable", f"provider answered {response.status}")
    try:
        body = json.loads(response.data)
    except ValueError:
        body = None
    if response.status >= 400 or not isinstance(body, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "oauth_exchange_failed",
                       f"the provider refused the sign-in ({response.status})")
    return body


def _fetch_profile(provider: str, code: str, verifier: str, base_url: str) -> tuple[dict[str, Any], str | None]:
    client = _client(provider)
    endpoints = account_settings().oauth_endpoints[provider]
    answer = _call("POST", endpoints["token"], encode_multipart=False, fields={
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(base_url, provider),
        "code_verifier": verifier,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    })
    try:
        token = TokenResponse.model_validate(answer)  # GitHub reports errors with a 200 and no token
        user = USER_MODELS[provider].model_validate(
            _call("GET", endpoints["user"], headers={"Authorization": f"Bearer {token.access_token}"}))
    except ValidationError as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, "oauth_exchange_failed",
                       "the provider refused the sign-in or sent an unexpected answer") from exc
    return user.profile(), token.scope


def finish_login(provider: str, *, code: str | None, state: str | None, state_cookie: str | None,
                 error: str | None, base_url: str, signed_in_user_id: str | None,
                 ip_address: str | None, user_agent: str | None) -> SignedIn:
    check_provider(provider)
    if error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "oauth_denied", f"the provider said: {error}")
    if not code or not state:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_request", "code and state are required")
    if state != state_cookie:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_state", "this sign-in was not started by this browser")
    stored = store.take_oauth_state(db.connection(), state)
    started = json.loads(stored) if stored else None
    if started is None or started.get("provider") != provider:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_state", "unknown, used or expired sign-in state")
    profile, scope = _fetch_profile(provider, code, started["verifier"], base_url)

    session_token = tokens.new_session_token()
    with db.transaction() as conn:
        try:
            user = store.upsert_oauth_user(conn, provider, {**profile, "scope": scope}, signed_in_user_id)
        except store.AccountLinkedElsewhere as exc:
            raise ApiError(HTTPStatus.CONFLICT, "account_linked_elsewhere",
                           f"this {provider} account belongs to another user") from exc
        if user["banned"]:
            raise ApiError(HTTPStatus.FORBIDDEN, "banned", "this user is banned")
        session = store.insert_session(conn, tokens.digest(session_token), user["id"],
                                       timedelta(hours=account_settings().session_ttl_hours), ip_address, user_agent)
    return SignedIn(session_token, session["expiresAt"], started["return_to"])
