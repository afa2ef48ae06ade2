"""Push settings from the environment (``PUSH_*`` and ``VAPID_*`` variables), parsed once per distinct
set of values, so a changed environment (tests, ``frontline dev``) is seen without clearing a cache."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field, field_validator


class PushSettings(BaseModel):
    queue_url: str | None = Field(None, alias="PUSH_QUEUE_URL")
    vapid_private_key: str | None = Field(None, alias="VAPID_PRIVATE_KEY")
    vapid_secret_arn: str | None = Field(None, alias="VAPID_SECRET_ARN")
    vapid_subject: str = Field("mailto:admin@example.com", alias="VAPID_SUBJECT")
    # Exact host names or "*.suffix" patterns; empty means any public host.
    allowed_hosts: tuple[str, ...] = Field((), alias="PUSH_ALLOWED_HOSTS")
    # Local development only: also accept http:// endpoints on loopback addresses (the local push service).
    allow_loopback: bool = Field(False, alias="PUSH_ALLOW_LOOPBACK_ENDPOINTS")
    ttl_seconds: int = Field(21600, alias="PUSH_TTL_SECONDS", ge=0, le=2419200)
    timeout_seconds: float = Field(5.0, alias="PUSH_TIMEOUT_SECONDS", gt=0)
    concurrency: int = Field(32, alias="PUSH_CONCURRENCY", ge=1, le=256)
    page_size: int = Field(500, alias="PUSH_PAGE_SIZE", ge=1, le=10000)
    max_attempts: int = Field(5, alias="PUSH_MAX_ATTEMPTS", ge=1)
    click_url: str = Field("/", alias="PUSH_CLICK_URL")

    model_config = {"populate_by_name": True, "extra": "ignore"}

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value


def push_settings() -> PushSettings:
    return _parse(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_PREFIXES) and v != "")))


_PREFIXES = ("PUSH_", "VAPID_")


@lru_cache(maxsize=4)
def _parse(environment: tuple[tuple[str, str], ...]) -> PushSettings:
    return PushSettings.model_validate(dict(environment))
