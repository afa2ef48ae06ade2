from frontline import health, web
from frontline.h1 import api, ingest, poller


def test_if_none_match_is_parsed_with_weak_comparison():
    assert web.request_etags('W/"a1", "b2" ,c3') == ["a1", "b2", "c3"]
    assert web.request_etags(None) == [] and web.request_etags("*") == ["*"]
    assert web.etag_matches(["x", "b2"], '"b2"') and web.etag_matches(["*"], '"b2"')
    assert not web.etag_matches([], '"b2"')


def test_health_watches_the_pollers_heartbeat():
    assert health.HEARTBEAT_WORKER == poller.WORKER_TYPE


def test_statistics_responses_carry_every_stored_statistic():
    assert set(api.Statistics.model_fields) == {"enemy", "time", *ingest.STATISTIC_COLUMNS, *ingest.STATISTIC_BIGINT_COLUMNS}
