"""The drill's simulated service: a stable and a canary track with synthetic traffic, served as real Prometheus metrics.

A background thread ticks (10 a second by default): each tick it generates the
requests both tracks received since the last one (the canary gets its weight's
share of the scenario's requests per second, plus a trickle of synthetic
probes every track gets), observes their latencies into
`http_request_duration_seconds`, counts them in `http_requests_total{code,track}`,
and moves every other metric the default playbook's signals and triggers read
(event-loop lag, GC pauses, CPU, RSS, WebSocket staleness, risk blocks,
idempotency conflicts, CSP reports, pgBouncer and PostgreSQL gauges). The
scenario's faults change the canary's side once they start.

One HTTP port serves it all (loopback): `GET /metrics` (its own
CollectorRegistry, prometheus_client's text format), `POST /weight`
{"weight": N}, `POST /rollback`, `GET /state`, and the service's own pages the
preflight and red-team checks request (cockpit.drill.service_pages: the page
and its security headers, the orders API, the CSP report endpoint, a WebSocket
echo). A rollback puts the canary's
weight to 0 and reverts the canary track to the stable build: its faults stop,
and the probes that still reach it show the signals recover.

Every tick is also kept as a snapshot (bounded), so the drill's built-in source
can answer the default queries without Prometheus (cockpit.drill.source).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cockpit.drill.faults import HEALTHY, Effects, combine, fault_effects
from cockpit.drill.scenario import Scenario
from cockpit.drill.service_pages import ServicePages, websocket_echo

TRACKS = ("stable", "canary")
CODES = ("200", "500")
GC_KINDS = ("minor", "major")
# Finer than prom-client's defaults around the 200 ms limit, so p95 interpolates closely.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0)
GC_BUCKETS = (0.001, 0.01, 0.1, 1.0, 2.0, 5.0)  # prom-client's nodejs_gc_duration_seconds buckets
DATABASE = "app"
HISTORY_SECONDS = 600.0  # snapshots kept for the built-in source: the widest window it can answer

_PER_TRACK = (
    [f"req:{code}" for code in CODES]
    + [f"lat:{i}" for i in range(len(LATENCY_BUCKETS) + 1)]  # per bucket, not cumulative; last is +Inf
    + ["lat_sum", "lat_count", "risk", "idem_req", "idem_conf", "csp", "retry", "ws_reconn", "decimal", "cpu"]
    + ["rss", "ws_open", "ws_stale", "el_p50", "el_p90", "el_p99"]
    + [f"gc:{kind}:{i}" for kind in GC_KINDS for i in range(len(GC_BUCKETS) + 1)]
    + [f"gc_sum:{kind}" for kind in GC_KINDS]
    + [f"gc_count:{kind}" for kind in GC_KINDS]
)
_GLOBAL = ("pgb_waiting", "pgb_current", "pgb_pool", "pg_idle_tx", "pg_active", "pg_idle", "pg_dead")
KEYS: tuple[str, ...] = tuple(f"{track}/{name}" for track in TRACKS for name in _PER_TRACK) + tuple(f"-/{n}" for n in _GLOBAL)
INDEX = {key: i for i, key in enumerate(KEYS)}


def key(track: str, name: str) -> int:
    """The position of a value in a snapshot: track "stable"/"canary", or "-" for the global gauges."""
    return INDEX[f"{track}/{name}"]


@dataclass(frozen=True)
class Healthy:
    """The healthy service: what both tracks look like without a fault."""

    median_latency_s: float = 0.05
    latency_sigma: float = 0.4  # lognormal: p95 ~ 1.93 x median (~97 ms)
    error_ratio: float = 0.001
    idempotent_share: float = 0.5  # requests carrying an Idempotency-Key
    conflict_ratio: float = 0.001  # of those, rejected as conflicting replays
    csp_per_request: float = 0.0  # a healthy release's pages raise no CSP reports
    retry_ratio: float = 0.01
    risk_blocks_per_min: float = 0.1
    ws_reconnects_per_s: float = 0.02
    ws_open_base: float = 40.0
    ws_open_full: float = 160.0  # more, in proportion to the track's share of user traffic
    cpu_base: float = 0.15  # cores
    cpu_per_rps: float = 0.001
    rss_bytes: float = 180e6
    eventloop_s: tuple[float, float, float] = (0.004, 0.008, 0.012)  # p50, p90, p99
    gc_per_s: float = 4.0
    gc_pause_s: float = 0.004
    gc_major_share: float = 0.1
    pool_size: float = 100.0
    connections: float = 40.0
    idle_in_transaction: float = 1.0
    dead_tuples: float = 40_000.0
    probe_rps: float = 5.0  # synthetic probes per track: a canary at 0 % still answers something


@dataclass
class FaultState:
    """One scenario fault's life: when it started, was first seen by a reader, ended."""

    index: int
    kind: str
    started_at: float | None = None
    observed_at: float | None = None  # the first scrape (or read) that carried the fault
    ended_at: float | None = None
    ended_by: str | None = None  # "duration" | "rollback"

    @property
    def active(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.index,
            "kind": self.kind,
            "started_at": self.started_at,
            "observed_at": self.observed_at,
            "ended_at": self.ended_at,
            "ended_by": self.ended_by,
        }


