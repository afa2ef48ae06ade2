"""`frontline dev` end to end for StarForge: a snapshot posted over HTTP goes through the in-process
SQS broker to the ETL function and ends as a readable profile summary."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from frontline.starforge.generator import generate_profile, namecode_for
from tests.conftest import PROJECT_ROOT
from tests.e2e.test_dev import _free_port, _wait_for
from tests.integration.test_starforge_api import admin_api_key


def _request(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_posted_snapshot_becomes_a_readable_summary(database, capsys):
    api_key = admin_api_key(capsys)
    port = _free_port()
    env = os.environ | {"POSTGRES_URL": database, "H1_API_URL": "http://127.0.0.1:9/"}
    process = subprocess.Popen(
        [sys.executable, "-m", "frontline.cli", "dev", "--port", str(port), "--no-schedules"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/health").close()
        body = json.dumps({"source": "cli_upload", "payload": generate_profile(77)}).encode()
        status, posted = _request(f"{base}/api/v1/snapshots", body,
                                  {"Content-Type": "application/json", "X-API-Key": api_key})
        assert status == 202, posted
        deadline = time.monotonic() + 30
        while True:
            status, summary = _request(f"{base}/api/v1/profile/summary/{namecode_for(77)}")
            if status == 200 or time.monotonic() > deadline:
                break
            assert status == 202 and summary["estimated_ready_in_seconds"] >= 1
            time.sleep(0.2)
        assert status == 200, summary
        assert summary["snapshot_id"] == posted["snapshot_id"] and len(summary["top_troops"]) == 5
        status, state = _request(f"{base}/api/v1/snapshots/{posted['snapshot_id']}/status")
        assert status == 200 and state["status"] == "processed"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
