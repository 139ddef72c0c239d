"""The default playbook's 8 signals and 20 triggers are valid PromQL that mean what they say (real promtool).

`promtool check rules` parses every trigger expression and every signal/volume
query rendered with several windows; `promtool test rules` then evaluates them
over synthetic series: in a bad scenario every trigger fires, in a good one none
does, and the signal queries compute the values they should.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cockpit.config import CockpitConfig, load_config
from cockpit.engine.promql_text import render_query

SIGNALS = {
    "p95_latency": ("p95", "s"),
    "error_rate": ("5xx", "ratio"),
    "ws_staleness": ("ws", "s"),
    "risk_block_rate": ("risk", "per_min"),
    "idempotency_conflicts": ("idemp", "ratio"),
    "csp_violations": ("csp", "ratio"),
    "eventloop_lag": ("eloop", "s"),
    "gc_pause": ("gc", "s"),
}


@pytest.fixture(scope="module")
def config() -> CockpitConfig:
    return load_config(None)


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is not installed (apt-get install prometheus): the PromQL cannot be validated"
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], capture_output=True, text=True, timeout=60)


def _rules(config: CockpitConfig) -> dict[str, Any]:
    """Every trigger as an alert rule; every signal query (windows 1m, 437s, 15m) as one too."""
    canary = config.canary
    rules: list[dict[str, Any]] = [
        {"alert": t.name, "expr": render_query(t.expr, canary.window, canary), "for": f"{int(t.for_)}s"}
        for t in config.triggers
    ]
    for name, signal in config.signals.items():
        for window in (60, 437, 900):
            for kind, query in (("query", signal.query), ("volume", signal.volume_query), ("stable", signal.query)):
                if not query:
                    continue
                view = canary.model_copy(update={"selector": canary.stable_selector}) if kind == "stable" else canary
                rules.append({"alert": f"signal_{name}_{kind}_{window}", "expr": f"({render_query(query, window, view)}) >= 0"})
    return {"groups": [{"name": "cockpit", "interval": "15s", "rules": rules}]}


def test_default_playbook_has_the_eight_signals_and_twenty_triggers(config: CockpitConfig) -> None:
    assert {name: (s.short, s.unit) for name, s in config.signals.items()} == SIGNALS
    groups: dict[str, int] = {}
    for trigger in config.triggers:
        groups[trigger.group] = groups.get(trigger.group, 0) + 1
    assert groups == {"standard": 6, "enhanced": 8, "auto_guard": 2, "enrichment": 4}
    assert {t.name for t in config.triggers if t.auto} == {"latency_cpu_backpressure", "error_risk_correlation"}
    assert all(t.action == "rollback" for t in config.triggers if t.auto)
    by_name = {t.name: t for t in config.triggers}
    assert by_name["gc_pause_hold"].action == "hold"
    assert by_name["dead_tuples_bloat"].action == "warn"
    assert "pg_stat_user_tables_n_dead_tup" in by_name["dead_tuples_bloat"].expr
    assert by_name["csp_violation_surge"].expr.count("{stable_selector}") == 2
    # every request-rate signal can widen its window; CSP is per request, relative to the baseline
    assert {n for n, s in config.signals.items() if s.volume_query} == {
        "p95_latency", "error_rate", "risk_block_rate", "idempotency_conflicts", "csp_violations"
    }
    assert config.signals["csp_violations"].max_vs_baseline == pytest.approx(1.10)
    for name, signal in config.signals.items():
        assert "{selector}" in signal.query and "{window}" in signal.query, name


def test_every_expression_passes_promtool_check_rules(config: CockpitConfig, tmp_path: Path) -> None:
    rules = tmp_path / "cockpit_rules.json"  # JSON is YAML: promtool reads it
    rules.write_text(json.dumps(_rules(config), indent=1))
    done = _run("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {20 + 8 * 3 * 2 + 5 * 3} rules found" in done.stdout, done.stdout + done.stderr
    assert "FAILED" not in done.stdout + done.stderr


def test_promtool_check_rules_does_refuse_broken_promql(tmp_path: Path) -> None:
    # the check above can fail: a leading comma in a matcher list is not PromQL
    broken = tmp_path / "broken.json"
    rule = {"alert": "broken", "expr": 'sum(rate(http_requests_total{,track="canary"}[1m])) > 0'}
    broken.write_text(json.dumps({"groups": [{"name": "g", "rules": [rule]}]}))
    done = _run("check", "rules", str(broken))
    assert done.returncode != 0
    assert "parse error" in done.stdout + done.stderr


# ---------------------------------------------------------------- semantics over synthetic series

_C = 'track="canary"'
_S = 'track="stable"'


def _series(bad: bool) -> list[dict[str, str]]:
    """15 s steps; counters grow linearly so rates are exact."""
    steps = "x100"

    def counter(per_step: float) -> str:
        return f"0+{per_step:g}{steps}"

    def gauge(value: float) -> str:
        return f"{value:g}{steps}"

    rows = {
        f'http_requests_total{{{_C},code="200"}}': counter(900),
        f'http_requests_total{{{_S},code="200"}}': counter(9000),
        f'csp_violations_total{{{_S}}}': counter(1),
        f'idempotency_requests_total{{{_C}}}': counter(100),
        'pgbouncer_databases_pool_size{database="app"}': gauge(200),
    }
    if bad:
        rows |= {
            f'http_requests_total{{{_C},code="500"}}': counter(45),  # 45 / 945 = 4.76 %
            f'http_request_duration_seconds_bucket{{{_C},le="0.1"}}': counter(0),
            f'http_request_duration_seconds_bucket{{{_C},le="0.5"}}': counter(0),
            f'http_request_duration_seconds_bucket{{{_C},le="1"}}': counter(945),
            f'http_request_duration_seconds_bucket{{{_C},le="+Inf"}}': counter(945),
            f'process_cpu_seconds_total{{{_C}}}': counter(14.25),  # 0.95 of a core
            f'risk_blocks_total{{{_C}}}': counter(1),  # 4 / min
            f'ws_staleness_seconds{{{_C}}}': gauge(45),
            f'csp_violations_total{{{_C}}}': counter(3),
            f'idempotency_conflicts_total{{{_C}}}': counter(5),  # 5 %
            'pgbouncer_pools_client_waiting_connections{database="app"}': gauge(3),
            'pg_stat_activity_count{datname="app",state="idle in transaction"}': gauge(10),
            f'process_resident_memory_bytes{{{_C}}}': f"100000000+10000000{steps}",  # 666 KB/s
            f'retry_attempts_total{{{_C}}}': counter(300),
            f'ws_reconnects_total{{{_C}}}': counter(30),  # 120 / min
            f'ws_connections_open{{{_C}}}': gauge(100),
            f'decimal_precision_errors_total{{{_C}}}': counter(1),
            f'nodejs_eventloop_lag_p99_seconds{{{_C}}}': gauge(0.08),
            f'nodejs_gc_duration_seconds_sum{{{_C},kind="major"}}': counter(0.5),
            f'nodejs_gc_duration_seconds_count{{{_C},kind="major"}}': counter(10),  # 50 ms average
            'pg_stat_user_tables_n_dead_tup{relname="orders"}': gauge(2_000_000),
            'pgbouncer_databases_current_connections{database="app"}': f"10+2{steps}",  # 8 / min
        }
    else:
        rows |= {
            f'http_request_duration_seconds_bucket{{{_C},le="0.1"}}': counter(900),
            f'http_request_duration_seconds_bucket{{{_C},le="0.5"}}': counter(900),
            f'http_request_duration_seconds_bucket{{{_C},le="1"}}': counter(900),
            f'http_request_duration_seconds_bucket{{{_C},le="+Inf"}}': counter(900),
            f'process_cpu_seconds_total{{{_C}}}': counter(3),
            f'risk_blocks_total{{{_C}}}': counter(0),
            f'ws_staleness_seconds{{{_C}}}': gauge(5),
            f'csp_violations_total{{{_C}}}': counter(0),
            f'idempotency_conflicts_total{{{_C}}}': counter(0),
            'pgbouncer_pools_client_waiting_connections{database="app"}': gauge(0),
            'pg_stat_activity_count{datname="app",state="idle in transaction"}': gauge(0),
            f'process_resident_memory_bytes{{{_C}}}': gauge(100_000_000),
            f'retry_attempts_total{{{_C}}}': counter(0),
            f'ws_reconnects_total{{{_C}}}': counter(0),
            f'ws_connections_open{{{_C}}}': gauge(100),
            f'decimal_precision_errors_total{{{_C}}}': counter(0),
            f'nodejs_eventloop_lag_p99_seconds{{{_C}}}': gauge(0.01),
            f'nodejs_gc_duration_seconds_sum{{{_C},kind="minor"}}': counter(0.05),
            f'nodejs_gc_duration_seconds_count{{{_C},kind="minor"}}': counter(10),  # 5 ms average
            'pg_stat_user_tables_n_dead_tup{relname="orders"}': gauge(1000),
            'pgbouncer_databases_current_connections{database="app"}': gauge(10),
        }
    return [{"series": name, "values": values} for name, values in rows.items()]


def _signal_expectations(config: CockpitConfig, bad: bool) -> list[dict[str, Any]]:
    canary = config.canary
    values = (
        {
            "error_rate": 45 / 945,
            "p95_latency": 0.5 + 0.5 * 0.95,  # every observation in (0.5, 1]: linear within the bucket
            "ws_staleness": 45,
            "risk_block_rate": 4,
            "idempotency_conflicts": 0.05,
            "eventloop_lag": 0.08,
            "gc_pause": 0.05,
            "csp_violations": 3 / 945,  # 3 reports per 945 requests
        }
        if bad
        else {
            "error_rate": 0,  # no 5xx series at all is 0 %, not no data
            "p95_latency": 0.095,
            "ws_staleness": 5,
            "risk_block_rate": 0,
            "idempotency_conflicts": 0,
            "eventloop_lag": 0.01,
            "gc_pause": 0.005,
            "csp_violations": 0,
        }
    )
    # promtool compares floats exactly: compare micro-units, rounded
    tests = [
        {
            "expr": f"round(({render_query(config.signals[name].query, 60, canary)}) * 1000000)",
            "eval_time": "20m",
            "exp_samples": [{"labels": "{}", "value": round(value * 1_000_000)}],
        }
        for name, value in values.items()
    ]
    tests.append(
        {
            "expr": render_query(config.signals["p95_latency"].volume_query or "", 60, canary),
            "eval_time": "20m",
            "exp_samples": [{"labels": "{}", "value": 3780 if bad else 3600}],
        }
    )
    return tests


def test_triggers_fire_in_a_bad_scenario_and_stay_quiet_in_a_good_one(config: CockpitConfig, tmp_path: Path) -> None:
    canary = config.canary
    rules = {
        "groups": [
            {
                "name": "triggers",
                "interval": "15s",
                "rules": [
                    {"alert": t.name, "expr": render_query(t.expr, canary.window, canary), "for": f"{int(t.for_)}s"}
                    for t in config.triggers
                ],
            }
        ]
    }
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    tests = []
    for bad in (True, False):
        tests.append(
            {
                "interval": "15s",
                "input_series": _series(bad),
                "alert_rule_test": [
                    {"eval_time": "20m", "alertname": t.name, "exp_alerts": [{"exp_labels": {}}] if bad else []}
                    for t in config.triggers
                ],
                "promql_expr_test": _signal_expectations(config, bad),
            }
        )
    (tmp_path / "tests.json").write_text(
        json.dumps({"rule_files": ["rules.json"], "evaluation_interval": "15s", "tests": tests}, indent=1)
    )
    done = subprocess.run(
        [_promtool(), "test", "rules", "tests.json"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