@dataclass
class Snapshot:
    at: float
    canary_present: bool
    values: array


@dataclass
class History:
    """Per-tick snapshots, oldest first, trimmed to `seconds`."""

    seconds: float = HISTORY_SECONDS
    times: list[float] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)

    def append(self, snapshot: Snapshot) -> None:
        self.times.append(snapshot.at)
        self.snapshots.append(snapshot)
        if snapshot.at - self.times[0] > self.seconds * 1.5:  # trim in batches, not every tick
            cut = bisect_left(self.times, snapshot.at - self.seconds)
            del self.times[:cut]
            del self.snapshots[:cut]

    def within(self, start: float, end: float) -> list[Snapshot]:
        """Snapshots with start < at <= end (a PromQL range's left-open interval)."""
        lo = bisect_right(self.times, start)
        hi = bisect_right(self.times, end)
        return self.snapshots[lo:hi]

    def latest(self, end: float) -> Snapshot | None:
        hi = bisect_right(self.times, end)
        return self.snapshots[hi - 1] if hi else None


class Simulator:
    """The simulated service. `start()` serves it on a loopback port and ticks it on a thread; `step()` drives it by hand."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        healthy: Healthy | None = None,
        tick: float = 0.1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.scenario = scenario
        self.healthy = healthy or Healthy()
        self.tick = tick
        self.clock = clock
        self.random = random.Random(scenario.seed)
        self.weight = 0.0
        self.rolled_back = False
        self.first_traffic_at: float | None = None
        self.faults = [FaultState(i, f.kind) for i, f in enumerate(scenario.faults)]
        self.effects: Effects = HEALTHY
        self.values = array("d", [0.0] * len(KEYS))
        self.history = History()
        self.lock = threading.RLock()
        self._carry: dict[str, float] = {}
        self._leaked = 0.0
        self._last: float | None = None
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: ThreadingHTTPServer | None = None
        self._server_thread: threading.Thread | None = None
        self.scrapes = 0
        self.pages = ServicePages(tuple(scenario.before_t0.missing_headers))
        self._seed_gauges()

    # ------------------------------------------------------------ serving

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        """Serve /metrics, /weight, /rollback, /state on host:port (0: a free port) and start ticking."""
        from prometheus_client import CollectorRegistry

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))
        self._server = _Server((host, port), _handler(self))
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="drill-http", daemon=True)
        self._server_thread.start()
        self.step(self.clock())
        self._thread = threading.Thread(target=self._run, name="drill-ticks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the simulator is not serving"
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def listen(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call `callback(event)` when a fault starts, is first observed, or ends (from the simulator's threads)."""
        self._listeners.append(callback)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            next_at += self.tick
            self.step(self.clock())
            delay = next_at - time.monotonic()
            if delay < -1.0:  # fell far behind (a stalled machine): do not burst to catch up
                next_at = time.monotonic()
            self._stop.wait(max(0.0, delay))

    # ------------------------------------------------------------ control

    def set_weight(self, weight: float) -> None:
        if not 0 <= weight <= 100 or math.isnan(weight):
            raise ValueError("weight must be between 0 and 100")
        with self.lock:
            self.weight = float(weight)
            if weight > 0 and self.first_traffic_at is None:
                self.first_traffic_at = self.clock()

    def rollback(self) -> None:
        """Weight 0 and the canary back on the stable build: active faults end, none starts again."""
        with self.lock:
            self.weight = 0.0
            self.rolled_back = True
            now = self.clock()
            for state in self.faults:
                if state.active:
                    self._end(state, now, "rollback")

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "scenario": self.scenario.name,
                "weight": self.weight,
                "rolled_back": self.rolled_back,
                "faults": [f.as_dict() for f in self.faults],
                "effects": list(self.effects.kinds),
                "scrapes": self.scrapes,
            }

    def observe(self, at: float | None = None) -> None:
        """A reader (a Prometheus scrape, the built-in source) sees the metrics now: mark faults it is the first to see."""
        now = self.clock() if at is None else at
        with self.lock:
            for state in self.faults:
                if state.active and state.observed_at is None:
                    state.observed_at = now
                    self._notify(state, "observed", now)

    # ------------------------------------------------------------ the model

    def _notify(self, state: FaultState, phase: str, at: float) -> None:
        event = {**state.as_dict(), "phase": phase, "at": at, "weight": self.weight}
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                pass  # a listener never stops the service

    def _end(self, state: FaultState, now: float, why: str) -> None:
        state.ended_at, state.ended_by = now, why
        if state.kind == "connection_creep":
            self._leaked = 0.0  # the reverted canary's leaked connections are closed
        self._notify(state, "ended", now)

    def _update_faults(self, now: float) -> None:
        active: list[Effects] = []
        for spec, state in zip(self.scenario.faults, self.faults):
            if state.started_at is None and not self.rolled_back:
                due = (spec.at_weight is not None and self.weight >= spec.at_weight) or (
                    spec.after is not None and self.first_traffic_at is not None and now - self.first_traffic_at >= spec.after
                )
                if due:
                    state.started_at = now
                    self._notify(state, "started", now)
            if state.active and spec.duration is not None and now - state.started_at >= spec.duration:
                self._end(state, now, "duration")
            if state.active:
                active.append(fault_effects(spec.kind, spec.magnitude(), now - state.started_at))
        self.effects = combine(active)

    def _count(self, name: str, expected: float) -> int:
        """Whole events from an expected (fractional) number, carrying the remainder: smooth and reproducible."""
        total = self._carry.get(name, 0.0) + expected
        whole = int(total)
        self._carry[name] = total - whole
        return whole

    def _add(self, track: str, name: str, amount: float) -> None:
        self.values[key(track, name)] += amount

    def _set(self, track: str, name: str, value: float) -> None:
        self.values[key(track, name)] = value

    def _seed_gauges(self) -> None:
        h = self.healthy
        for track in TRACKS:
            self._set(track, "rss", h.rss_bytes)
        self._set("-", "pgb_pool", h.pool_size)
        self._set("-", "pgb_current", h.connections)
        self._set("-", "pg_idle_tx", h.idle_in_transaction)
        self._set("-", "pg_active", 5.0)
        self._set("-", "pg_idle", 10.0)
        self._set("-", "pg_dead", h.dead_tuples)

    def track_rps(self, track: str) -> float:
        """Requests per second a track receives now (user traffic by weight, plus probes)."""
        share = self.weight / 100 if track == "canary" else 1 - self.weight / 100
        return self.scenario.rps * share + self.healthy.probe_rps

    def step(self, now: float) -> None:
        """Advance the simulation to `now` (wall-clock seconds) and keep a snapshot."""
        with self.lock:
            dt = 0.0 if self._last is None else min(1.0, max(0.0, now - self._last))
            self._last = now
            self._update_faults(now)
            for track in TRACKS:
                self._step_track(track, dt, self.effects if track == "canary" else HEALTHY)
            self._step_database(dt)
            present = not self.effects.no_data
            self.history.append(Snapshot(now, present, array("d", self.values)))

    def _step_track(self, track: str, dt: float, effects: Effects) -> None:
        h, rng = self.healthy, self.random
        rps = self.track_rps(track)
        share = self.weight / 100 if track == "canary" else 1 - self.weight / 100
        requests = self._count(f"{track}/requests", rps * dt)
        for _ in range(requests):
            latency = h.median_latency_s * math.exp(h.latency_sigma * rng.gauss(0.0, 1.0)) + effects.latency_add_s
            self._add(track, f"lat:{bisect_left(LATENCY_BUCKETS, latency)}", 1)
            self._add(track, "lat_sum", latency)
            self._add(track, "lat_count", 1)
        # Errors by count, not by chance: one stray 5xx in a small canary's window would be a breach the
        # scenario did not ask for (the reason real canaries have min_requests).
        errors = min(requests, self._count(f"{track}/errors", requests * max(h.error_ratio, effects.error_ratio)))
        self._add(track, "req:500", errors)
        self._add(track, "req:200", requests - errors)
        keyed = self._count(f"{track}/idem", requests * h.idempotent_share)
        self._add(track, "idem_req", keyed)
        self._add(track, "idem_conf", self._count(f"{track}/conf", keyed * h.conflict_ratio))
        self._add(track, "csp", self._count(f"{track}/csp", requests * h.csp_per_request))
        self._add(track, "retry", self._count(f"{track}/retry", requests * h.retry_ratio))
        self._add(track, "risk", self._count(f"{track}/risk", (h.risk_blocks_per_min + effects.risk_blocks_per_min) / 60 * dt))
        self._add(track, "ws_reconn", self._count(f"{track}/reconn", h.ws_reconnects_per_s * dt))
        self._add(track, "cpu", (h.cpu_base + h.cpu_per_rps * rps) * dt * (1 + 0.1 * rng.uniform(-1, 1)))
        # Gauges: healthy values with a little noise, the fault's offset on top.
        rss = self.values[key(track, "rss")]
        self._set(track, "rss", rss + 0.2 * (h.rss_bytes - rss) + rng.gauss(0.0, 1e5))
        self._set(track, "ws_open", round(h.ws_open_base + h.ws_open_full * share))
        self._set(track, "ws_stale", 2.0 + 3.0 * rng.random())
        lag = effects.eventloop_lag_s
        p50, p90, p99 = h.eventloop_s
        self._set(track, "el_p50", p50 * (1 + 0.1 * rng.uniform(-1, 1)) + 0.4 * lag)
        self._set(track, "el_p90", p90 * (1 + 0.1 * rng.uniform(-1, 1)) + 0.7 * lag)
        self._set(track, "el_p99", p99 * (1 + 0.15 * rng.uniform(-1, 1)) + lag)
        pause = effects.gc_pause_s if effects.gc_pause_s is not None else h.gc_pause_s
        for _ in range(self._count(f"{track}/gc", h.gc_per_s * dt)):
            kind = "major" if rng.random() < h.gc_major_share else "minor"
            seconds = pause * math.exp(0.3 * rng.gauss(0.0, 1.0) - 0.045)  # mean-preserving noise
            self._add(track, f"gc:{kind}:{bisect_left(GC_BUCKETS, seconds)}", 1)
            self._add(track, f"gc_sum:{kind}", seconds)
            self._add(track, f"gc_count:{kind}", 1)

    def _step_database(self, dt: float) -> None:
        h = self.healthy
        self._leaked += self.effects.connections_per_s * dt
        wanted = h.connections + self._leaked
        self._set("-", "pgb_current", min(h.pool_size, round(wanted)))
        self._set("-", "pgb_waiting", max(0, round(wanted - h.pool_size)))
        self._set("-", "pg_dead", h.dead_tuples + 50 * math.sin((self._last or 0.0) / 30))

    # ------------------------------------------------------------ exposition

    def families(self) -> Iterator[Any]:
        """The metric families of the current state (prometheus_client), canary series left out while it reports no data."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        with self.lock:
            values = array("d", self.values)
            tracks = [t for t in TRACKS if t == "stable" or not self.effects.no_data]
            weight = self.weight
            self.scrapes += 1
            self.observe()  # under the same lock as the copy: what is served is what is marked seen

        def v(track: str, name: str) -> float:
            return values[key(track, name)]

        def per_track(family: Any, name: str) -> Any:
            for track in tracks:
                family.add_metric([track], v(track, name))
            return family

        requests = CounterMetricFamily("http_requests_total", "HTTP requests by status code", labels=["code", "track"])
        duration = HistogramMetricFamily("http_request_duration_seconds", "HTTP request latency", labels=["track"])
        gc = HistogramMetricFamily("nodejs_gc_duration_seconds", "Garbage collection pauses", labels=["kind", "track"])
        for track in tracks:
            for code in CODES:
                requests.add_metric([code, track], v(track, f"req:{code}"))
            duration.add_metric([track], _buckets(LATENCY_BUCKETS, [v(track, f"lat:{i}") for i in range(len(LATENCY_BUCKETS) + 1)]),
                                v(track, "lat_sum"))
            for kind in GC_KINDS:
                counts = [v(track, f"gc:{kind}:{i}") for i in range(len(GC_BUCKETS) + 1)]
                gc.add_metric([kind, track], _buckets(GC_BUCKETS, counts), v(track, f"gc_sum:{kind}"))
        yield requests
        yield duration
        yield gc
        counters = {
            "risk_blocks_total": ("risk", "Orders the risk engine blocked"),
            "idempotency_requests_total": ("idem_req", "Requests carrying an Idempotency-Key"),
            "idempotency_conflicts_total": ("idem_conf", "Idempotent requests rejected as conflicting replays"),
            "csp_violations_total": ("csp", "CSP violation reports received"),
            "retry_attempts_total": ("retry", "Retries to dependencies"),
            "ws_reconnects_total": ("ws_reconn", "WebSocket reconnects accepted"),
            "decimal_precision_errors_total": ("decimal", "Amounts rejected for precision or tick misalignment"),
            "process_cpu_seconds_total": ("cpu", "CPU seconds used by the process"),
        }
        for metric, (name, doc) in counters.items():
            yield per_track(CounterMetricFamily(metric, doc, labels=["track"]), name)
        gauges = {
            "ws_staleness_seconds": ("ws_stale", "Age of the newest message pushed to WebSocket clients"),
            "ws_connections_open": ("ws_open", "WebSocket connections open"),
            "process_resident_memory_bytes": ("rss", "Resident memory of the process"),
            "nodejs_eventloop_lag_p50_seconds": ("el_p50", "Event-loop lag, 50th percentile"),
            "nodejs_eventloop_lag_p90_seconds": ("el_p90", "Event-loop lag, 90th percentile"),
            "nodejs_eventloop_lag_p99_seconds": ("el_p99", "Event-loop lag, 99th percentile"),
        }
        for metric, (name, doc) in gauges.items():
            yield per_track(GaugeMetricFamily(metric, doc, labels=["track"]), name)
        waiting = GaugeMetricFamily("pgbouncer_pools_client_waiting_connections", "Clients waiting for a server connection", labels=["database", "user"])
        waiting.add_metric([DATABASE, DATABASE], v("-", "pgb_waiting"))
        current = GaugeMetricFamily("pgbouncer_databases_current_connections", "Server connections open", labels=["name"])
        current.add_metric([DATABASE], v("-", "pgb_current"))
        pool = GaugeMetricFamily("pgbouncer_databases_pool_size", "Pool size", labels=["name"])
        pool.add_metric([DATABASE], v("-", "pgb_pool"))
        activity = GaugeMetricFamily("pg_stat_activity_count", "Sessions by state", labels=["datname", "state"])
        for state, name in (("active", "pg_active"), ("idle", "pg_idle"), ("idle in transaction", "pg_idle_tx")):
            activity.add_metric([DATABASE, state], v("-", name))
        dead = GaugeMetricFamily("pg_stat_user_tables_n_dead_tup", "Dead tuples", labels=["datname", "relname"])
        dead.add_metric([DATABASE, "orders"], v("-", "pg_dead"))
        drill = GaugeMetricFamily("drill_canary_weight", "DRILL: the simulated canary's traffic weight (%)")
        drill.add_metric([], weight)
        yield from (waiting, current, pool, activity, dead, drill)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _buckets(bounds: tuple[float, ...], counts: list[float]) -> list[tuple[str, float]]:
    """Cumulative (le, count) pairs for a histogram family; the last count is the +Inf bucket."""
    out, running = [], 0.0
    for bound, count in zip(list(bounds) + [math.inf], counts):
        running += count
        out.append(("+Inf" if math.isinf(bound) else repr(bound), running))
    return out


class _Collector:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def collect(self) -> Iterator[Any]:
        return self.simulator.families()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the red team's bursts open many connections at once


def _handler(simulator: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "cockpit-drill"
        disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the drill prints its own lines
            pass

        def _reply(self, code: int, body: bytes, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _page(self, body: bytes = b"") -> bool:
            """The service's own pages (service_pages); False when the path is none of them."""
            reply = simulator.pages.route(self.command, self.path.split("?")[0], dict(self.headers.items()), body)
            if reply is None:
                return False
            self._reply(reply.status, reply.body, reply.content_type, reply.headers)
            return True

        def _json(self, code: int, data: dict[str, Any]) -> None:
            self._reply(code, json.dumps(data).encode())

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                body = simulator.exposition()
                self._reply(200, body, "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/state":
                self._json(200, simulator.state())
            elif self.path.split("?")[0] == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
                websocket_echo(self)
            elif not self._page():
                self._json(404, {"error": f"no such page {self.path}"})

        def do_HEAD(self) -> None:
            if not self._page():
                self._json(404, {"error": f"no such page {self.path}"})

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), 65536)
            raw = self.rfile.read(length) if length else b""
            if self.path == "/weight":
                try:
                    weight = float(json.loads(raw or b"{}")["weight"])
                    simulator.set_weight(weight)
                except (ValueError, KeyError, TypeError) as exc:
                    self._json(400, {"error": f"expected {{\"weight\": 0..100}}: {exc}"})
                    return
                self._json(200, {"ok": True, "weight": simulator.weight})
            elif self.path == "/rollback":
                simulator.rollback()
                self._json(200, {"ok": True, "weight": simulator.weight, "rolled_back": True})
            elif not self._page(raw):
                self._json(404, {"error": f"no such endpoint {self.path}"})

    return Handler
