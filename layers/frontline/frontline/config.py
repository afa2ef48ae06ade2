"""Settings read from the environment once per process, validated by pydantic."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

# In a source checkout the migrations sit at the project root; in Lambda the code layer ships them
# under /opt/migrations and MIGRATIONS_DIR says so.
_CHECKOUT_MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"

OFFICIAL_H1_API_URL = "https://api.helldiversgame.com/1.0/"


class Settings(BaseModel):
    postgres_url: str | None = Field(None, alias="POSTGRES_URL")
    db_secret_arn: str | None = Field(None, alias="DB_SECRET_ARN")
    db_connect_timeout: int = Field(5, alias="DB_CONNECT_TIMEOUT", ge=1)
    # Server-side prepared statements for a function that runs the same statements over and over (the
    # StarForge ETL). Behind RDS Proxy they pin the client's session to one database connection.
    db_prepared_statements: bool = Field(False, alias="DB_PREPARED_STATEMENTS")
    migrations_dir: Path = Field(_CHECKOUT_MIGRATIONS, alias="MIGRATIONS_DIR")
    bucket_size: int = Field(900, alias="BUCKET_SIZE", gt=0)
    poll_interval_minutes: int = Field(1, alias="POLL_INTERVAL_MINUTES", gt=0)
    h1_api_url: str = Field(OFFICIAL_H1_API_URL, alias="H1_API_URL")
    h1_tls_verify: bool | None = Field(None, alias="H1_TLS_VERIFY")
    h1_timeout_seconds: float = Field(10.0, alias="H1_TIMEOUT_SECONDS", gt=0)

    model_config = {"populate_by_name": True, "extra": "ignore"}


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings. Tests and the local runtime call ``settings.cache_clear()`` after
    changing the environment."""
    return Settings.model_validate(
        {k: v for k, v in os.environ.items() if v != ""}
    )
