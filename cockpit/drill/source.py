"""The drill without Prometheus: answers the default signal and trigger queries from the simulator's own state.

No PromQL is evaluated. Each query the engine sends is matched, by its rendered
text, against the drill configuration's signal queries, volume queries and
trigger expressions (any {window}, either track's selector); the match names a
small Python function that computes the same quantity from the simulator's
per-tick snapshots (rates over the window, histogram quantiles, gauges over
time). A query it does not know is an error result: the engine shows it as
BLIND, never as a value. Every answer is DRILL data.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cockpit.config import CockpitConfig
from cockpit.drill.simulator import GC_KINDS, LATENCY_BUCKETS, Simulator, Snapshot, key
from cockpit.durations import parse_duration
from cockpit.engine.signals import TARGET_UP_QUERY
from cockpit.sources.prometheus import QueryResult, Sample

LABEL = "DRILL simulator (read directly, no Prometheus)"
_RANGE = re.compile(r"\[((?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)\]")
_PLACEHOLDER = re.compile(r"(\{window\}|\{selector\}|\{stable_selector\})")
REQUESTS = ("req:200", "req:500")
ERRORS = ("req:500",)
LATENCY = tuple(f"lat:{i}" for i in range(len(LATENCY_BUCKETS) + 1))
GC_SUM = tuple(f"gc_sum:{kind}" for kind in GC_KINDS)
GC_COUNT = tuple(f"gc_count:{kind}" for kind in GC_KINDS)


# ---------------------------------------------------------------- reading the snapshots


class SeriesView:
    """The simulator's snapshots as Prometheus would see them at `now` (the canary's only while it reports)."""

    def __init__(self, snapshots: Any, now: float) -> None:
        self.history = snapshots
        self.now = now

    def _points(self, track: str, window: float) -> list[Snapshot]:
        points = self.history.within(self.now - window, self.now)
        return [p for p in points if p.canary_present] if track == "canary" else points

    def _sum(self, snapshot: Snapshot, track: str, names: Sequence[str]) -> float:
        return sum(snapshot.values[key(track, n)] for n in names)

    def delta(self, track: str, names: Sequence[str], window: float) -> tuple[float, float] | None:
        """(increase, seconds it spans) of counters over the window; None with fewer than two points (no data)."""
        points = self._points(track, window)
        if len(points) < 2:
            return None
        first, last = points[0], points[-1]
        span = last.at - first.at
        if span <= 0:
            return None
        return self._sum(last, track, names) - self._sum(first, track, names), span

    def rate(self, track: str, names: Sequence[str], window: float) -> float | None:
        got = self.delta(track, names, window)
        return None if got is None else got[0] / got[1]

    def increase(self, track: str, names: Sequence[str], window: float) -> float | None:
        # Prometheus extrapolates increase() to the whole window; so does this (rate x window).
        got = self.delta(track, names, window)
        if got is None:
            return None
        return got[0] / got[1] * window

    def now_value(self, track: str, name: str) -> float | None:
        """A gauge's latest value; None when the canary does not report now."""
        latest = self.history.latest(self.now)
        if latest is None or (track == "canary" and not latest.canary_present):
            return None
        return latest.values[key(track, name)]

    def over_time(self, track: str, name: str, window: float) -> list[float]:
        return [p.values[key(track, name)] for p in self._points(track, window)]

    def deriv(self, track: str, name: str, window: float) -> float | None:
        """Least-squares slope per second of a gauge over the window (PromQL deriv)."""
        points = self._points(track, window)
        if len(points) < 2:
            return None
        step = max(1, len(points) // 200)  # a long window needs no more than ~200 points for a slope
        xs = [p.at - self.now for p in points[::step]]
        ys = [p.values[key(track, name)] for p in points[::step]]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mx) ** 2 for x in xs)
        if var == 0:
            return None
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var

    def latency_buckets(self, track: str, window: float) -> list[Sample]:
        """sum by (le) (increase(..._bucket[window])): cumulative counts per bound, +Inf last; none with no data."""
        got = [self.increase(track, (name,), window) for name in LATENCY]
        if any(count is None for count in got):
            return []
        samples, running = [], 0.0
        for bound, count in zip([*LATENCY_BUCKETS, math.inf], got):
            running += count or 0.0
            samples.append(Sample({"le": "+Inf" if math.isinf(bound) else f"{bound:g}"}, running))
        return samples

    def latency_quantile(self, q: float, track: str, window: float) -> float | None:
        """histogram_quantile(q, rate of the latency buckets over the window); NaN with no requests."""
        points = self._points(track, window)
        if len(points) < 2:
            return None
        first, last = points[0], points[-1]
        counts = [last.values[key(track, n)] - first.values[key(track, n)] for n in LATENCY]
        return histogram_quantile(q, LATENCY_BUCKETS, counts)


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float:
    """Prometheus' histogram_quantile over per-bucket counts (the last is +Inf): linear within the bucket."""
    total = sum(counts)
    if total <= 0:
        return math.nan
    rank = q * total
    cumulative = 0.0
    for i, count in enumerate(counts):
        if cumulative + count >= rank and count > 0:
            if i == len(bounds):  # the +Inf bucket: Prometheus answers the highest finite bound
                return bounds[-1]
            lower = 0.0 if i == 0 else bounds[i - 1]
            return lower + (bounds[i] - lower) * (rank - cumulative) / count
        cumulative += count
    return bounds[-1]


