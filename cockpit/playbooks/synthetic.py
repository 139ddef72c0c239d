"""Synthetic Prometheus series for the default playbook's metrics: a bad service and a good one.

In the bad scenario every default trigger fires and every default signal is over
its default limit; in the good one none is. 15 s steps, 100 of them; counters
grow linearly so rates are exact, and the values every signal query computes
are known (SIGNAL_VALUES). Used by `cockpit export rules --tests` (generated
`promtool test rules` cases) and by tests/unit/test_playbook_promql.py.

Series on the canary or stable track carry the labels of the configured
selectors, so a team whose canary is `deployment="api-canary"` gets series
that its rendered expressions select.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INTERVAL = "15s"
STEPS = 100
EVAL_TIME = "20m"  # when the expectations are checked: every window and `for` of the playbook has filled
EVAL_SECONDS = 20 * 60
CANARY = 'track="canary"'
STABLE = 'track="stable"'

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Row:
    """One input series: metric, its own labels, the track it belongs to (canary/stable/none), promtool values."""

    metric: str
    values: str
    track: str | None = None
    labels: tuple[tuple[str, str], ...] = ()


def _counter(per_step: float) -> str:
    return f"0+{per_step:g}x{STEPS}"


def _gauge(value: float) -> str:
    return f"{value:g}x{STEPS}"


def _ramp(start: float, per_step: float) -> str:
    return f"{start:g}+{per_step:g}x{STEPS}"


def _c(metric: str, values: str, **labels: str) -> Row:
    return Row(metric, values, "canary", tuple(labels.items()))


def _s(metric: str, values: str, **labels: str) -> Row:
    return Row(metric, values, "stable", tuple(labels.items()))


def _n(metric: str, values: str, **labels: str) -> Row:
    return Row(metric, values, None, tuple(labels.items()))


_IDLE_TX = {"datname": "app", "state": "idle in transaction"}

_COMMON = [
    _c("http_requests_total", _counter(900), code="200"),
    _s("http_requests_total", _counter(9000), code="200"),
    _s("csp_violations_total", _counter(1)),
    _c("idempotency_requests_total", _counter(100)),
    _n("pgbouncer_databases_pool_size", _gauge(200), database="app"),
]

_BAD = [
    _c("http_requests_total", _counter(45), code="500"),  # 45 / 945 = 4.76 %
    _c("http_request_duration_seconds_bucket", _counter(0), le="0.1"),
    _c("http_request_duration_seconds_bucket", _counter(0), le="0.5"),
    _c("http_request_duration_seconds_bucket", _counter(945), le="1"),
    _c("http_request_duration_seconds_bucket", _counter(945), le="+Inf"),
    _c("process_cpu_seconds_total", _counter(14.25)),  # 0.95 of a core
    _c("risk_blocks_total", _counter(1)),  # 4 / min
    _c("ws_staleness_seconds", _gauge(45)),
    _c("csp_violations_total", _counter(3)),
    _c("idempotency_conflicts_total", _counter(5)),  # 5 %
    _n("pgbouncer_pools_client_waiting_connections", _gauge(3), database="app"),
    _n("pg_stat_activity_count", _gauge(10), **_IDLE_TX),
    _c("process_resident_memory_bytes", _ramp(100_000_000, 10_000_000)),  # 666 KB/s
    _c("retry_attempts_total", _counter(300)),
    _c("ws_reconnects_total", _counter(30)),  # 120 / min
    _c("ws_connections_open", _gauge(100)),
    _c("decimal_precision_errors_total", _counter(1)),
    _c("nodejs_eventloop_lag_p99_seconds", _gauge(0.08)),
    _c("nodejs_gc_duration_seconds_sum", _counter(0.5), kind="major"),
    _c("nodejs_gc_duration_seconds_count", _counter(10), kind="major"),  # 50 ms average
    _n("pg_stat_user_tables_n_dead_tup", _gauge(2_000_000), relname="orders"),
    _n("pgbouncer_databases_current_connections", _ramp(10, 2), database="app"),  # 8 / min
]

_GOOD = [
    _c("http_request_duration_seconds_bucket", _counter(900), le="0.1"),
    _c("http_request_duration_seconds_bucket", _counter(900), le="0.5"),
    _c("http_request_duration_seconds_bucket", _counter(900), le="1"),
    _c("http_request_duration_seconds_bucket", _counter(900), le="+Inf"),
    _c("process_cpu_seconds_total", _counter(3)),
    _c("risk_blocks_total", _counter(0)),
    _c("ws_staleness_seconds", _gauge(5)),
    _c("csp_violations_total", _counter(0)),
    _c("idempotency_conflicts_total", _counter(0)),
    _n("pgbouncer_pools_client_waiting_connections", _gauge(0), database="app"),
    _n("pg_stat_activity_count", _gauge(0), **_IDLE_TX),
    _c("process_resident_memory_bytes", _gauge(100_000_000)),
    _c("retry_attempts_total", _counter(0)),
    _c("ws_reconnects_total", _counter(0)),
    _c("ws_connections_open", _gauge(100)),
    _c("decimal_precision_errors_total", _counter(0)),
    _c("nodejs_eventloop_lag_p99_seconds", _gauge(0.01)),
    _c("nodejs_gc_duration_seconds_sum", _counter(0.05), kind="minor"),
    _c("nodejs_gc_duration_seconds_count", _counter(10), kind="minor"),  # 5 ms average
    _n("pg_stat_user_tables_n_dead_tup", _gauge(1000), relname="orders"),
    _n("pgbouncer_databases_current_connections", _gauge(10), database="app"),
]

# What each default signal query computes over the scenario (at EVAL_TIME, any window >= 1m).
SIGNAL_VALUES: dict[bool, dict[str, float]] = {
    True: {
        "error_rate": 45 / 945,
        "p95_latency": 0.5 + 0.5 * 0.95,  # every observation in (0.5, 1]: linear within the bucket
        "ws_staleness": 45,
        "risk_block_rate": 4,
        "idempotency_conflicts": 0.05,
        "eventloop_lag": 0.08,
        "gc_pause": 0.05,
        "csp_violations": 3 / 945,  # 3 reports per 945 requests
    },
    False: {
        "error_rate": 0,  # no 5xx series at all is 0 %, not no data
        "p95_latency": 0.095,
        "ws_staleness": 5,
        "risk_block_rate": 0,
        "idempotency_conflicts": 0,
        "eventloop_lag": 0.01,
        "gc_pause": 0.005,
        "csp_violations": 0,
    },
}
# sum(increase(http_requests_total{canary}[1m])): the request-volume queries' answer.
VOLUME: dict[bool, float] = {True: 3780, False: 3600}

# The default triggers the bad scenario fires and the good one leaves quiet (their default expressions).
TRIGGERS = frozenset(
    {
        "p95_latency_breach", "error_rate_breach", "ws_staleness_breach", "csp_violation_surge",
        "idempotency_conflict_breach", "pgbouncer_saturation", "error_latency_correlation",
        "latency_cpu_pressure", "connection_leak", "memory_leak", "retry_storm", "ws_reconnect_storm",
        "decimal_precision_errors", "error_budget_fast_burn", "latency_cpu_backpressure",
        "error_risk_correlation", "eventloop_backpressure", "gc_pause_hold", "dead_tuples_bloat",
        "connection_creep",
    }
)
MAX_FOR_SECONDS = 15 * 60  # a rule whose `for` is longer is still pending at EVAL_TIME


def selector_labels(selector: str) -> dict[str, str] | None:
    """The labels a series needs to match a selector of equality matchers; None when it has others (=~, !=)."""
    text = selector.strip()
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _MATCHER.match(text, pos)
        if match is None:
            return None
        labels[match.group(1)] = re.sub(r"\\(.)", r"\1", match.group(2))
        pos = match.end()
    return labels


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_name(metric: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def series(bad: bool, canary: str = CANARY, stable: str = STABLE) -> list[dict[str, str]]:
    """promtool `input_series` for the bad or the good scenario, the tracks labelled by the given selectors."""
    tracks = {"canary": selector_labels(canary), "stable": selector_labels(stable)}
    for name, labels in tracks.items():
        if labels is None:
            raise ValueError(f"the {name} selector {canary if name == 'canary' else stable!r} is not a list of label=\"value\" matchers")
    rows = _COMMON + (_BAD if bad else _GOOD)
    out = []
    for row in rows:
        labels = dict(tracks[row.track] or {}) if row.track else {}
        labels.update(row.labels)
        out.append({"series": series_name(row.metric, labels), "values": row.values})
    return out
