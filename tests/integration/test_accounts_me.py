"""Self-service (/api/me: settings, API keys, own reviews), the public review list, admin actions with
their audit rows, and the bootstrap CLI."""

import hashlib

import pytest

from frontline.accounts.routes import admin_router, me_router, reviews_router
from frontline.accounts.settings import account_settings
from frontline.cli import main
from frontline.web import make_resolver
from tests.integration.accounts_support import api_key_header, audit_rows, call, make_user, session_cookie


@pytest.fixture
def me():
    return make_resolver(me_router)


@pytest.fixture
def admin():
    return make_resolver(admin_router)


@pytest.fixture
def public():
    return make_resolver(reviews_router)


def test_settings_are_a_size_limited_json_object(me, conn, monkeypatch):
    cookies = session_cookie(conn, make_user(conn, "nelly"))
    assert call(me, "GET", "/api/me/settings", cookies=cookies).body == {}
    saved = call(me, "PUT", "/api/me/settings", cookies=cookies, body={"theme": "dark", "factions": [1, 2]})
    assert saved.status == 200 and saved.body == {"theme": "dark", "factions": [1, 2]}
    assert call(me, "GET", "/api/me/settings", cookies=cookies).body == {"theme": "dark", "factions": [1, 2]}

    for not_an_object in ([1, 2], "dark", 3):
        answer = call(me, "PUT", "/api/me/settings", cookies=cookies, body=not_an_object)
        assert (answer.status, answer.body["error"]["code"]) == (400, "invalid_request")
    monkeypatch.setenv("SETTINGS_MAX_BYTES", "64")
    account_settings.cache_clear()
    too_big = call(me, "PUT", "/api/me/settings", cookies=cookies, body={"notes": "x" * 100})
    assert (too_big.status, too_big.body["error"]["code"]) == (413, "settings_too_large")
    account_settings.cache_clear()
    assert conn.execute('SELECT settings FROM "Settings"').fetchone()[0] == {"theme": "dark", "factions": [1, 2]}
    assert call(me, "GET", "/api/me/settings").status == 401


def test_a_key_is_shown_once_and_stored_as_its_sha256(me, conn):
    cookies = session_cookie(conn, make_user(conn, "nelly"))
    created = call(me, "POST", "/api/me/keys", cookies=cookies, body={"description": "my bot"})
    assert created.status == 201
    key = created.body["key"]
    assert key.startswith("fl_") and len(key) >= 3 + 43  # 256 random bits, base64url
    assert created.body["visible"] == key[-4:]
    stored = conn.execute('SELECT hash, visible, description, enabled FROM "ApiKey"').fetchall()
    assert stored == [(hashlib.sha256(key.encode()).hexdigest(), key[-4:], "my bot", True)]
    assert key not in str(conn.execute('SELECT * FROM "ApiKey"').fetchall())

    listed = call(me, "GET", "/api/me/keys", cookies=cookies).body["keys"]
    assert [(k["id"], k["visible"], k["enabled"]) for k in listed] == [(created.body["id"], key[-4:], True)]
    assert "key" not in listed[0] and key not in str(listed)


def test_keys_are_disabled_enabled_and_deleted_by_their_owner_only(me, conn):
    owner = session_cookie(conn, make_user(conn, "nelly"))
    stranger = session_cookie(conn, make_user(conn, "bob"))
    key_id = call(me, "POST", "/api/me/keys", cookies=owner, body={}).body["id"]

    assert call(me, "POST", f"/api/me/keys/{key_id}/disable", cookies=stranger).status == 404
    assert call(me, "POST", f"/api/me/keys/{key_id}/disable", cookies=owner).body["enabled"] is False
    assert call(me, "POST", f"/api/me/keys/{key_id}/enable", cookies=owner).body["enabled"] is True
    assert call(me, "DELETE", f"/api/me/keys/{key_id}", cookies=stranger).status == 404
    assert call(me, "DELETE", f"/api/me/keys/{key_id}", cookies=owner).status == 204
    assert call(me, "DELETE", f"/api/me/keys/{key_id}", cookies=owner).status == 404
    assert conn.execute('SELECT count(*) FROM "ApiKey"').fetchone()[0] == 0


def test_an_api_key_cannot_manage_keys_but_reaches_settings(me, conn):
    headers = api_key_header(conn, make_user(conn, "nelly"))
    assert call(me, "POST", "/api/me/keys", headers=headers, body={}).status == 401
    assert call(me, "GET", "/api/me/settings", headers=headers).status == 200


