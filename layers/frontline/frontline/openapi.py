"""The one OpenAPI document of the whole HTTP API, and the routes that serve it.

Powertools generates it: every function that template.yaml routes HTTP requests to is loaded, and
its resolver's schema is merged (``OpenAPIMerge``). The document is committed as docs/openapi.json (a
test keeps it current: ``python -m frontline.openapi --write`` regenerates it), shipped beside the
``OpenApiFunction`` handler, and served at ``GET /api/openapi.json`` with a Swagger UI page at
``GET /api/docs``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

import frontline
from frontline.web import cached_response, etag_matches, request_etags

PROJECT_ROOT = Path(__file__).resolve().parents[3]
COMMITTED_DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"
TITLE = "Frontline API"
DESCRIPTION = ("Helldivers 1 campaign tracker and StarForge profile ingestion. Errors are "
               '`{"error": {"code", "message"}}` with a 4xx status; times are unix seconds.')

router = Router()

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Frontline API</title>
  <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
  <script>SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});</script>
</body>
</html>
"""


# --- generation --------------------------------------------------------------------------------------


def _handler_files(template_path: Path) -> list[Path]:
    from frontline.local import template

    application = template.read(template_path)
    files = []
    for name in sorted({route.function for route in application.routes}):
        function = application.functions[name]
        module = function.handler.rsplit(".", 1)[0]
        files.append(function.code_uri / f"{module.replace('.', '/')}.py")
    return files


def _without_validation_422(schema: dict[str, Any]) -> dict[str, Any]:
    """Powertools documents request-validation failures as 422; our resolver answers them with 400 and
    the project's error body (every route with parameters declares that 400)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return schema


def generate(template_path: Path = PROJECT_ROOT / "template.yaml") -> str:
    """The document, as the text docs/openapi.json holds."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(title=TITLE, version=frontline.__version__, description=DESCRIPTION, on_conflict="error")
    for path in _handler_files(template_path):
        merge.add_file(path, resolver_name="app")
    schema = json.loads(merge.get_openapi_json_schema())
    return json.dumps(_without_validation_422(schema), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontline.openapi", description="print or write docs/openapi.json")
    parser.add_argument("--write", action="store_true", help=f"write {COMMITTED_DOCUMENT.relative_to(PROJECT_ROOT)}")
    args = parser.parse_args(argv)
    document = generate()
    if args.write:
        COMMITTED_DOCUMENT.write_text(document, encoding="utf-8")
        print(f"wrote {COMMITTED_DOCUMENT}")
    else:
        sys.stdout.write(document)
    return 0


# --- serving -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def served_document() -> tuple[str, str]:
    """``(text, etag)``: the copy shipped beside the Lambda handler, else the checkout's."""
    shipped = Path(os.environ.get("LAMBDA_TASK_ROOT", "/nonexistent")) / "openapi.json"
    text = (shipped if shipped.is_file() else COMMITTED_DOCUMENT).read_text(encoding="utf-8")
    return text, f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


@router.get("/api/openapi.json", summary="This document", tags=["platform"])
def get_openapi_document():
    text, etag = served_document()
    current = etag_matches(request_etags(router.current_event.headers.get("if-none-match")), etag)
    return cached_response(etag, None if current else text, max_age=300)


@router.get("/api/docs", summary="Swagger UI over this document", tags=["platform"])
def get_docs_page():
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=_DOCS_PAGE,
                    headers={"Cache-Control": "public, max-age=3600"})


if __name__ == "__main__":
    sys.exit(main())
