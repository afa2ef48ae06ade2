"""What a subscriber reads: an outbox transition turned into the Web Push payload
``{title, body, url, tag}``. The tag names the thing that changed (an event, a season, a faction), so a
browser shows one notification per event and replaces "started" by "won" or "lost"."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["started", "won", "lost", "season_started", "season_ended", "faction_defeated"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
ENEMY_NAMES = {0: "Bugs", 1: "Cyborgs", 2: "Illuminate"}


class Transition(BaseModel):
    """One relayed outbox row: the SQS message body."""

    outbox_id: int
    kind: Kind
    season: int
    enemy: int | None = None
    payload: dict[str, Any]


class Notification(BaseModel):
    title: str
    body: str
    url: str
    tag: str

    def encoded(self) -> bytes:
        return json.dumps(self.model_dump(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _event_text(t: Transition, enemy: str) -> tuple[str, str]:
    p = t.payload
    points = f"{p.get('points')}/{p.get('points_max')} points"
    if p.get("type") == "defend":
        region = p.get("region")
        return {
            "started": (f"The {enemy} attack region {region}", f"Defend region {region} against the {enemy}."),
            "won": (f"Region {region} held", f"The {enemy} attack on region {region} was repelled ({points})."),
            "lost": (f"Region {region} lost", f"The {enemy} took region {region} ({points})."),
        }[t.kind]
    return {
        "started": (f"Attack on the {enemy}", f"A new offensive against the {enemy} has begun (0/{p.get('points_max')} points)."),
        "won": (f"Attack on the {enemy} succeeded", f"The offensive against the {enemy} succeeded ({points})."),
        "lost": (f"Attack on the {enemy} failed", f"The offensive against the {enemy} failed ({points})."),
    }[t.kind]


def notification_for(t: Transition, click_url: str) -> Notification:
    enemy = ENEMY_NAMES.get(t.enemy if t.enemy is not None else t.payload.get("enemy", -1), "enemy")
    if t.kind in ("started", "won", "lost"):
        title, body = _event_text(t, enemy)
        tag = f"h1-{t.payload.get('type')}-{t.payload.get('event_id')}"
    elif t.kind == "faction_defeated":
        title, body = f"The {enemy} are defeated", f"The {enemy} have been defeated in Galactic War {t.season}."
        tag = f"h1-{t.season}-defeated-{t.enemy}"
    else:
        started = t.kind == "season_started"
        title = f"Galactic War {t.season} {'has begun' if started else 'is over'}"
        body = "A new Galactic War season has started." if started else f"Galactic War {t.season} has ended."
        tag = f"h1-season-{t.season}"
    return Notification(title=title, body=body, url=click_url, tag=tag)
