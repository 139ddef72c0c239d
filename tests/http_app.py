"""A real HTTP service for the HTTP checks' integration tests (stdlib ThreadingHTTPServer, loopback).

Two servers: the "canary" (pages with right and wrong security headers, an
idempotent and a broken orders API writing to a real PostgreSQL, a rate-limited
and an open CSP report endpoint, flags, slow, stalling and flaky endpoints, a WebSocket echo at /ws) and a second
one on another port, so its sub-resources are cross-origin to the canary's pages.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.services import free_port

HTTP_DB = "cockpit_http"
ORDERS_DDL = """
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    idempotency_key text,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""
CSP_REPORTS_PER_SECOND = 5
FLAGS = {"new_checkout": False, "risk_engine_v2": True, "max_order_size": 100, "banner": "off"}

GOOD_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; script-src 'self'; report-uri /csp-report"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
]
BAD_HEADERS = [
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
    ("X-Powered-By", "Express"),
    ("Set-Cookie", "sid=s3cr3t-session-value; Path=/; HttpOnly"),
]


def good_page(other: str) -> str:
    return f"""<!doctype html>
<html><head>
<link rel="stylesheet" href="/static/site.css">
<link rel="preload" href="{other}/head-405/font.css" as="style">
<script src="/static/app.js"></script>
<script src="{other}/cors/lib.js" crossorigin="anonymous"></script>
</head><body>
<img src="{other}/corp/logo.png" alt="logo">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<iframe src="{other}/frame"></iframe>
<a href="{other}/nocorp/not-a-subresource.js">links are not sub-resources</a>
</body></html>
"""


