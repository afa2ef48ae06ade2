"""Serve template.yaml's HttpApi routes over HTTP on loopback, one handler invocation per request."""

from __future__ import annotations

import base64
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

from frontline.local import invoke
from frontline.local.events import http_api_event
from frontline.local.template import Application, Route

log = logging.getLogger("frontline.local.server")


def _path_pattern(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    pattern = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}$")


class Router:
    """Matches a request to a route the way API Gateway does: exact paths before parameterized ones."""

    def __init__(self, routes: list[Route]):
        ordered = sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))
        self.routes = [(route, _path_pattern(route.path)) for route in ordered]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self.routes:
            if route.method not in (method, "ANY"):
                continue
            found = pattern.match(path)
            if found:
                return route, found.groupdict()
        return None


def _to_http(result: object) -> tuple[int, dict[str, str], list[str], bytes]:
    """Turn a handler's payload-2.0 result into status, headers, cookies and body."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, [], json.dumps(result).encode()
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(values)
    return int(result["statusCode"]), headers, list(result.get("cookies") or []), raw


class _PooledHTTPServer(HTTPServer):
    """A bounded thread pool, so each worker thread keeps its database connection across requests."""

    daemon_threads = True

    def __init__(self, address, handler, workers: int = 8):
        super().__init__(address, handler)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="http")

    def process_request(self, request, client_address):
        self.pool.submit(self._work, request, client_address)

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self):
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def make_server(app: Application, host: str, port: int) -> HTTPServer:
    router = Router(app.routes)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            matched = router.match(self.command, url.path)
            if matched is None:
                self._send(404, {"content-type": "application/json"}, [],
                           b'{"error":{"code":"not_found","message":"no route in template.yaml matches"}}')
                return
            route, params = matched
            event = http_api_event(
                method=self.command,
                raw_path=url.path,
                raw_query=url.query,
                headers=dict(self.headers.items()),
                body=body,
                route_key=route.route_key,
                path_parameters=params,
                source_ip=self.client_address[0],
            )
            try:
                result = invoke.invoke(app.functions[route.function], event)
                self._send(*_to_http(result))
            except Exception:
                log.exception("%s raised", route.function)
                self._send(500, {"content-type": "application/json"}, [],
                           b'{"message":"Internal Server Error"}')

        def _send(self, status: int, headers: dict[str, str], cookies: list[str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection"):
                    self.send_header(key, value)
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

        def log_message(self, fmt: str, *args) -> None:
            log.info("%s %s", self.address_string(), fmt % args)

    return _PooledHTTPServer((host, port), Handler)
