"""A plain-HTTP proxy on loopback that answers each request `delay` seconds late: a slow metrics backend.

It forwards every request to a real upstream (Prometheus) and holds the answer back, so what a client
sees is Prometheus's own answer, only late. The delay can change while it runs; it counts the requests
(and the distinct query texts) it saw, so a test can tell how many queries an evaluation asked.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 drops an evaluation's burst of connections into SYN retries (1 s)


class SlowProxy:
    """`with SlowProxy("http://127.0.0.1:9090", delay=8) as proxy:` then point a client at `proxy.url`."""

    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.requests = 0
        self.queries: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="slow-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget the requests counted so far."""
        with self._lock:
            self.requests = 0
            self.queries.clear()

    def _count(self, path: str, body: bytes) -> None:
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query) | urllib.parse.parse_qs(body.decode("latin-1"))
        with self._lock:
            self.requests += 1
            for query in params.get("query", []):
                self.queries[query] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy._count(self.path, body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
                request = urllib.request.Request(proxy.upstream + self.path, data=body or None, headers=headers,
                                                 method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        status, answer_headers, payload = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as refused:
                    status, answer_headers, payload = refused.code, refused.headers, refused.read()
                time.sleep(proxy.delay)
                self.send_response(status)
                for name, value in answer_headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is what a timeout does

            do_GET = _forward
            do_POST = _forward

        return Handler

    def __enter__(self) -> SlowProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