def quantile_over(values: Sequence[float], q: float) -> float | None:
    """PromQL quantile_over_time: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ---------------------------------------------------------------- the default queries, in Python

Evaluator = Callable[[SeriesView, str, list[float]], list[Sample]]


def _one(value: float | None) -> list[Sample]:
    return [] if value is None else [Sample({}, float(value))]


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _w(windows: list[float], i: int) -> float:
    return windows[i] if i < len(windows) else windows[-1]


def _above(value: float | None, limit: float) -> bool:
    return value is not None and not math.isnan(value) and value > limit


def _error_ratio(v: SeriesView, track: str, a: float, b: float) -> float | None:
    return _div(v.rate(track, ERRORS, a), v.rate(track, REQUESTS, b))


def _gc_average(v: SeriesView, track: str, a: float, b: float) -> float | None:
    return _div(v.rate(track, GC_SUM, a), v.rate(track, GC_COUNT, b))


def _if(condition: bool, value: float | None) -> list[Sample]:
    return _one(value) if condition else []


def _sig_error_rate(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    total = v.rate(t, REQUESTS, _w(w, 1))
    if total is None:
        return []
    errors = v.rate(t, ERRORS, _w(w, 0))
    return _one(_div(errors if errors is not None else 0.0, total))  # "or vector(0)"


SIGNALS: dict[str, Evaluator] = {
    "p95_latency": lambda v, t, w: _one(v.latency_quantile(0.95, t, _w(w, 0))),
    "error_rate": _sig_error_rate,
    "ws_staleness": lambda v, t, w: _one(quantile_over(v.over_time(t, "ws_stale", _w(w, 0)), 0.95)),
    "risk_block_rate": lambda v, t, w: _one(None if (r := v.rate(t, ("risk",), _w(w, 0))) is None else r * 60),
    "idempotency_conflicts": lambda v, t, w: _one(_div(v.rate(t, ("idem_conf",), _w(w, 0)), v.rate(t, ("idem_req",), _w(w, 1)))),
    "csp_violations": lambda v, t, w: _one(_div(v.increase(t, ("csp",), _w(w, 0)), v.increase(t, REQUESTS, _w(w, 1)))),
    "eventloop_lag": lambda v, t, w: _one(
        sum(xs) / len(xs) if (xs := v.over_time(t, "el_p99", _w(w, 0))) else None
    ),
    "gc_pause": lambda v, t, w: _one(_gc_average(v, t, _w(w, 0), _w(w, 1))),
}


def _volume(names: Sequence[str]) -> Evaluator:
    return lambda v, t, w: _one(v.increase(t, names, _w(w, 0)))


def _up(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    # Read directly, "scraped" means the track reports now.
    latest = v.history.latest(v.now)
    if latest is None:
        return []
    return _one(1.0 if t == "stable" or latest.canary_present else 0.0)


def _t_p95(limit: float) -> Evaluator:
    def evaluate(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
        q = v.latency_quantile(0.95, t, _w(w, 0))
        return _if(_above(q, limit), q)

    return evaluate


def _t_error_ratio(limit: float) -> Evaluator:
    def evaluate(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
        ratio = _error_ratio(v, t, _w(w, 0), _w(w, 1))
        return _if(_above(ratio, limit), ratio)

    return evaluate


def _t_csp_surge(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    canary = _div(v.rate(t, ("csp",), _w(w, 0)), v.rate(t, REQUESTS, _w(w, 1)))
    stable = _div(v.rate("stable", ("csp",), _w(w, 2)), v.rate("stable", REQUESTS, _w(w, 3)))
    if canary is None or stable is None:
        return []
    return _if(_above(canary, 1.1 * stable) and _above(v.increase(t, ("csp",), _w(w, 4)), 5), canary)


def _t_ratio(numerator: str, limit: float) -> Evaluator:
    def evaluate(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
        ratio = _div(v.rate(t, (numerator,), _w(w, 0)), v.rate(t, ("idem_req",) if numerator == "idem_conf" else REQUESTS, _w(w, 1)))
        return _if(_above(ratio, limit), ratio)

    return evaluate


def _t_gauge(track: str | None, name: str, limit: float) -> Evaluator:
    def evaluate(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
        value = v.now_value(track or t, name)
        return _if(_above(value, limit), value)

    return evaluate


def _t_error_latency(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    ratio = _error_ratio(v, t, _w(w, 0), _w(w, 1))
    return _if(_above(ratio, 0.005) and _above(v.latency_quantile(0.95, t, _w(w, 2)), 0.15), ratio)


def _t_latency_cpu(latency: float, cpu: float) -> Evaluator:
    def evaluate(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
        q = v.latency_quantile(0.95, t, _w(w, 0))
        return _if(_above(q, latency) and _above(v.rate(t, ("cpu",), _w(w, 1)), cpu), q)

    return evaluate


def _t_memory_leak(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    slope = v.deriv(t, "rss", _w(w, 0))
    return _if(_above(slope, 524288), slope)


def _t_ws_reconnects(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    rate, open_now = v.rate(t, ("ws_reconn",), _w(w, 0)), v.now_value(t, "ws_open")
    if rate is None or open_now is None:
        return []
    return _if(rate * 60 > 0.5 * open_now, rate * 60)


def _t_decimal(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    added = v.increase(t, ("decimal",), _w(w, 0))
    return _if(_above(added, 0), added)


def _t_fast_burn(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    slow, fast = _error_ratio(v, t, _w(w, 0), _w(w, 1)), _error_ratio(v, t, _w(w, 2), _w(w, 3))
    return _if(_above(slow, 0.0144) and _above(fast, 0.0144), slow)


def _t_error_risk(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    ratio = _error_ratio(v, t, _w(w, 0), _w(w, 1))
    risk = v.rate(t, ("risk",), _w(w, 2))
    return _if(_above(ratio, 0.02) and risk is not None and risk * 60 > 2, ratio)


def _t_eventloop(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    lag = v.now_value(t, "el_p99")
    return _if(_above(lag, 0.05) and _above(v.latency_quantile(0.95, t, _w(w, 0)), 0.25), lag)


def _t_gc(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    average = _gc_average(v, t, _w(w, 0), _w(w, 1))
    return _if(_above(average, 0.02), average)


def _t_connection_creep(v: SeriesView, t: str, w: list[float]) -> list[Sample]:
    slope = v.deriv("-", "pgb_current", _w(w, 0))
    current, pool = v.now_value("-", "pgb_current"), v.now_value("-", "pgb_pool")
    if slope is None or current is None or not pool:
        return []
    return _if(slope * 60 > 5 and current / pool > 0.7, slope * 60)


TRIGGERS: dict[str, Evaluator] = {
    "p95_latency_breach": _t_p95(0.2),
    "error_rate_breach": _t_error_ratio(0.01),
    "ws_staleness_breach": _t_gauge(None, "ws_stale", 30),
    "csp_violation_surge": _t_csp_surge,
    "idempotency_conflict_breach": _t_ratio("idem_conf", 0.01),
    "pgbouncer_saturation": _t_gauge("-", "pgb_waiting", 0),
    "error_latency_correlation": _t_error_latency,
    "latency_cpu_pressure": _t_latency_cpu(0.15, 0.8),
    "connection_leak": _t_gauge("-", "pg_idle_tx", 5),
    "memory_leak": _t_memory_leak,
    "retry_storm": _t_ratio("retry", 0.2),
    "ws_reconnect_storm": _t_ws_reconnects,
    "decimal_precision_errors": _t_decimal,
    "error_budget_fast_burn": _t_fast_burn,
    "latency_cpu_backpressure": _t_latency_cpu(0.5, 0.9),
    "error_risk_correlation": _t_error_risk,
    "eventloop_backpressure": _t_eventloop,
    "gc_pause_hold": _t_gc,
    "dead_tuples_bloat": _t_gauge("-", "pg_dead", 1_000_000),
    "connection_creep": _t_connection_creep,
}


# Each mirror above answers one query as the default playbook states it. The fingerprint
# (whitespace collapsed, range windows ignored: the drill compresses them) ties a mirror to
# that text: when the playbook's query changes, the mirror no longer answers (BLIND, never
# a stale value) and tests/unit/test_drill_source.py names it, to be brought up to date.
FINGERPRINTS = {
    "signal p95_latency": "0ec247e36b2435ab",
    "signal error_rate": "a760929c3415ccfd",
    "signal ws_staleness": "21f8ec539cc1763b",
    "signal risk_block_rate": "bee4a5247a1aadca",
    "signal idempotency_conflicts": "c0fa1d69eae7b189",
    "signal csp_violations": "50bdf6d9a4e5c36e",
    "signal eventloop_lag": "a5d5f021f3b1d6bb",
    "signal gc_pause": "f7b45c400bccc983",
    "trigger p95_latency_breach": "84b6b0882b372a48",
    "trigger error_rate_breach": "2d5b3bde37e4dfad",
    "trigger ws_staleness_breach": "2eacee323dd2459a",
    "trigger csp_violation_surge": "0e2d5a68986e073e",
    "trigger idempotency_conflict_breach": "3436d61ba9813262",
    "trigger pgbouncer_saturation": "c42c7ac22a67c3ec",
    "trigger error_latency_correlation": "977c9b8bf4ebd01e",
    "trigger latency_cpu_pressure": "615ae052e1041435",
    "trigger connection_leak": "93220271e0828286",
    "trigger memory_leak": "f5d7a9718c7e7308",
    "trigger retry_storm": "7c92951e96f0ea44",
    "trigger ws_reconnect_storm": "741d99df3ddd5565",
    "trigger decimal_precision_errors": "48d9ae687d150385",
    "trigger error_budget_fast_burn": "f85aa4e0dc9ac0e7",
    "trigger latency_cpu_backpressure": "ef7c2aa395b9cf97",
    "trigger error_risk_correlation": "d7866bcf75df32cc",
    "trigger eventloop_backpressure": "ef733b25505a2c43",
    "trigger gc_pause_hold": "5cace328c5836875",
    "trigger dead_tuples_bloat": "3c6832d0955d8b3a",
    "trigger connection_creep": "4057a6556cc4b0fb",
}
VOLUMES: dict[str, Evaluator] = {
    "e9970de61c2d7b98": _volume(REQUESTS),  # sum(increase(http_requests_total{{selector}}[{window}]))
    "312874aa5fc3fd37": _volume(("idem_req",)),  # sum(increase(idempotency_requests_total{{selector}}[{window}]))
}


def _events(names: Sequence[str]) -> Evaluator:
    # "... or vector(0)": no series of events is none.
    return lambda v, t, w: _one(v.increase(t, names, _w(w, 0)) or 0.0)


# The sequential rule's count queries, by fingerprint as the volumes (the requests are the volumes' text).
COUNTS: dict[str, Evaluator] = {
    **VOLUMES,
    # sum(increase(http_requests_total{code=~"5..",{selector}}[{window}])) or vector(0)
    "55e0790350d1ad5d": _events(ERRORS),
    # sum(increase(idempotency_conflicts_total{{selector}}[{window}])) or vector(0)
    "d63ad9a282057ca9": _events(("idem_conf",)),
    # sum(increase(csp_violations_total{{selector}}[{window}])) or vector(0)
    "4a9b0eea094f2a88": _events(("csp",)),
    # sum by (le) (increase(http_request_duration_seconds_bucket{{selector}}[{window}]))
    "947ea325f2b740f9": lambda v, t, w: v.latency_buckets(t, _w(w, 0)),
}
COUNT_KEYS = ("events_query", "requests_query", "buckets_query")


def fingerprint(text: str) -> str:
    """A query's identity for the mirrors: whitespace collapsed, literal range windows ignored."""
    return hashlib.sha256(_RANGE.sub("[R]", " ".join(text.split())).encode()).hexdigest()[:16]


