"""A real webhook receiver on loopback (stdlib ThreadingHTTPServer) that can be healthy, slow, failing or down.

Tests read what it received (path, headers, JSON body) and switch its behaviour
while a run is in flight: `delay` makes every answer slow, `status` makes it
answer with that code, `stop()` takes it down (connection refused afterwards).
`answers` queues (status, Retry-After or None) for the next requests (a 429 with
Retry-After, say) before falling back to `status`. GET requests are recorded too
(in `gets`, with their headers), so a client's headers can be checked.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() when the request arrived


@dataclass
class WebhookReceiver:
    delay: float = 0.0
    status: int = 200
    received: list[Received] = field(default_factory=list)
    hits: int = 0  # requests that arrived, whatever they were answered
    answers: list[tuple[int, str | None]] = field(default_factory=list)  # (status, Retry-After) for the next POSTs
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of every POST, whatever it was answered
    gets: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.hits += 1
                    receiver.arrivals.append(time.monotonic())
                    delay, status = receiver.delay, receiver.status
                    retry_after = None
                    if receiver.answers:
                        status, retry_after = receiver.answers.pop(0)
                if delay:
                    time.sleep(delay)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                if 200 <= status < 300:  # recorded before answering: the sender may look as soon as it has the answer
                    with receiver._lock:
                        receiver.received.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                        receiver._arrived.notify_all()
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                with receiver._lock:
                    receiver.gets.append(Received(self.path, dict(self.headers), None, time.monotonic()))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Down: the listening socket is closed, new connections are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until `count` notifications were received (answered 2xx)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"received {len(self.received)} of {count} notifications within {timeout:g}s")
                self._arrived.wait(left)
            return list(self.received)

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.received]
