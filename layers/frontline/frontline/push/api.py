"""The notification endpoints: subscribe, unsubscribe, and the VAPID public key."""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from frontline import db
from frontline.push import subscriptions, vapid
from frontline.push.endpoint import InvalidSubscription, check_keys, parse_endpoint, resolve_target
from frontline.push.notification import ENEMY_NAMES, Kind
from frontline.push.settings import push_settings
from frontline.web import ApiError, json_response

router = Router()

FactionName = Literal["bugs", "cyborgs", "illuminate"]
_FACTION_IDS = {name.lower(): enemy for enemy, name in ENEMY_NAMES.items()}


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class SubscribeRequest(BaseModel):
    """A browser ``PushSubscription.toJSON()``, plus optional topic filters (absent: everything)."""

    endpoint: str = Field(max_length=4096)  # the 2048 limit is checked with the other endpoint rules
    keys: SubscriptionKeys
    expirationTime: int | None = None
    factions: list[FactionName | Literal[0, 1, 2]] | None = Field(None, min_length=1)
    kinds: list[Kind] | None = Field(None, min_length=1)


class UnsubscribeRequest(BaseModel):
    endpoint: str = Field(max_length=4096)


class SubscriptionResponse(BaseModel):
    id: int
    endpoint: str
    factions: list[int] | None
    kinds: list[str] | None


class VapidKeyResponse(BaseModel):
    publicKey: str


@router.post("/api/notifications/subscribe")
def subscribe(request: SubscribeRequest):
    try:
        endpoint = parse_endpoint(request.endpoint)
        check_keys(request.keys.p256dh, request.keys.auth)
        resolve_target(endpoint, push_settings())
    except InvalidSubscription as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, exc.code, exc.message) from None
    factions = sorted({_FACTION_IDS.get(f, f) for f in request.factions}) if request.factions else None
    kinds = sorted(set(request.kinds)) if request.kinds else None
    subscription_id, created = subscriptions.upsert(
        db.connection(), request.endpoint, request.keys.p256dh, request.keys.auth, factions, kinds
    )
    body = SubscriptionResponse(id=subscription_id, endpoint=request.endpoint, factions=factions, kinds=kinds)
    return json_response(HTTPStatus.CREATED if created else HTTPStatus.OK, body.model_dump())


def _unsubscribe(request: UnsubscribeRequest):
    return json_response(HTTPStatus.OK, {"deleted": subscriptions.delete(db.connection(), request.endpoint)})


@router.delete("/api/notifications/subscribe")
def delete_subscription(request: UnsubscribeRequest):
    return _unsubscribe(request)


@router.post("/api/notifications/unsubscribe")
def unsubscribe(request: UnsubscribeRequest):
    return _unsubscribe(request)


@router.get("/api/notifications/vapid-public-key")
def vapid_public_key():
    try:
        key = vapid.public_key()
    except vapid.VapidNotConfigured as exc:
        raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "push_not_configured", str(exc)) from None
    return json_response(HTTPStatus.OK, VapidKeyResponse(publicKey=key).model_dump(),
                         {"Cache-Control": "public, max-age=3600"})
