"""Send messages to SQS. A ``local://queue/<Name>`` URL (what the local runtime puts in the
environment) goes to the in-process broker, which delivers to the same handler Lambda would run."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

LOCAL_PREFIX = "local://queue/"


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3  # imported on first send only: it costs cold-start time on every other path

    return boto3.client("sqs")


def send(queue_url: str, body: str) -> str:
    """Send one message; return its message id."""
    if queue_url.startswith(LOCAL_PREFIX):
        from frontline.local.queues import broker

        return broker().send(queue_url.removeprefix(LOCAL_PREFIX), body)
    return _sqs().send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