def mirror(kind: str, name: str, text: str) -> Evaluator | None:
    """The Python mirror of a signal/trigger query, if the text is the one it mirrors."""
    table = SIGNALS if kind == "signal" else TRIGGERS
    if name not in table or FINGERPRINTS.get(f"{kind} {name}") != fingerprint(text):
        return None
    return table[name]


# ---------------------------------------------------------------- matching rendered text


@dataclass(frozen=True)
class Route:
    what: str  # "signal p95_latency", "volume of p95_latency", "trigger gc_pause_hold", "up"
    pattern: re.Pattern[str]
    evaluate: Evaluator


def template_pattern(template: str, selector: str, stable_selector: str) -> re.Pattern[str]:
    """A regex matching `template` as render_query renders it: any {window}, either track's selector."""
    out: list[str] = []
    seen: set[str] = set()
    either = "|".join(re.escape(s) for s in sorted({selector, stable_selector}, key=len, reverse=True))
    for part in _PLACEHOLDER.split(template):
        if part == "{window}":
            out.append("(?P=window)" if "window" in seen else r"(?P<window>(?:\d+(?:ms|s|m|h|d))+)")
            seen.add("window")
        elif part == "{selector}":
            out.append("(?P=sel)" if "sel" in seen else f"(?P<sel>{either})")
            seen.add("sel")
        elif part == "{stable_selector}":
            out.append(re.escape(stable_selector))
        else:
            out.append(re.escape(part))
    return re.compile("".join(out), re.DOTALL)


