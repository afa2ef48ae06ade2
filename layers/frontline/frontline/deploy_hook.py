"""The CloudFormation custom resource that runs migrations on deploy.

It always answers CloudFormation: SUCCESS or FAILED with the reason, including when the work raises
or when the Lambda is about to time out (a timer answers FAILED first), so a stack never hangs for an
hour waiting on us. Delete is a no-op; the physical resource id never changes.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from frontline import migrate

logger = Logger()

PHYSICAL_RESOURCE_ID = "frontline-schema-migrations"
TIMEOUT_MARGIN_MS = 3_000
REASON_LIMIT = 3_000  # CloudFormation truncates longer reasons; keep the start, which names the error


def send_response(event: dict[str, Any], status: str, reason: str = "", data: dict | None = None) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:REASON_LIMIT] or status,
            "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_RESOURCE_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data or {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (pre-signed S3 URL)
        response.read()


def _run_migrations(_event: dict[str, Any]) -> dict[str, Any]:
    applied = migrate.migrate()
    return {"Applied": ",".join(applied), "MigrationsHash": migrate.directory_hash()}


def handle(event: dict[str, Any], context: Any, work: Callable[[dict], dict] = _run_migrations) -> None:
    answered = threading.Event()
    lock = threading.Lock()

    def answer(status: str, reason: str = "", data: dict | None = None) -> None:
        with lock:
            if answered.is_set():
                return
            answered.set()
        try:
            send_response(event, status, reason, data)
        except Exception:
            logger.exception("could not answer CloudFormation", extra={"status": status})

    remaining_ms = context.get_remaining_time_in_millis() if context else 900_000
    timer = threading.Timer(
        max(remaining_ms - TIMEOUT_MARGIN_MS, 0) / 1000,
        answer,
        args=("FAILED", "migration run timed out before finishing; the database keeps every completed migration"),
    )
    timer.daemon = True
    timer.start()
    try:
        request_type = event.get("RequestType")
        if request_type == "Delete":
            answer("SUCCESS", "delete is a no-op: the schema outlives the stack")
        elif request_type in ("Create", "Update"):
            data = work(event)
            logger.info("migrations applied", extra=data)
            answer("SUCCESS", "migrations applied", data)
        else:
            answer("FAILED", f"unknown RequestType {request_type!r}")
    except Exception as exc:
        logger.exception("migration custom resource failed")
        answer("FAILED", f"{type(exc).__name__}: {exc}")
    finally:
        timer.cancel()
