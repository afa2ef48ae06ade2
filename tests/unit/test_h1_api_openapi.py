"""The committed OpenAPI document is the one powertools generates from every routed function, and it
names exactly template.yaml's routes."""

import json
import re

from frontline import openapi
from frontline.local import template
from tests.conftest import PROJECT_ROOT
from tests.integration.test_h1_api import request


def test_the_committed_document_is_current():
    assert openapi.COMMITTED_DOCUMENT.read_text(encoding="utf-8") == openapi.generate(), (
        "docs/openapi.json is stale: run `.venv/bin/python -m frontline.openapi --write`")


def test_the_document_names_exactly_the_template_routes():
    document = json.loads(openapi.COMMITTED_DOCUMENT.read_text(encoding="utf-8"))
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    routes = {(route.method, route.path) for route in template.read(PROJECT_ROOT / "template.yaml").routes}
    assert documented == routes
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]  # validation failures are 400 with the project's error body


def test_the_document_and_its_docs_page_are_served():
    answer = request("GET", "/api/openapi.json")
    assert answer.status == 200 and json.loads(answer.text)["info"]["title"] == openapi.TITLE
    assert request("GET", "/api/openapi.json", headers={"If-None-Match": answer.headers["etag"]}).status == 304
    page = request("GET", "/api/docs")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert re.search(r'url: "openapi.json"', page.text)
