"""The migration custom resource, invoked with CloudFormation's events against a real database; a
loopback HTTP server stands in for the pre-signed S3 response URL."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
import pytest

from frontline import deploy_hook, migrate
from frontline.local.invoke import LambdaContext, load_handler
from frontline.local.template import Function
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def response_url():
    """A loopback server that records each PUT body, as S3 would store it for CloudFormation."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/signed?X-Amz-Signature=abc", received
    server.shutdown()
    server.server_close()


def _event(request_type: str, url: str, **extra) -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/frontline/1",
        "RequestId": f"req-{request_type}",
        "LogicalResourceId": "SchemaMigrations",
        "ResourceType": "Custom::SchemaMigrations",
        "ResourceProperties": {"MigrationsHash": migrate.directory_hash()},
        **extra,
    }


def _invoke(event, timeout=60):
    """Call functions/migrate/app.py's handler exactly as Lambda would."""
    function = Function("MigrateFunction", PROJECT_ROOT / "functions" / "migrate", "app.lambda_handler", timeout, {})
    load_handler(function)(event, LambdaContext("MigrateFunction", timeout))


def test_create_applies_migrations_and_answers_success(empty_database, conn_factory, response_url):
    url, received = response_url
    _invoke(_event("Create", url))
    (answer,) = received
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == deploy_hook.PHYSICAL_RESOURCE_ID
    assert answer["RequestId"] == "req-Create" and answer["LogicalResourceId"] == "SchemaMigrations"
    assert answer["Data"]["MigrationsHash"] == migrate.directory_hash()
    with conn_factory() as conn:
        assert migrate.status(conn).current


def test_update_keeps_physical_id_and_is_idempotent(empty_database, response_url):
    url, received = response_url
    _invoke(_event("Create", url))
    _invoke(_event("Update", url, PhysicalResourceId=deploy_hook.PHYSICAL_RESOURCE_ID))
    assert [a["Status"] for a in received] == ["SUCCESS", "SUCCESS"]
    assert received[1]["PhysicalResourceId"] == deploy_hook.PHYSICAL_RESOURCE_ID
    assert received[1]["Data"]["Applied"] == ""


def test_delete_is_a_no_op(empty_database, conn_factory, response_url):
    url, received = response_url
    _invoke(_event("Delete", url, PhysicalResourceId=deploy_hook.PHYSICAL_RESOURCE_ID))
    assert received[0]["Status"] == "SUCCESS"
    with conn_factory() as conn:
        assert conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone()[0] is None


def test_bad_migration_answers_failed_with_the_reason(empty_database, response_url, tmp_path, monkeypatch):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_bad.sql").write_text("CREATE TABLE broken (;\n")
    monkeypatch.setenv("MIGRATIONS_DIR", str(folder))
    url, received = response_url
    _invoke(_event("Create", url))
    (answer,) = received
    assert answer["Status"] == "FAILED"
    assert "SyntaxError" in answer["Reason"]


def test_unreachable_database_answers_failed(monkeypatch, response_url):
    monkeypatch.setenv("POSTGRES_URL", "host=/nonexistent dbname=nothing connect_timeout=1")
    url, received = response_url
    _invoke(_event("Update", url, PhysicalResourceId=deploy_hook.PHYSICAL_RESOURCE_ID))
    assert received[0]["Status"] == "FAILED"
    assert "OperationalError" in received[0]["Reason"]


def test_timeout_answers_failed_before_lambda_dies(response_url):
    url, received = response_url
    finished = threading.Event()

    def too_slow(_event):
        finished.wait(10)
        return {}

    context = LambdaContext("MigrateFunction", timeout_seconds=deploy_hook.TIMEOUT_MARGIN_MS // 1000 + 1)
    worker = threading.Thread(target=deploy_hook.handle, args=(_event("Create", url), context, too_slow))
    worker.start()
    worker.join(timeout=3)
    try:
        assert [a["Status"] for a in received] == ["FAILED"]
        assert "timed out" in received[0]["Reason"]
    finally:
        finished.set()
        worker.join()
    assert len(received) == 1, "a late finish must not answer a second time"


def test_template_hash_matches_migrations_folder():
    """template.yaml's MigrationsHash must change whenever migrations/ does, or the hook won't run."""
    text = (PROJECT_ROOT / "template.yaml").read_text()
    assert f"MigrationsHash: {migrate.directory_hash()}" in text, "run `frontline migrations hash --write`"
