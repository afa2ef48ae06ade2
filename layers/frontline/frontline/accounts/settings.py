"""The accounts settings, read from the environment once per process (like ``frontline.config``)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

DEFAULT_ENDPOINTS = {
    "discord": {
        "authorize": "https://discord.com/oauth2/authorize",
        "token": "https://discord.com/api/oauth2/token",
        "user": "https://discord.com/api/users/@me",
    },
    "github": {
        "authorize": "https://github.com/login/oauth/authorize",
        "token": "https://github.com/login/oauth/access_token",
        "user": "https://api.github.com/user",
    },
}


class AccountSettings(BaseModel):
    oauth_secret_arn: str | None = Field(None, alias="OAUTH_SECRET_ARN")
    oauth_timeout_seconds: float = Field(10.0, alias="OAUTH_TIMEOUT_SECONDS", gt=0)
    public_base_url: str | None = Field(None, alias="PUBLIC_BASE_URL")
    session_ttl_hours: int = Field(24 * 30, alias="SESSION_TTL_HOURS", gt=0)
    api_key_rate_limit_per_minute: int = Field(60, alias="API_KEY_RATE_LIMIT_PER_MINUTE", gt=0)
    settings_max_bytes: int = Field(16 * 1024, alias="SETTINGS_MAX_BYTES", gt=0)
    # provider -> {"authorize"|"token"|"user": URL}, from OAUTH_<PROVIDER>_<KIND>_URL or the defaults
    oauth_endpoints: dict[str, dict[str, str]]

    model_config = {"populate_by_name": True, "extra": "ignore"}


@lru_cache(maxsize=1)
def account_settings() -> AccountSettings:
    """Tests call ``account_settings.cache_clear()`` after changing the environment."""
    env = {k: v for k, v in os.environ.items() if v != ""}
    endpoints = {
        provider: {kind: env.get(f"OAUTH_{provider.upper()}_{kind.upper()}_URL", url) for kind, url in urls.items()}
        for provider, urls in DEFAULT_ENDPOINTS.items()
    }
    return AccountSettings.model_validate({**env, "oauth_endpoints": endpoints})