def routes_for(config: CockpitConfig) -> list[Route]:
    """A route for every query of the config's enabled signals and triggers that has a built-in answer."""
    canary = config.canary
    sel, stable = canary.selector, canary.stable_selector

    def route(what: str, template: str, evaluate: Evaluator) -> Route:
        return Route(what, template_pattern(template, sel, stable), evaluate)

    routes = [route("up", TARGET_UP_QUERY, _up)]
    for name, signal in config.enabled_signals().items():
        evaluate = mirror("signal", name, signal.query)
        if evaluate is not None:
            routes.append(route(f"signal {name}", signal.query, evaluate))
        volume = VOLUMES.get(fingerprint(signal.volume_query)) if signal.volume_query else None
        if volume is not None:
            routes.append(route(f"volume of {name}", signal.volume_query or "", volume))
        for field_name in COUNT_KEYS:
            text = getattr(signal, field_name)
            counted = COUNTS.get(fingerprint(text)) if text else None
            if counted is not None:
                routes.append(route(f"{field_name.removesuffix('_query')} of {name}", text, counted))
    for trigger in config.triggers:
        evaluate = mirror("trigger", trigger.name, trigger.expr) if trigger.enabled else None
        if evaluate is not None:
            routes.append(route(f"trigger {trigger.name}", trigger.expr, evaluate))
    return routes


