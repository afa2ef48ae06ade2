"""The ETL queue consumer: one SQS record is one snapshot job, and a batch is processed together.

Batches go through powertools' ``BatchProcessor``, so a failed record is reported in
``batchItemFailures`` and only it comes back. A transient failure also pushes the message's
visibility out exponentially with its receive count (``STARFORGE_RETRY_BASE_SECONDS`` times 2^(n-1),
at most 15 minutes), and at least until another worker's claim on its snapshot can expire: that is
the retry backoff. After ``maxReceiveCount`` receives SQS moves the message to the dead-letter queue
(template.yaml: ``StarforgeEtlDeadLetterQueue``); a transient failure on that last receive marks its
snapshot ``dead_lettered``, so that its status and the profile summary stop reading "pending".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from frontline import db
from frontline.queues import LOCAL_PREFIX
from frontline.starforge import etl
from frontline.starforge.models import SnapshotJob
from frontline.starforge.settings import settings
from frontline.telemetry import new_metrics

logger = Logger(child=True)
metrics = new_metrics()
MAX_VISIBILITY_SECONDS = 900


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def retry_delay_seconds(receive_count: int, at_least: int = 0) -> int:
    """The backoff before the next receive; ``at_least`` is how long a claim still holds the snapshot,
    so that a message does not spend its receives on a claim that cannot be taken over yet."""
    backoff = settings().retry_base_seconds * 2 ** max(receive_count - 1, 0)
    return min(max(backoff, at_least), MAX_VISIBILITY_SECONDS)


def _receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)


def _delay_retry(record: SQSRecord, at_least: int) -> None:
    queue_url = settings().etl_queue_url
    if not queue_url or queue_url.startswith(LOCAL_PREFIX):
        return  # the local broker has its own short redelivery delay
    try:
        _sqs().change_message_visibility(QueueUrl=queue_url, ReceiptHandle=record.receipt_handle,
                                         VisibilityTimeout=retry_delay_seconds(_receive_count(record), at_least))
    except Exception:  # the queue's own visibility timeout still brings the message back
        logger.exception("could not delay the retry of message %s", record.message_id)


def _mark_dead_lettered(snapshot_ids: list[str]) -> None:
    """Their messages failed on their last receive: SQS moves them to the dead-letter queue next."""
    try:
        etl.mark_dead_lettered(db.connection(), snapshot_ids)
    except Exception:  # the database is gone: the snapshots read "retrying" until a redrive processes them
        logger.exception("could not mark dead-lettered snapshots", extra={"snapshot_ids": snapshot_ids})
    metrics.add_metric("StarforgeSnapshotsDeadLettered", MetricUnit.Count, len(snapshot_ids))


def _job(record: SQSRecord) -> SnapshotJob | None:
    try:
        return SnapshotJob.model_validate_json(record.body)
    except ValidationError:
        return None


def handle_batch(event: dict, context: Any) -> dict:
    """The whole batch's snapshots go to ``etl.process_snapshots`` at once (one claim, and each
    snapshot parsed while the previous one is written); then each record reports its own outcome."""
    records = list(map(SQSRecord, event["Records"]))
    jobs = {record.message_id: _job(record) for record in records}
    snapshot_ids = [job.snapshot_id for job in jobs.values() if job]
    try:
        outcomes = etl.process_snapshots(snapshot_ids)
    except Exception as exc:  # a bug or a refused claim: every record comes back, with the backoff
        logger.exception("the batch could not be processed")
        outcomes = dict.fromkeys(map(etl.snapshot_key, snapshot_ids), etl.TransientEtlError(f"batch failed: {exc}"))
    failed_last_time = [etl.snapshot_key(job.snapshot_id) for record in records
                        if (job := jobs[record.message_id]) is not None
                        and _receive_count(record) >= settings().etl_max_receives
                        and isinstance(outcomes[etl.snapshot_key(job.snapshot_id)], etl.TransientEtlError)]
    if failed_last_time:
        _mark_dead_lettered(failed_last_time)

    def handle_record(record: SQSRecord) -> str:
        job = jobs[record.message_id]
        if job is None:
            # Nothing to retry and no snapshot to blame: log it and let the message go.
            logger.error("malformed ETL message dropped", extra={"message_id": record.message_id})
            metrics.add_metric("StarforgeMalformedJobs", MetricUnit.Count, 1)
            return "malformed"
        outcome = outcomes[etl.snapshot_key(job.snapshot_id)]
        if isinstance(outcome, etl.TransientEtlError):
            metrics.add_metric("StarforgeEtlRetries", MetricUnit.Count, 1)
            _delay_retry(record, outcome.retry_after_seconds)
            raise outcome
        metrics.add_metric(f"StarforgeSnapshots_{outcome.value}", MetricUnit.Count, 1)
        logger.info("snapshot done", extra={"snapshot_id": str(job.snapshot_id), "outcome": outcome.value})
        return outcome.value

    # A batch whose every record failed is still a partial response: raising instead would make the
    # invocation an error (alarms) for what is an ordinary retry.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
