"""The accounts routes: sign-in (``auth_router``), self-service (``me_router``), the public review list
(``reviews_router``) and admin actions (``admin_router``). Each router belongs to one Lambda handler."""

from __future__ import annotations

from datetime import datetime, timezone
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from frontline import access, db
from frontline.accounts import guard, models, oauth, store, tokens
from frontline.accounts.settings import account_settings
from frontline.web import JSON, UUID_PATTERN, ApiError, dumps, json_response

# The id of the last review of the previous page.
ReviewId = Annotated[str, Query(pattern=UUID_PATTERN)]

OAUTH_STATE_COOKIE = "__Host-fl_oauth_state"

auth_router = Router()
me_router = Router()
reviews_router = Router()
admin_router = Router()


def _cookie(name: str, value: str, max_age: int) -> Cookie:
    # __Host- names require Secure, Path=/ and no Domain: no subdomain can plant or read them.
    return Cookie(name, value, path="/", secure=True, http_only=True, same_site=SameSite.LAX_MODE, max_age=max_age)


def _no_store(status: int, body: Any = None, cookies: list[Cookie] | None = None,
              headers: dict[str, str] | None = None) -> Response:
    """Answers about a user or their secrets: never cached by a browser or proxy."""
    return Response(status_code=status, content_type=JSON if body is not None else None,
                    body=dumps(body) if body is not None else None,
                    headers={"Cache-Control": "no-store", **(headers or {})}, cookies=cookies)


def _base_url(router: Router) -> str:
    """The API's public URL: PUBLIC_BASE_URL, else what API Gateway says the request came to."""
    configured = account_settings().public_base_url
    if configured:
        return configured.rstrip("/")
    event = router.current_event
    proto = event.headers.get("x-forwarded-proto") or "http"
    stage = event.request_context.stage
    prefix = f"/{stage}" if stage and stage != "$default" and event.raw_path.startswith(f"/{stage}/") else ""
    return f"{proto}://{event.request_context.domain_name}{prefix}"


# --- sign-in -------------------------------------------------------------------------------------

@auth_router.get("/api/auth/<provider>/login")
def login(provider: str, return_to: Annotated[str | None, Query()] = None):
    start = oauth.begin_login(provider, _base_url(auth_router), return_to)
    return _no_store(HTTPStatus.FOUND, headers={"Location": start.location},
                     cookies=[_cookie(OAUTH_STATE_COOKIE, start.state, int(oauth.STATE_TTL.total_seconds()))])


@auth_router.get("/api/auth/<provider>/callback")
def callback(provider: str, code: Annotated[str | None, Query()] = None,
             state: Annotated[str | None, Query()] = None, error: Annotated[str | None, Query()] = None):
    signed_in = guard.session_row(auth_router)  # a signed-in user links another provider
    done = oauth.finish_login(
        provider, code=code, state=state, state_cookie=guard.cookie(auth_router, OAUTH_STATE_COOKIE), error=error,
        base_url=_base_url(auth_router), signed_in_user_id=signed_in["user_id"] if signed_in else None,
        ip_address=guard.client_ip(auth_router), user_agent=guard.user_agent(auth_router),
    )
    max_age = int((done.expires_at - datetime.now(timezone.utc)).total_seconds())
    return _no_store(HTTPStatus.FOUND, headers={"Location": done.return_to}, cookies=[
        _cookie(guard.SESSION_COOKIE, done.session_token, max_age),
        _cookie(OAUTH_STATE_COOKIE, "", 0),
    ])


@auth_router.get("/api/auth/session")
def session():
    row = guard.session_row(auth_router)
    if row is None:
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthenticated", "not signed in")
    info = models.SessionInfo(user=models.SessionUser(id=row["user_id"], **row), expiresAt=row["expiresAt"])
    return _no_store(HTTPStatus.OK, info.model_dump(mode="json"))


@auth_router.post("/api/auth/logout")
def logout():
    token = guard.cookie(auth_router, guard.SESSION_COOKIE)
    if token:
        store.delete_session(db.connection(), tokens.digest(token))
    return _no_store(HTTPStatus.NO_CONTENT, cookies=[_cookie(guard.SESSION_COOKIE, "", 0)])


# --- self-service --------------------------------------------------------------------------------

def _me(router: Router) -> str:
    return guard.principal(router).user_id


@me_router.get("/api/me/settings", middlewares=[guard.require_user()])
def get_settings():
    return _no_store(HTTPStatus.OK, store.get_settings(db.connection(), _me(me_router)))