def unanswered(config: CockpitConfig) -> list[str]:
    """The config's enabled signal/volume/trigger queries the drill's built-in source cannot answer."""
    missing = [f"signal {n}" for n, s in config.enabled_signals().items() if mirror("signal", n, s.query) is None]
    missing += [
        f"volume of {n}" for n, s in config.enabled_signals().items()
        if s.volume_query and fingerprint(s.volume_query) not in VOLUMES
    ]
    missing += [
        f"{k.removesuffix('_query')} of {n}" for n, s in config.enabled_signals().items() for k in COUNT_KEYS
        if getattr(s, k) and fingerprint(getattr(s, k)) not in COUNTS
    ]
    missing += [f"trigger {t.name}" for t in config.triggers if t.enabled and mirror("trigger", t.name, t.expr) is None]
    return missing


class DrillSource:
    """A query source (like PrometheusSource) that reads the simulator directly. DRILL data only."""

    label = LABEL

    def __init__(self, simulator: Simulator, config: CockpitConfig, clock: Callable[[], float] | None = None) -> None:
        self.simulator = simulator
        self.selector = config.canary.selector
        self.routes = routes_for(config)
        self.clock = clock or simulator.clock
        self._known: dict[str, tuple[Route, str, list[float]]] = {}
        self.queries = 0

    def match(self, expr: str) -> tuple[Route, str, list[float]] | None:
        """The route for a rendered query, the track its selector picks, and its range windows in seconds."""
        found = self._known.get(expr)
        if found is not None:
            return found
        for candidate in self.routes:
            m = candidate.pattern.fullmatch(expr)
            if m is None:
                continue
            chosen = m.groupdict().get("sel")
            track = "stable" if chosen is not None and chosen != self.selector else "canary"
            windows = [parse_duration(w) for w in _RANGE.findall(expr)]
            found = (candidate, track, windows or [0.0])
            if len(self._known) > 4096:  # bounded: widened windows make new texts
                self._known.clear()
            self._known[expr] = found
            return found
        return None

    async def query(self, expr: str) -> QueryResult:
        self.queries += 1
        found = self.match(expr)
        if found is None:
            return QueryResult(
                expr,
                error="the DRILL source answers only the default playbook's signal and trigger queries "
                "(no PromQL is evaluated without Prometheus): no answer for this one",
            )
        route, track, windows = found
        now = self.clock()
        try:
            with self.simulator.lock:
                self.simulator.observe(now)
                samples = route.evaluate(SeriesView(self.simulator.history, now), track, windows)
        except Exception as exc:  # a bug here must look like a failed query, never a value
            return QueryResult(expr, error=f"DRILL source failed on {route.what}: {type(exc).__name__}: {exc}")
        return QueryResult(expr, samples)

    def close(self) -> None:
        pass