def bad_page(other: str) -> str:
    return f"""<!doctype html>
<html><head>
<script src="/static/app.js"></script>
<script src="{other}/nocorp/tracker.js"></script>
<script src="{other}/corp/lib.js" crossorigin></script>
</head><body><img src="{other}/corp/logo.png"></body></html>
"""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "text/plain; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms a request
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _respond(self, head_only: bool) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            response = self.server.route(self.command, self.path, dict(self.headers.items()), body)
        except Exception as exc:  # a test server bug shows as a 500, as a real one would
            response = Response(500, f"internal error: {exc}".encode())
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(response.body)

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket_echo()
            return
        self._respond(head_only=False)

    def _websocket_echo(self) -> None:
        """A WebSocket echo: the canary's WS endpoint, the same one the drill's simulated service serves."""
        from cockpit.drill.service_pages import websocket_echo

        websocket_echo(self)

    def do_POST(self) -> None:
        self._respond(head_only=False)

    def do_HEAD(self) -> None:
        self._respond(head_only=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a burst of 200 requests opens many connections at once
    request_queue_size = 256

    def __init__(self, app: HttpApp, router: Any) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.app = app
        self.route = router

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        # A client that gave up (the timeout tests) is expected; anything else is printed as usual.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class HttpApp:
    """The canary-like service and its cross-origin sibling; counters are thread-safe."""

    def __init__(self, dsn: str | None) -> None:
        self.dsn = dsn
        self._lock = threading.Lock()
        self._flaky_count = 0
        self._csp_window = (0, 0)  # (second, requests in it)
        self._stalls: dict[str, float] = {}  # key -> monotonic time its stall ends
        self.main = _Server(self, self._route_main)
        self.other = _Server(self, self._route_other)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.main.server_address[1]}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.main.server_address[1]}/ws"

    @property
    def other_url(self) -> str:
        return f"http://127.0.0.1:{self.other.server_address[1]}"

    def start(self) -> None:
        for server in (self.main, self.other):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for server in (self.main, self.other):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)

    # ------------------------------------------------------------ canary

    def _route_main(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        html = "text/html; charset=utf-8"
        if path in ("/", "/good"):
            return Response(200, good_page(self.other_url).encode(), GOOD_HEADERS, html)
        if path == "/bad":
            return Response(200, bad_page(self.other_url).encode(), BAD_HEADERS, html)
        if path == "/no-coep":
            page = f'<script src="{self.other_url}/nocorp/tracker.js"></script>'
            return Response(200, page.encode(), [GOOD_HEADERS[0]], html)
        if path == "/unreachable-sub":
            page = f'<script src="http://127.0.0.1:{query["port"][0]}/gone.js"></script>'
            return Response(200, page.encode(), GOOD_HEADERS, html)
        if path == "/redirect":
            return Response(301, b"", [("Location", "/good")])
        if path == "/error":
            return Response(503, b"down", GOOD_HEADERS)
        if path.startswith("/static/"):
            return Response(200, b"/* static */")
        if path == "/ok":
            return Response(200, b"ok")
        if path == "/slow":
            time.sleep(min(float(query.get("seconds", ["1"])[0]), 5.0))
            return Response(200, b"slow ok")
        if path == "/stall":
            # The first request for a key stalls the endpoint for `seconds`: every request for that key
            # arriving before then waits until it ends (a GC pause, a lock), after that it answers at once.
            key, seconds = query.get("key", ["-"])[0], min(float(query.get("seconds", ["1"])[0]), 5.0)
            with self._lock:
                until = self._stalls.setdefault(key, time.monotonic() + seconds)
            time.sleep(max(0.0, until - time.monotonic()))
            return Response(200, b"ok")
        if path == "/flaky":
            with self._lock:
                self._flaky_count += 1
                fail = self._flaky_count % 4 == 0
            return Response(500 if fail else 200, b"boom" if fail else b"ok")
        if path == "/flags":
            return Response(200, json.dumps(FLAGS).encode(), content_type="application/json")
        if path == "/flags-broken":
            return Response(200, b"{not json", content_type="application/json")
        if path == "/api/orders" and method == "POST":
            return self._order(headers, body, idempotent=True)
        if path == "/api/orders-broken" and method == "POST":
            return self._order(headers, body, idempotent=False)
        if path == "/csp-report" and method == "POST":
            return self._csp_report(limited=True)
        if path == "/csp-report-open" and method == "POST":
            return self._csp_report(limited=False)
        return Response(404, b"not found")

    def _order(self, headers: dict[str, str], body: bytes, idempotent: bool) -> Response:
        import psycopg

        key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
        if idempotent and not key:
            return Response(400, b'{"error": "Idempotency-Key required"}', content_type="application/json")
        with psycopg.connect(self.dsn, autocommit=False, connect_timeout=5) as conn:
            if idempotent:
                # One writer per key at a time; a replay finds the first order and returns it.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
                row = conn.execute("SELECT id FROM orders WHERE idempotency_key = %s", (key,)).fetchone()
                if row is not None:
                    return Response(200, json.dumps({"order_id": row[0]}).encode(), content_type="application/json")
            row = conn.execute(
                "INSERT INTO orders (idempotency_key, body) VALUES (%s, %s) RETURNING id",
                (key, body.decode("utf-8", "replace")),
            ).fetchone()
        return Response(201, json.dumps({"order_id": row[0]}).encode(), content_type="application/json")

    def _csp_report(self, limited: bool) -> Response:
        if limited:
            second = int(time.monotonic())
            with self._lock:
                window, count = self._csp_window
                count = count + 1 if window == second else 1
                self._csp_window = (second, count)
            if count > CSP_REPORTS_PER_SECOND:
                return Response(429, b"slow down", [("Retry-After", "1")])
        return Response(204)

    # ------------------------------------------------------------ cross-origin sibling

    def _route_other(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        path = urlsplit(target).path
        corp = [("Cross-Origin-Resource-Policy", "cross-origin")]
        if path.startswith("/corp/"):
            return Response(200, b"resource", corp)
        if path.startswith("/cors/"):
            return Response(200, b"resource", [("Access-Control-Allow-Origin", "*")])
        if path.startswith("/nocorp/"):
            return Response(200, b"resource")
        if path.startswith("/head-405/"):
            if method == "HEAD":
                return Response(405, b"", [("Allow", "GET")])
            return Response(200, b"resource", corp)
        if path == "/frame":
            return Response(200, b"<p>frame</p>", [*corp, ("Cross-Origin-Embedder-Policy", "require-corp")], "text/html")
        return Response(404, b"not found")


def create_schema(postgres: Any) -> str:
    """Create the tests' own database and orders table; returns its DSN."""
    postgres.psql(f"CREATE DATABASE {HTTP_DB}")
    postgres.psql(ORDERS_DDL, database=HTTP_DB)
    return postgres.dsn(HTTP_DB)
