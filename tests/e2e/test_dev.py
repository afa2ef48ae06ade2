"""`frontline dev` as a user runs it: its own embedded PostgreSQL in a state folder, real HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from tests.conftest import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float = 60) -> urllib.request.addinfourl:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return urllib.request.urlopen(url, timeout=5)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_dev_serves_health_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_URL"}
    env["H1_API_URL"] = "http://127.0.0.1:9/"  # never the real upstream from a test
    process = subprocess.Popen(
        [sys.executable, "-m", "frontline.cli", "dev", "--port", str(port), "--state-dir", str(tmp_path / "state"),
         "--no-schedules"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        with _wait_for(f"http://127.0.0.1:{port}/api/health") as response:
            assert response.status == 200
            body = json.loads(response.read())
        assert body["database"] == "reachable" and body["migrations"]["current"] is True
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/api/health" in output  # it prints the URLs it serves
    assert (tmp_path / "state" / "pgdata" / "PG_VERSION").exists()
    assert not (tmp_path / "state" / "pgdata" / "postmaster.pid").exists(), "the database must be stopped too"
