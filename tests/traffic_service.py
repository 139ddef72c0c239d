"""A small real HTTP service with a canary and a stable track per app, exporting the default playbook's metrics.

Each *app* (one canary run's service: label `app`) has two tracks, `canary` and `stable`, each with
its own behaviour (a `Profile`: 5xx rate and latency). A request to `GET /apps/NAME/TRACK` is served
by that track: a 5xx drawn at random at the track's rate (Bernoulli, one seeded generator per track),
a latency drawn from a log-normal and observed into the histogram (drawn, not slept: the service
stays cheap on a shared machine, and the histogram is what the cockpit judges). Which track serves a
request is the load balancer's choice (tests/load_generator.py reads `GET /weights`); the cockpit's
traffic commands set an app's canary weight with `POST /apps/NAME/weight` (tests/traffic_weight.py).

Metrics (labels app, track): the default playbook's names, so its 8 signals can be judged here:
`http_requests_total{code}`, `http_request_duration_seconds` (histogram), `idempotency_requests_total`
and `idempotency_conflicts_total` (every other request carries a key), `csp_violations_total`,
`risk_blocks_total`, `ws_staleness_seconds`, `nodejs_eventloop_lag_p99_seconds`,
`nodejs_gc_duration_seconds` (a summary). Every series is exported at 0 from registration on: a
missing series is no data to the cockpit, never 0.

    python tests/traffic_service.py --port 0   # prints its URL on the first line, serves until SIGTERM
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import sys
import threading
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest

TRACKS = ("canary", "stable")
# Bounds around the default limits (p95 200 ms): the sequential rule reads the bound at or above the limit.
BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 1.0, 2.5)


@dataclass
class Profile:
    """How one track behaves: its 5xx rate and its latency (log-normal: median and p95 in seconds)."""

    error_rate: float = 0.005
    latency_median: float = 0.06
    latency_p95: float = 0.12
    seed: int = 1

    def sigma(self) -> float:
        # p95 of a log-normal is median * exp(1.645 sigma)
        return math.log(self.latency_p95 / self.latency_median) / 1.6449


class _Track:
    def __init__(self, metrics: _Metrics, app: str, track: str, profile: Profile) -> None:
        self.profile = profile
        self.random = random.Random(f"{profile.seed}:{app}:{track}")
        self.lock = threading.Lock()
        labels = {"app": app, "track": track}
        self.ok = metrics.requests.labels(code="200", **labels)
        self.failed = metrics.requests.labels(code="500", **labels)
        self.latency = metrics.latency.labels(**labels)
        self.keyed = metrics.idempotency.labels(**labels)
        self.conflicts = metrics.conflicts.labels(**labels)
        self.gc = metrics.gc.labels(**labels)
        for counter in (self.ok, self.failed, self.keyed, self.conflicts,
                        metrics.csp.labels(**labels), metrics.risk.labels(**labels)):
            counter.inc(0)
        metrics.staleness.labels(**labels).set(2.0)
        metrics.eventloop.labels(**labels).set(0.01)
        self.gc.observe(0.004)
        self.count = 0

    def collect_garbage(self) -> None:
        """A GC pause of 4 ms: a runtime collects on its own clock, with or without requests."""
        self.gc.observe(0.004)

    def serve(self) -> tuple[int, float]:
        """One request: (status, latency in seconds)."""
        with self.lock:  # one generator per track: a seeded, reproducible stream of draws
            failed = self.random.random() < self.profile.error_rate
            seconds = self.profile.latency_median * math.exp(self.profile.sigma() * self.random.gauss(0.0, 1.0))
            self.count += 1
            keyed = self.count % 2 == 0
        (self.failed if failed else self.ok).inc()
        self.latency.observe(seconds)
        if keyed:
            self.keyed.inc()
        return (500 if failed else 200), seconds


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["app", "track"]
        self.requests = Counter("http_requests_total", "Requests by status code", ["code", *labels], registry=registry)
        self.latency = Histogram("http_request_duration_seconds", "Request latency", labels, registry=registry,
                                 buckets=BUCKETS)
        self.idempotency = Counter("idempotency_requests_total", "Requests with an Idempotency-Key", labels,
                                   registry=registry)
        self.conflicts = Counter("idempotency_conflicts_total", "Conflicting replays", labels, registry=registry)
        self.csp = Counter("csp_violations_total", "CSP reports", labels, registry=registry)
        self.risk = Counter("risk_blocks_total", "Orders blocked by risk", labels, registry=registry)
        self.staleness = Gauge("ws_staleness_seconds", "Age of the newest WebSocket message", labels, registry=registry)
        self.eventloop = Gauge("nodejs_eventloop_lag_p99_seconds", "Event-loop lag p99", labels, registry=registry)
        self.gc = Summary("nodejs_gc_duration_seconds", "GC pauses", labels, registry=registry)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is not the service's error
            super().handle_error(request, client_address)


class TrafficService:
    """The service on a free loopback port: `with TrafficService() as service:` then `service.url`."""

    def __init__(self, port: int = 0) -> None:
        self.registry = CollectorRegistry()
        self.metrics = _Metrics(self.registry)
        self.apps: dict[str, dict[str, _Track]] = {}
        self.weights: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="traffic-service", daemon=True)
        self._stopped = threading.Event()
        self._gc = threading.Thread(target=self._collect, name="traffic-service-gc", daemon=True)

    def _collect(self) -> None:
        while not self._stopped.wait(0.5):
            with self._lock:
                tracks = [t for app in self.apps.values() for t in app.values()]
            for track in tracks:
                track.collect_garbage()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def add_app(self, name: str, canary: Profile, stable: Profile) -> None:
        """Register an app (its series start at 0); its canary weight starts at 0 (no shift yet)."""
        with self._lock:
            self.apps[name] = {"canary": _Track(self.metrics, name, "canary", canary),
                               "stable": _Track(self.metrics, name, "stable", stable)}
            self.weights.setdefault(name, 0.0)

    def retire_app(self, name: str) -> None:
        """The app takes no more traffic (its weight is gone from /weights); its series stay as they were."""
        with self._lock:
            self.weights.pop(name, None)

    def set_weight(self, name: str, weight: float) -> None:
        with self._lock:
            if name not in self.apps:
                raise ValueError(f"no app {name!r}")
            self.weights[name] = max(0.0, min(100.0, weight))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the load generator reuses its connections
            # Headers and body go out as two writes: with Nagle's algorithm the body waits for the client's
            # delayed ACK of the headers, 40 ms a request (6 connections carried 135 requests/s, not 720).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass

            def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a scrape past its timeout): nothing to answer to

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["metrics"]:
                    self._answer(200, generate_latest(service.registry), "text/plain; version=0.0.4")
                elif parts == ["weights"]:
                    with service._lock:
                        weights = dict(service.weights)
                    self._answer(200, json.dumps(weights).encode(), "application/json")
                elif len(parts) == 3 and parts[0] == "apps" and parts[2] in TRACKS and parts[1] in service.apps:
                    status, seconds = service.apps[parts[1]][parts[2]].serve()
                    self._answer(status, f"{seconds:.4f}\n".encode())
                else:
                    self._answer(404, b"not found\n")

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.strip("/").split("/")
                body = self._body()
                try:
                    if len(parts) == 3 and parts[0] == "apps" and parts[2] == "weight":
                        service.set_weight(parts[1], float(body.decode().strip()))
                        self._answer(200, b"ok\n")
                    elif len(parts) == 2 and parts[0] == "apps":
                        spec: dict[str, Any] = json.loads(body or b"{}")
                        service.add_app(parts[1], Profile(**spec.get("canary", {})), Profile(**spec.get("stable", {})))
                        self._answer(200, b"ok\n")
                    else:
                        self._answer(404, b"not found\n")
                except (ValueError, TypeError) as bad:
                    self._answer(400, f"{bad}\n".encode())

            def do_DELETE(self) -> None:  # noqa: N802 - http.server's name
                parts = self.path.strip("/").split("/")
                if len(parts) == 2 and parts[0] == "apps":
                    service.retire_app(parts[1])
                    self._answer(200, b"ok\n")
                else:
                    self._answer(404, b"not found\n")

        return Handler

    def start(self) -> None:
        self._thread.start()
        self._gc.start()

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TrafficService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def app_spec(canary: Profile, stable: Profile) -> bytes:
    """The body of `POST /apps/NAME` for these profiles."""
    return json.dumps({"canary": asdict(canary), "stable": asdict(stable)}).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    service = TrafficService(args.port)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with service:
        print(service.url, flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
