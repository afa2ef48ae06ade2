"""OAuth sign-in against a fake Discord/GitHub on loopback: state + PKCE (S256), the callback's upsert of
User and Account, the Session and its cookie, the session endpoint, logout, and tampered flows."""

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from frontline.accounts import guard, tokens
from frontline.accounts.routes import OAUTH_STATE_COOKIE, auth_router
from frontline.accounts.settings import account_settings
from frontline.web import make_resolver
from tests.integration.accounts_support import call

CLIENTS = {"discord": {"client_id": "discord-client", "client_secret": "discord-secret"},
           "github": {"client_id": "github-client", "client_secret": "github-secret"}}
PLAYERS = {"discord": {"id": "80351110224678912", "username": "nelly", "global_name": "Nelly",
                       "email": "nelly@example.com", "verified": True, "avatar": "8342729096ea3675442027381ff50dfe"},
           "github": {"id": 583231, "login": "octonelly", "name": "Nelly O.", "email": None,
                      "avatar_url": "https://avatars.githubusercontent.com/u/583231"}}


class FakeProvider:
    """The provider side of the code flow: a grant remembers the PKCE challenge; the token endpoint
    checks client credentials, redirect_uri and S256(code_verifier); the user endpoint needs the token."""

    def __init__(self):
        self.grants: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                name = self.path.strip("/").split("/")[0]
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                grant = provider.grants.pop(form.get("code"), None)
                challenge = base64.urlsafe_b64encode(
                    hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
                if (grant is None or grant["provider"] != name or form.get("grant_type") != "authorization_code"
                        or form.get("client_id") != CLIENTS[name]["client_id"]
                        or form.get("client_secret") != CLIENTS[name]["client_secret"]
                        or form.get("redirect_uri") != grant["redirect_uri"] or challenge != grant["challenge"]):
                    return self._answer(400, {"error": "invalid_grant"})
                token = secrets.token_hex(16)
                provider.access_tokens[token] = grant["user"]
                self._answer(200, {"access_token": token, "token_type": "Bearer", "scope": "identify email"})

            def do_GET(self):
                user = provider.access_tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
                self._answer(200, user) if user else self._answer(401, {"message": "401: Unauthorized"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def consent(self, location: str, user: dict) -> dict:
        """The user approves at the authorize URL: the provider redirects back with a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        provider = urlsplit(location).path.strip("/").split("/")[0]
        assert query["client_id"] == CLIENTS[provider]["client_id"] and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        code = secrets.token_hex(8)
        self.grants[code] = {"provider": provider, "challenge": query["code_challenge"],
                             "redirect_uri": query["redirect_uri"], "user": user}
        return {"code": code, "state": query["state"]}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def provider():
    fake = FakeProvider()
    yield fake
    fake.close()


@pytest.fixture
def app(database, provider, monkeypatch):
    for name in CLIENTS:
        for kind in ("authorize", "token", "user"):
            monkeypatch.setenv(f"OAUTH_{name.upper()}_{kind.upper()}_URL", f"{provider.url}/{name}/{kind}")
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        arn = boto3.client("secretsmanager").create_secret(Name="oauth", SecretString=json.dumps(CLIENTS))["ARN"]
        monkeypatch.setenv("OAUTH_SECRET_ARN", arn)
        account_settings.cache_clear()
        parameters.clear_caches()
        yield make_resolver(auth_router)
    account_settings.cache_clear()
    parameters.clear_caches()


def _cookie(answer, name: str) -> str | None:
    for cookie in answer.cookies:
        if cookie.startswith(f"{name}="):
            return cookie
    return None


def _value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def start(app, provider_name="discord", return_to="/dashboard", cookies=None):
    answer = call(app, "GET", f"/api/auth/{provider_name}/login?{urlencode({'return_to': return_to})}",
                  cookies=cookies)
    assert answer.status == 302, answer.body
    return answer.headers["location"], _value(_cookie(answer, OAUTH_STATE_COOKIE))


def sign_in(app, provider, provider_name="discord", user=None, cookies=None):
    location, state_cookie = start(app, provider_name, cookies=cookies)
    query = provider.consent(location, user or PLAYERS[provider_name])
    return call(app, "GET", f"/api/auth/{provider_name}/callback?{urlencode(query)}",
                cookies={**(cookies or {}), OAUTH_STATE_COOKIE: state_cookie})


def test_login_redirects_with_state_and_pkce_and_a_state_cookie(app, provider, conn):
    answer = call(app, "GET", "/api/auth/github/login")
    assert answer.status == 302
    location = answer.headers["location"]
    assert location.startswith(f"{provider.url}/github/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == ["http://localhost/api/auth/github/callback"]
    assert query["scope"] == ["read:user user:email"]
    state_cookie = _cookie(answer, OAUTH_STATE_COOKIE)
    assert _value(state_cookie) == query["state"][0]
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=600"} <= {p.strip() for p in state_cookie.split(";")}
    stored = json.loads(conn.execute('SELECT value FROM "Verification" WHERE identifier = %s',
                                     (query["state"][0],)).fetchone()[0])
    assert tokens.pkce_challenge(stored["verifier"]) == query["code_challenge"][0]


def test_happy_path_creates_user_account_and_a_hashed_session_with_a_safe_cookie(app, provider, conn):
    answer = sign_in(app, provider)
    assert answer.status == 302, answer.body
    assert answer.headers["location"] == "/dashboard"
    assert answer.headers["cache-control"] == "no-store"
    session_cookie = _cookie(answer, guard.SESSION_COOKIE)
    attributes = {p.strip() for p in session_cookie.split(";")}
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= attributes
    assert _cookie(answer, OAUTH_STATE_COOKIE).endswith("Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    token = _value(session_cookie)

    user = conn.execute('SELECT id, username, name, email, "emailVerified", image, role FROM "User"').fetchall()
    assert [u[1:] for u in user] == [("nelly", "Nelly", "nelly@example.com", True,
                                      "https://cdn.discordapp.com/avatars/80351110224678912/"
                                      "8342729096ea3675442027381ff50dfe.png", "user")]
    account = conn.execute('SELECT "userId", "providerId", "accountId", "accessToken" FROM "Account"').fetchall()
    assert account == [(user[0][0], "discord", "80351110224678912", None)]
    sessions = conn.execute('SELECT token, "ipAddress", "userAgent", "expiresAt" > now() + interval \'29 days\' '
                            'FROM "Session"').fetchall()
    assert sessions == [(tokens.digest(token), "203.0.113.7", "pytest-agent", True)]
    assert conn.execute('SELECT count(*) FROM "Verification"').fetchone()[0] == 0  # the state was used up

    me = call(app, "GET", "/api/auth/session", cookies={guard.SESSION_COOKIE: token})
    assert me.status == 200 and me.body["user"]["username"] == "nelly" and me.body["user"]["id"] == user[0][0]

    out = call(app, "POST", "/api/auth/logout", cookies={guard.SESSION_COOKIE: token})
    assert out.status == 204 and "Max-Age=0" in _cookie(out, guard.SESSION_COOKIE)
    assert conn.execute('SELECT count(*) FROM "Session"').fetchone()[0] == 0
    assert call(app, "GET", "/api/auth/session", cookies={guard.SESSION_COOKIE: token}).status == 401


def test_signing_in_again_finds_the_user_and_a_signed_in_user_links_a_second_provider(app, provider, conn):
    first = _value(_cookie(sign_in(app, provider), guard.SESSION_COOKIE))
    assert sign_in(app, provider).status == 302
    linked = sign_in(app, provider, "github", cookies={guard.SESSION_COOKIE: first})
    assert linked.status == 302, linked.body
    assert conn.execute('SELECT count(*) FROM "User"').fetchone()[0] == 1
    assert conn.execute('SELECT "providerId" FROM "Account" ORDER BY 1').fetchall() == [("discord",), ("github",)]

    # the GitHub account now belongs to that user: a second user cannot link it
    other = _value(_cookie(sign_in(app, provider, user={**PLAYERS["discord"], "id": "2", "username": "bob",
                                                              "email": None}), guard.SESSION_COOKIE))
    refused = sign_in(app, provider, "github", cookies={guard.SESSION_COOKIE: other})
    assert (refused.status, refused.body["error"]["code"]) == (409, "account_linked_elsewhere")


def test_a_tampered_or_replayed_state_is_refused(app, provider, conn):
    location, state_cookie = start(app)
    query = provider.consent(location, PLAYERS["discord"])
    tampered = {**query, "state": query["state"][:-2] + "xx"}
    for params, cookie in ((tampered, tampered["state"]), (tampered, state_cookie), (query, "another-browser")):
        answer = call(app, "GET", f"/api/auth/discord/callback?{urlencode(params)}",
                      cookies={OAUTH_STATE_COOKIE: cookie})
        assert (answer.status, answer.body["error"]["code"]) == (400, "invalid_state")
    ok = call(app, "GET", f"/api/auth/discord/callback?{urlencode(query)}", cookies={OAUTH_STATE_COOKIE: state_cookie})
    assert ok.status == 302
    replay = call(app, "GET", f"/api/auth/discord/callback?{urlencode(query)}",
                  cookies={OAUTH_STATE_COOKIE: state_cookie})
    assert (replay.status, replay.body["error"]["code"]) == (400, "invalid_state")
    assert conn.execute('SELECT count(*) FROM "Session"').fetchone()[0] == 1


def test_a_tampered_pkce_verifier_fails_the_exchange_and_signs_nobody_in(app, provider, conn):
    location, state_cookie = start(app)
    query = provider.consent(location, PLAYERS["discord"])
    conn.execute("""UPDATE "Verification" SET value = jsonb_set(value::jsonb, '{verifier}', '"forged-verifier-of-43-characters-or-more-xxxxx"')::text""")
    answer = call(app, "GET", f"/api/auth/discord/callback?{urlencode(query)}",
                  cookies={OAUTH_STATE_COOKIE: state_cookie})
    assert (answer.status, answer.body["error"]["code"]) == (400, "oauth_exchange_failed")
    assert _cookie(answer, guard.SESSION_COOKIE) is None
    assert conn.execute('SELECT (SELECT count(*) FROM "Session") + (SELECT count(*) FROM "User")').fetchone()[0] == 0


def test_a_banned_users_sessions_are_revoked_on_their_next_request(app, provider, conn):
    token = _value(_cookie(sign_in(app, provider), guard.SESSION_COOKIE))
    second = _value(_cookie(sign_in(app, provider), guard.SESSION_COOKIE))
    conn.execute('UPDATE "User" SET banned = true')
    answer = call(app, "GET", "/api/auth/session", cookies={guard.SESSION_COOKIE: token})
    assert (answer.status, answer.body["error"]["code"]) == (403, "banned")
    assert conn.execute('SELECT count(*) FROM "Session"').fetchone()[0] == 0
    assert call(app, "GET", "/api/auth/session", cookies={guard.SESSION_COOKIE: second}).status == 401
    banned_again = sign_in(app, provider)
    assert (banned_again.status, banned_again.body["error"]["code"]) == (403, "banned")


def test_provider_refusal_unknown_provider_and_missing_configuration(app, provider, monkeypatch):
    denied = call(app, "GET", "/api/auth/discord/callback?error=access_denied&state=x")
    assert (denied.status, denied.body["error"]["code"]) == (400, "oauth_denied")
    assert call(app, "GET", "/api/auth/gitlab/login").status == 404
    monkeypatch.delenv("OAUTH_SECRET_ARN")
    account_settings.cache_clear()
    answer = call(app, "GET", "/api/auth/discord/login")
    assert (answer.status, answer.body["error"]["code"]) == (503, "oauth_not_configured")