@me_router.put("/api/me/settings", middlewares=[guard.require_user()])
def put_settings(settings: Annotated[dict[str, Any], Body(description="any JSON object")]):
    limit = account_settings().settings_max_bytes
    if len(dumps(settings).encode()) > limit:
        raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "settings_too_large", f"settings exceed {limit} bytes")
    return _no_store(HTTPStatus.OK, store.put_settings(db.connection(), _me(me_router), settings))


@me_router.post("/api/me/keys", middlewares=[guard.require_session()])
def create_key(body: models.NewApiKey):
    new_key = tokens.new_api_key()
    row = store.insert_api_key(db.connection(), _me(me_router), new_key.hash, new_key.visible, body.description)
    return _no_store(HTTPStatus.CREATED, models.CreatedApiKey(key=new_key.plaintext, **row).model_dump(mode="json"))


@me_router.get("/api/me/keys", middlewares=[guard.require_session()])
def list_keys():
    rows = store.list_api_keys(db.connection(), _me(me_router))
    return _no_store(HTTPStatus.OK, {"keys": [models.ApiKey(**row).model_dump(mode="json") for row in rows]})


def _set_key_enabled(key_id: str, enabled: bool) -> Response:
    row = store.set_api_key_enabled(db.connection(), _me(me_router), key_id, enabled)
    if row is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such API key")
    return _no_store(HTTPStatus.OK, models.ApiKey(**row).model_dump(mode="json"))


@me_router.post("/api/me/keys/<key_id>/disable", middlewares=[guard.require_session()])
def disable_key(key_id: str):
    return _set_key_enabled(key_id, False)


@me_router.post("/api/me/keys/<key_id>/enable", middlewares=[guard.require_session()])
def enable_key(key_id: str):
    return _set_key_enabled(key_id, True)


@me_router.delete("/api/me/keys/<key_id>", middlewares=[guard.require_session()])
def delete_key(key_id: str):
    if not store.delete_api_key(db.connection(), _me(me_router), key_id):
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such API key")
    return _no_store(HTTPStatus.NO_CONTENT)


def _reviews(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"reviews": [models.Review(**row).model_dump(mode="json") for row in rows]}


@me_router.post("/api/me/reviews", middlewares=[guard.require_user()])
def create_review(body: models.NewReview):
    row = store.insert_review(db.connection(), _me(me_router), body.title, body.content)
    return _no_store(HTTPStatus.CREATED, models.Review(**row).model_dump(mode="json"))


@me_router.get("/api/me/reviews", middlewares=[guard.require_user()])
def list_my_reviews(limit: Annotated[int, Query(ge=1, le=100)] = 50, before: ReviewId | None = None):
    rows = store.list_reviews(db.connection(), author_id=_me(me_router), published_only=False, before=before,
                              limit=limit)
    return _no_store(HTTPStatus.OK, _reviews(rows))


# --- public --------------------------------------------------------------------------------------

@reviews_router.get("/api/reviews")
def list_published_reviews(limit: Annotated[int, Query(ge=1, le=100)] = 50,
                           before: ReviewId | None = None):
    rows = store.list_reviews(db.connection(), published_only=True, before=before, limit=limit)
    return json_response(HTTPStatus.OK, _reviews(rows))


# --- admin (every route audited by access.require_admin) -----------------------------------------

def _set_published(review_id: str, published: bool) -> Response:
    row = store.set_review_published(db.connection(), review_id, published)
    if row is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such review")
    return _no_store(HTTPStatus.OK, models.Review(**row).model_dump(mode="json"))


@admin_router.post("/api/admin/reviews/<review_id>/publish", middlewares=[access.require_admin()])
def publish_review(review_id: str):
    return _set_published(review_id, True)


@admin_router.post("/api/admin/reviews/<review_id>/unpublish", middlewares=[access.require_admin()])
def unpublish_review(review_id: str):
    return _set_published(review_id, False)


def _set_banned(user_id: str, banned: bool) -> Response:
    if banned and user_id == guard.principal(admin_router).user_id:
        raise ApiError(HTTPStatus.BAD_REQUEST, "cannot_ban_self", "an admin cannot ban themselves")
    row = store.set_banned(db.connection(), user_id, banned)
    if row is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such user")
    return _no_store(HTTPStatus.OK, models.UserState(**row).model_dump(mode="json"))


@admin_router.post("/api/admin/users/<user_id>/ban", middlewares=[access.require_admin()])
def ban_user(user_id: str):
    return _set_banned(user_id, True)


@admin_router.post("/api/admin/users/<user_id>/unban", middlewares=[access.require_admin()])
def unban_user(user_id: str):
    return _set_banned(user_id, False)