def test_reviews_are_private_until_an_admin_publishes_them_and_each_action_is_audited(me, admin, public, conn):
    author_id = make_user(conn, "nelly")
    author = session_cookie(conn, author_id)
    admin_id = make_user(conn, "boss", role="admin")
    boss = api_key_header(conn, admin_id)
    first = call(me, "POST", "/api/me/reviews", cookies=author, body={"title": "Bugs", "content": "too many"}).body
    second = call(me, "POST", "/api/me/reviews", cookies=author, body={"title": "Cyborgs"}).body
    assert first["published"] is False and first["authorId"] == author_id and first["author"] == "nelly"
    assert call(me, "POST", "/api/me/reviews", cookies=author, body={"title": ""}).status == 400

    assert [r["title"] for r in call(me, "GET", "/api/me/reviews", cookies=author).body["reviews"]] == ["Cyborgs", "Bugs"]
    assert call(public, "GET", "/api/reviews").body == {"reviews": []}

    assert call(admin, "POST", f"/api/admin/reviews/{first['id']}/publish", cookies=author).status == 403
    published = call(admin, "POST", f"/api/admin/reviews/{first['id']}/publish", headers=boss)
    assert published.status == 200 and published.body["published"] is True and published.body["author"] == "nelly"
    call(admin, "POST", f"/api/admin/reviews/{second['id']}/publish", headers=boss)
    listed = call(public, "GET", "/api/reviews?limit=1").body["reviews"]
    assert [(r["title"], r["author"]) for r in listed] == [("Cyborgs", "nelly")]
    older = call(public, "GET", f"/api/reviews?before={listed[0]['id']}").body["reviews"]
    assert [r["title"] for r in older] == ["Bugs"]
    assert call(public, "GET", "/api/reviews?before=xyz").status == 400
    call(admin, "POST", f"/api/admin/reviews/{second['id']}/unpublish", headers=boss)
    assert [r["title"] for r in call(public, "GET", "/api/reviews").body["reviews"]] == ["Bugs"]
    assert call(admin, "POST", "/api/admin/reviews/nope/publish", headers=boss).status == 404

    assert [(r[0], r[1], r[2]["target"]) for r in audit_rows(conn)] == [
        ("POST /api/admin/reviews/{review_id}/publish", admin_id, {"review_id": first["id"]}),
        ("POST /api/admin/reviews/{review_id}/publish", admin_id, {"review_id": second["id"]}),
        ("POST /api/admin/reviews/{review_id}/unpublish", admin_id, {"review_id": second["id"]}),
        ("POST /api/admin/reviews/{review_id}/publish", admin_id, {"review_id": "nope"}),
    ]


def test_an_admin_bans_a_user_whose_sessions_and_keys_stop_working(me, admin, conn):
    user_id = make_user(conn, "griefer")
    cookies = session_cookie(conn, user_id)
    headers = api_key_header(conn, user_id)
    boss_id = make_user(conn, "boss", role="admin")
    boss = session_cookie(conn, boss_id)

    assert call(admin, "POST", f"/api/admin/users/{boss_id}/ban", cookies=cookies).status == 403
    banned = call(admin, "POST", f"/api/admin/users/{user_id}/ban", cookies=boss)
    assert banned.status == 200 and banned.body == {"id": user_id, "username": "griefer", "role": "user",
                                                     "banned": True}
    assert conn.execute('SELECT count(*) FROM "Session" WHERE "userId" = %s', (user_id,)).fetchone()[0] == 0
    assert call(me, "GET", "/api/me/settings", cookies=cookies).status == 401
    assert call(me, "GET", "/api/me/settings", headers=headers).status == 403
    assert call(admin, "POST", f"/api/admin/users/{boss_id}/ban", cookies=boss).status == 400
    assert call(admin, "POST", f"/api/admin/users/{user_id}/unban", cookies=boss).body["banned"] is False
    assert call(me, "GET", "/api/me/settings", headers=headers).status == 200

    actions = [(r[0], r[2]["target"], r[2]["actor"], r[3], r[4]) for r in audit_rows(conn)]
    assert actions == [
        ("POST /api/admin/users/{user_id}/ban", {"user_id": user_id}, "boss", "203.0.113.7", "pytest-agent"),
        ("POST /api/admin/users/{user_id}/ban", {"user_id": boss_id}, "boss", "203.0.113.7", "pytest-agent"),
        ("POST /api/admin/users/{user_id}/unban", {"user_id": user_id}, "boss", "203.0.113.7", "pytest-agent"),
    ]


def test_cli_bootstraps_a_user_an_admin_and_a_key_printed_once(database, conn, capsys):
    assert main(["users", "create", "--username", "root"]) == 0
    assert main(["users", "create", "--username", "root"]) == 1
    assert main(["users", "grant-admin", "--username", "root"]) == 0
    assert main(["users", "grant-admin", "--username", "nobody"]) == 1
    capsys.readouterr()
    assert main(["keys", "create", "--username", "root", "--description", "ci"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("fl_")
    assert conn.execute('SELECT u.role, k.hash, k.description FROM "User" u JOIN "ApiKey" k ON k."userId" = u.id'
                        ).fetchall() == [("admin", hashlib.sha256(key.encode()).hexdigest(), "ci")]
    rows = audit_rows(conn)
    assert [(r[0], r[1], r[2]["target"]["username"], r[2]["via"]) for r in rows] == [
        ("cli users grant-admin", None, "root", "cli")]
