"""Generated input never gets a 5xx from any h1 endpoint, health or the OpenAPI routes."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontline.accounts.settings import account_settings
from tests.integration.accounts_support import api_key_header, make_user
from tests.integration.test_h1_api import filled, filled_template, request  # noqa: F401 (fixtures)

PARAMETERS = ["season", "from", "to", "resolution", "action"]
VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=0, max_value=5).map(str),
    st.sampled_from(["", "abc", "1e3", "0x10", " 3", "3.0", "900", "1800", "get_snapshots", "get_campaign_status",
                     "null", "[]", "%00", "٣"]),
    st.text(max_size=12),
)
TIMES = st.one_of(st.integers(-5, 2**32).map(str), st.integers(1_424_000_000, 1_430_000_000).map(str), VALUES)
# Mostly-valid campaign queries, so the examples reach the SQL as well as the validation.
CAMPAIGN_QUERIES = st.fixed_dictionaries(
    {"season": st.sampled_from(["1", "2", "3", "99"])},
    optional={"from": TIMES, "to": TIMES, "resolution": st.one_of(st.sampled_from(["900", "3600", "86400"]), TIMES)},
).map(urlencode)
QUERIES = st.one_of(st.lists(st.tuples(st.sampled_from(PARAMETERS), VALUES), max_size=5).map(urlencode),
                    CAMPAIGN_QUERIES)
READ_PATHS = ["/api/h1/live", "/api/h1/campaign", "/api/h1/seasons", "/api/h1/rebroadcast", "/api/health",
              "/api/openapi.json", "/api/docs"]
ETAGS = st.one_of(st.none(), st.text(max_size=20), st.just("*"), st.just('W/"x", "y"'))


@pytest.fixture
def key(filled, monkeypatch) -> dict[str, str]:
    """A key without a practical rate limit: the examples should reach the handler, not the 429."""
    monkeypatch.setenv("API_KEY_RATE_LIMIT_PER_MINUTE", "1000000")
    account_settings.cache_clear()
    with psycopg.connect(filled, autocommit=True) as conn:
        yield api_key_header(conn, make_user(conn, "fuzzer"))
    account_settings.cache_clear()


FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _headers(key: dict[str, str], etag: str | None) -> dict[str, str]:
    return {**key, **({"If-None-Match": etag} if etag is not None else {})}


@FUZZ
@given(path=st.sampled_from(READ_PATHS), query=QUERIES, etag=ETAGS)
def test_no_query_string_gets_a_5xx(key, path, query, etag):
    answer = request("GET", f"{path}?{query}", headers=_headers(key, etag))
    assert answer.status < 500, (path, query, answer.text)


@FUZZ
@given(segment=st.one_of(st.text(min_size=1, max_size=15), st.integers(-(2**40), 2**40).map(str)))
def test_no_season_path_segment_gets_a_5xx(filled, segment):
    answer = request("GET", f"/api/h1/seasons/{quote(segment, safe='')}")
    assert answer.status < 500, (segment, answer.text)


@FUZZ
@given(body=st.one_of(st.binary(max_size=40), QUERIES.map(str.encode)),
       content_type=st.sampled_from([None, "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]))
def test_no_rebroadcast_form_gets_a_5xx(key, body, content_type):
    headers = {**key, **({"Content-Type": content_type} if content_type else {})}
    answer = request("POST", "/api/h1/rebroadcast", headers=headers, body=body)
    assert answer.status < 500, (body, answer.text)
