"""frontline.access: API keys (Bearer / X-API-Key, lookup by hash), 401/403 paths, the per-key fixed-window
rate limit in PostgreSQL, the admin role and its audit rows."""

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router

from frontline import access
from frontline.accounts import guard
from frontline.web import json_response, make_resolver
from tests.integration.accounts_support import api_key_header, audit_rows, call, make_user, session_cookie

LIMIT = 3


@pytest.fixture
def app():
    router = Router()

    @router.post("/api/v1/ingest", middlewares=[access.require_api_key(rate_limit_per_minute=LIMIT)])
    def ingest():
        caller = router.context["principal"]
        return json_response(202, {"user_id": caller.user_id, "via": caller.via})

    @router.get("/api/h1/rebroadcast", middlewares=[access.require_api_key()])
    def rebroadcast():
        return json_response(200, {"ok": True})

    @router.post("/api/v1/snapshots/<snapshot_id>/reprocess", middlewares=[access.require_admin()])
    def reprocess(snapshot_id: str):
        return json_response(202, {"reprocessing": snapshot_id})

    return make_resolver(router)


def test_a_valid_key_passes_as_bearer_or_x_api_key_and_names_the_caller(app, conn):
    user_id = make_user(conn, "ingester")
    key = api_key_header(conn, user_id)["x-api-key"]
    for headers in ({"x-api-key": key}, {"authorization": f"Bearer {key}"}):
        answer = call(app, "POST", "/api/v1/ingest", headers=headers)
        assert answer.status == 202, answer.body
        assert answer.body == {"user_id": user_id, "via": "api_key"}


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "fl_not-a-key"}, {"authorization": "Basic Zm9vOmJhcg=="}])
def test_a_missing_or_unknown_key_gets_401(app, conn, headers):
    answer = call(app, "POST", "/api/v1/ingest", headers=headers)
    assert answer.status == 401
    assert answer.body["error"]["code"] in ("unauthenticated", "invalid_api_key")


@pytest.mark.parametrize(("refuse", "restore", "code"), [
    ('UPDATE "ApiKey" SET enabled = false', 'UPDATE "ApiKey" SET enabled = true', "api_key_disabled"),
    ('UPDATE "User" SET banned = true', 'UPDATE "User" SET banned = false', "banned"),
])
def test_a_disabled_key_or_a_banned_owner_gets_403_until_restored(app, conn, refuse, restore, code):
    user_id = make_user(conn, "ingester")
    headers = api_key_header(conn, user_id)
    conn.execute(refuse)
    answer = call(app, "POST", "/api/v1/ingest", headers=headers)
    assert (answer.status, answer.body["error"]["code"]) == (403, code)
    conn.execute(restore)
    assert call(app, "POST", "/api/v1/ingest", headers=headers).status == 202


def test_the_rate_limit_is_a_fixed_window_per_key_and_route(app, conn):
    user_id = make_user(conn, "ingester")
    headers = api_key_header(conn, user_id)
    other_key = api_key_header(conn, user_id, "second")
    for _ in range(LIMIT):
        assert call(app, "POST", "/api/v1/ingest", headers=headers).status == 202
    over = call(app, "POST", "/api/v1/ingest", headers=headers)
    assert (over.status, over.body["error"]["code"]) == (429, "rate_limited")
    assert 1 <= int(over.headers["retry-after"]) <= 60
    # another key, and another route of the same key, have windows of their own
    assert call(app, "POST", "/api/v1/ingest", headers=other_key).status == 202
    assert call(app, "GET", "/api/h1/rebroadcast", headers=headers).status == 200

    # the window ends: the next request opens a new one, and the expired row is removed
    conn.execute("UPDATE api_key_rate_window SET window_start = window_start - interval '1 minute'")
    assert call(app, "POST", "/api/v1/ingest", headers=headers).status == 202
    windows = conn.execute("""
        SELECT w.scope, w.hits FROM api_key_rate_window w JOIN "ApiKey" k ON k.id = w.api_key_id
        WHERE k.description = 'test' ORDER BY scope
    """).fetchall()
    assert windows == [("GET /api/h1/rebroadcast", 1), ("POST /api/v1/ingest", 1)]


def test_refused_requests_of_a_disabled_key_are_not_counted(app, conn):
    user_id = make_user(conn, "ingester")
    headers = api_key_header(conn, user_id)
    conn.execute('UPDATE "ApiKey" SET enabled = false')
    call(app, "POST", "/api/v1/ingest", headers=headers)
    assert conn.execute("SELECT count(*) FROM api_key_rate_window").fetchone()[0] == 0


def test_admin_routes_refuse_ordinary_users_and_anonymous_callers(app, conn):
    user_id = make_user(conn, "player")
    assert call(app, "POST", "/api/v1/snapshots/s1/reprocess").status == 401
    for credentials in ({"headers": api_key_header(conn, user_id)}, {"cookies": session_cookie(conn, user_id)}):
        answer = call(app, "POST", "/api/v1/snapshots/s1/reprocess", **credentials)
        assert (answer.status, answer.body["error"]["code"]) == (403, "forbidden")
    assert audit_rows(conn) == []


def test_each_admin_action_writes_an_audit_row_without_secrets(app, conn):
    admin_id = make_user(conn, "boss", role="admin")
    headers = api_key_header(conn, admin_id)
    cookies = session_cookie(conn, admin_id)
    assert call(app, "POST", "/api/v1/snapshots/s1/reprocess", headers=headers).status == 202
    assert call(app, "POST", "/api/v1/snapshots/s2/reprocess", cookies=cookies).status == 202

    rows = audit_rows(conn)
    assert [(r[0], r[1], r[2]["target"], r[2]["via"], r[3], r[4]) for r in rows] == [
        ("POST /api/v1/snapshots/{snapshot_id}/reprocess", admin_id, {"snapshot_id": "s1"}, "api_key",
         "203.0.113.7", "pytest-agent"),
        ("POST /api/v1/snapshots/{snapshot_id}/reprocess", admin_id, {"snapshot_id": "s2"}, "session",
         "203.0.113.7", "pytest-agent"),
    ]
    stored = str(rows)
    assert headers["x-api-key"] not in stored and cookies[guard.SESSION_COOKIE] not in stored
