"""The ETL queue as template.yaml declares it, run by the local in-process broker: a job that keeps
failing transiently is redelivered until maxReceiveCount, then lands in the dead-letter queue, its
snapshot marked dead-lettered."""

from __future__ import annotations

import json
import time

import pytest

from frontline.local import queues as local_queues
from frontline.local import template
from frontline.starforge import etl, worker
from frontline.starforge.generator import generate_profile
from frontline.starforge.settings import settings as starforge_settings
from tests.conftest import PROJECT_ROOT

APP = template.read(PROJECT_ROOT / "template.yaml")


def test_the_template_wires_the_etl_queue_to_its_dead_letter_queue():
    queue = APP.queues["StarforgeEtlQueue"]
    assert queue.dead_letter_queue == "StarforgeEtlDeadLetterQueue" and queue.max_receive_count == 5
    trigger = next(t for t in APP.queue_triggers if t.queue == "StarforgeEtlQueue")
    assert trigger.function == "StarforgeEtlFunction" and trigger.report_batch_item_failures
    for function in ("StarforgeIngestFunction", "StarforgeEtlFunction", "StarforgeAdminFunction"):
        assert APP.functions[function].environment["STARFORGE_ETL_QUEUE_URL"] == \
            template.local_queue_url("StarforgeEtlQueue")
    # The worker marks a snapshot dead-lettered when its job fails on the queue's last receive.
    assert int(APP.functions["StarforgeEtlFunction"].environment["STARFORGE_ETL_MAX_RECEIVES"]) == \
        queue.max_receive_count


@pytest.fixture
def broker(database, monkeypatch):
    monkeypatch.setattr(local_queues, "LOCAL_VISIBILITY_CAP_SECONDS", 0.01)
    monkeypatch.setattr(local_queues, "_broker", None)
    monkeypatch.setattr(worker.metrics, "namespace", "FrontlineTest")
    monkeypatch.setenv("STARFORGE_ETL_QUEUE_URL", template.local_queue_url("StarforgeEtlQueue"))
    starforge_settings.cache_clear()
    running = local_queues.install(APP)
    running.start()
    yield running
    running.stop()
    starforge_settings.cache_clear()


def test_a_job_failing_every_time_goes_to_the_dead_letter_queue_after_5_receives(broker, conn, conn_factory):
    snapshot_id = str(conn.execute(
        "INSERT INTO starforge.hero_snapshots (source, raw, size_bytes, content_hash)"
        " VALUES ('login', %s::jsonb, 0, '') RETURNING id", (json.dumps(generate_profile(1, troops=10)),)
    ).fetchone()[0])
    with conn_factory() as live_worker:
        assert isinstance(etl.claim(live_worker, snapshot_id), etl.Claim)  # held for the whole test
    broker.send("StarforgeEtlQueue", json.dumps({"snapshot_id": snapshot_id}))
    deadline = time.monotonic() + 20
    while broker.depth("StarforgeEtlDeadLetterQueue") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.depth("StarforgeEtlDeadLetterQueue") == 1
    assert broker.depth("StarforgeEtlQueue") == 0
    assert broker.messages["StarforgeEtlDeadLetterQueue"][0].body == json.dumps({"snapshot_id": snapshot_id})
    # The last receive's failure marked the snapshot: its status stops reading "retrying".
    assert conn.execute("SELECT last_error -> 'dead_lettered' FROM starforge.hero_snapshots WHERE id = %s",
                        (snapshot_id,)).fetchone()[0] is True
