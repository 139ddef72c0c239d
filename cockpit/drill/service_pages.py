"""The simulated service's own pages, for the preflight and red-team HTTP checks (served by the simulator's port).

- `GET /`: the canary's page with its security headers (CSP, COEP, COOP,
  HSTS), less those a scenario's `[before_t0] missing_headers` names; its
  sub-resources are same-origin and carry Cross-Origin-Resource-Policy.
- `POST /api/orders`: the idempotent orders API: one order per Idempotency-Key,
  written to the drill's PostgreSQL (the burst check counts them there); 503
  while the database is not there.
- `POST /csp-report`: the CSP report endpoint, rate-limited (429 past 5 a second).
- `GET /flags`: the feature flags (JSON), at their defaults.
- `GET /api/v2/silences`: an Alertmanager's silences list (none): the drill has no alerts to silence.
- `GET /ws` (Upgrade: websocket): a WebSocket echo, for the blast radius' WS part.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; report-uri /csp-report",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
FLAGS = {"new_checkout": False, "risk_engine_v2": True, "max_order_size": 100}
CSP_REPORTS_PER_SECOND = 5
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PAGE = b"""<!doctype html>
<html><head><title>DRILL canary</title>
<link rel="stylesheet" href="/static/site.css">
<script src="/static/app.js"></script>
</head><body><img src="/static/logo.png" alt="logo"><p>The drill's simulated canary.</p></body></html>
"""


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"


@dataclass
class ServicePages:
    """The pages' state: which headers are left out, the orders database (once up), the CSP rate window."""

    missing_headers: tuple[str, ...] = ()
    orders_dsn: Callable[[], str | None] = lambda: None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _csp_window: tuple[int, int] = (0, 0)

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The reply for one request, or None when the path is not one of these pages."""
        if method in ("GET", "HEAD") and path in ("/", "/index.html"):
            sent = {k: v for k, v in SECURITY_HEADERS.items() if k not in self.missing_headers}
            return Reply(200, PAGE, sent, "text/html; charset=utf-8")
        if method in ("GET", "HEAD") and path.startswith("/static/"):
            return Reply(200, b"/* drill */", {"Cross-Origin-Resource-Policy": "same-origin"})
        if method == "GET" and path == "/flags":
            return Reply(200, json.dumps(FLAGS).encode(), content_type="application/json")
        if method == "GET" and path == "/api/v2/silences":
            return Reply(200, b"[]", content_type="application/json")
        if method == "POST" and path == "/api/orders":
            return self._order(headers, body)
        if method == "POST" and path == "/csp-report":
            return self._csp_report()
        return None

    def _order(self, headers: dict[str, str], body: bytes) -> Reply:
        key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
        if not key:
            return Reply(400, b'{"error": "Idempotency-Key required"}', content_type="application/json")
        dsn = self.orders_dsn()
        if dsn is None:
            return Reply(503, b'{"error": "the drill database is not up"}', content_type="application/json")
        try:
            order = json.loads(body or b"{}")
            instrument, price, quantity = int(order["instrument_id"]), str(order["price"]), str(order["quantity"])
        except (ValueError, KeyError, TypeError):
            return Reply(422, b'{"error": "expected instrument_id, price, quantity"}', content_type="application/json")
        import psycopg

        with psycopg.connect(dsn, autocommit=False, connect_timeout=5) as conn:
            # One writer per key at a time; a replay finds the first order and returns it.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
            row = conn.execute("SELECT id FROM orders WHERE idempotency_key = %s", (key,)).fetchone()
            if row is not None:
                return Reply(200, json.dumps({"order_id": row[0], "replayed": True}).encode(), content_type="application/json")
            row = conn.execute(
                "INSERT INTO orders (instrument_id, price, quantity, idempotency_key) VALUES (%s, %s, %s, %s) RETURNING id",
                (instrument, price, quantity, key),
            ).fetchone()
        assert row is not None
        return Reply(201, json.dumps({"order_id": row[0]}).encode(), content_type="application/json")

    def _csp_report(self) -> Reply:
        second = int(time.monotonic())
        with self._lock:
            window, count = self._csp_window
            count = count + 1 if window == second else 1
            self._csp_window = (second, count)
        if count > CSP_REPORTS_PER_SECOND:
            return Reply(429, b"slow down", {"Retry-After": "1"})
        return Reply(204)


def websocket_echo(handler: Any) -> None:
    """Answer a WebSocket upgrade on a BaseHTTPRequestHandler and echo frames (RFC 6455, up to 64 KiB) until close."""
    accept = base64.b64encode(hashlib.sha1((handler.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest()).decode()
    handler.protocol_version = "HTTP/1.1"  # this connection only: WebSocket clients refuse an HTTP/1.0 101
    handler.send_response(101)
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.end_headers()
    handler.wfile.flush()
    while True:
        head = handler.rfile.read(2)
        if len(head) < 2:
            break
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(handler.rfile.read(2), "big")
        elif length == 127:
            break  # larger than the blast radius sends
        mask = handler.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(handler.rfile.read(length)))
        if opcode == 0x8:  # close: answer it and stop
            handler.wfile.write(bytes([0x88, len(payload[:2])]) + payload[:2])
            break
        if opcode == 0x9:  # ping -> pong
            opcode = 0xA
        size = bytes([len(payload)]) if len(payload) < 126 else bytes([126]) + len(payload).to_bytes(2, "big")
        handler.wfile.write(bytes([0x80 | opcode]) + size + payload)
        handler.wfile.flush()
    handler.close_connection = True
