"""The official Helldivers 1 API client: form POSTs with timeouts, bounded retries and typed errors."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urlsplit

import urllib3
from pydantic import BaseModel, ValidationError

from frontline.config import settings
from frontline.h1.models import CampaignStatus, SeasonSnapshots, UpstreamErrorBody

log = logging.getLogger(__name__)

# The official host serves a certificate that does not verify; it alone is exempt by default.
UNVERIFIABLE_HOSTS = frozenset({"api.helldiversgame.com"})
RETRIES = urllib3.Retry(
    total=3,
    connect=3,
    read=2,
    status=3,
    backoff_factor=0.5,
    status_forcelist=(500, 502, 503, 504),
    allowed_methods=None,  # the API is read-only even though it takes POST
    raise_on_status=False,
)

Model = TypeVar("Model", bound=BaseModel)


class UpstreamFailure(Exception):
    """Base of the typed upstream errors; ``kind`` is what the heartbeat and metrics record."""

    kind = "upstream"


class UpstreamUnavailable(UpstreamFailure):
    kind = "unavailable"


class UpstreamMalformed(UpstreamFailure):
    kind = "malformed"


class UpstreamError(UpstreamFailure):
    kind = "error_code"

    def __init__(self, code: int, message: str | None):
        super().__init__(f"upstream error_code {code}: {message or 'no message'}")
        self.code = code
        self.message = message


def tls_verify(url: str) -> bool:
    configured = settings().h1_tls_verify
    if configured is not None:
        return configured
    return urlsplit(url).hostname not in UNVERIFIABLE_HOSTS


@lru_cache(maxsize=4)
def _pool(verify: bool) -> urllib3.PoolManager:
    if not verify:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        log.warning("TLS verification is off for the Helldivers 1 API host (its certificate does not verify)")
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE", retries=RETRIES, maxsize=2)


def _call(fields: dict[str, str], model: type[Model]) -> Model:
    cfg = settings()
    url = cfg.h1_api_url
    try:
        response = _pool(tls_verify(url)).request(
            "POST", url, fields=fields, encode_multipart=False,
            timeout=urllib3.Timeout(total=cfg.h1_timeout_seconds),
        )
    except urllib3.exceptions.HTTPError as exc:  # timeouts and connection errors, after retries
        raise UpstreamUnavailable(f"{fields['action']}: {type(exc).__name__}: {exc}") from exc
    if response.status >= 500:
        raise UpstreamUnavailable(f"{fields['action']}: HTTP {response.status} after retries")
    if response.status != 200:
        raise UpstreamMalformed(f"{fields['action']}: unexpected HTTP {response.status}")
    try:
        body = json.loads(response.data)
    except ValueError as exc:
        raise UpstreamMalformed(f"{fields['action']}: response is not JSON ({exc})") from exc
    if isinstance(body, dict) and body.get("error_code") not in (0, None):
        try:
            error = UpstreamErrorBody.model_validate(body)
        except ValidationError as exc:
            raise UpstreamMalformed(f"{fields['action']}: error body breaks the schema: {exc.error_count()} errors") from exc
        raise UpstreamError(error.error_code, error.error_message)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise UpstreamMalformed(f"{fields['action']}: payload breaks the schema: {exc.error_count()} errors: "
                                f"{exc.errors(include_url=False)[:3]}") from exc


def get_campaign_status() -> CampaignStatus:
    return _call({"action": "get_campaign_status"}, CampaignStatus)


def get_snapshots(season: int) -> SeasonSnapshots:
    return _call({"action": "get_snapshots", "season": str(season)}, SeasonSnapshots)
