"""StarForge settings, read from the environment once per process (``settings.cache_clear()`` after a
change, as for ``frontline.config``)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

MEGABYTE = 1024 * 1024


class StarforgeSettings(BaseModel):
    etl_queue_url: str | None = Field(None, alias="STARFORGE_ETL_QUEUE_URL")
    max_payload_bytes: int = Field(5 * MEGABYTE, alias="STARFORGE_MAX_PAYLOAD_BYTES", gt=0)
    dedupe_window_seconds: int = Field(60, alias="STARFORGE_DEDUPE_WINDOW_SECONDS", ge=0)
    # Longer than the ETL function's timeout: a claim older than this belongs to a crashed worker.
    claim_ttl_seconds: int = Field(120, alias="STARFORGE_CLAIM_TTL_SECONDS", gt=0)
    retry_base_seconds: int = Field(10, alias="STARFORGE_RETRY_BASE_SECONDS", gt=0)
    # The ETL queue's maxReceiveCount: a job failing on that receive goes to the dead-letter queue.
    etl_max_receives: int = Field(5, alias="STARFORGE_ETL_MAX_RECEIVES", gt=0)
    # After this, an Idempotency-Key may be used again for a new request (as payment APIs do: 24 h).
    idempotency_key_ttl_hours: int = Field(24, alias="STARFORGE_IDEMPOTENCY_KEY_TTL_HOURS", gt=0)

    model_config = {"populate_by_name": True, "extra": "ignore"}


@lru_cache(maxsize=1)
def settings() -> StarforgeSettings:
    return StarforgeSettings.model_validate({k: v for k, v in os.environ.items() if v != ""})
