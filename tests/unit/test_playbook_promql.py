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
from cockpit.playbooks import synthetic

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

def _series(bad: bool) -> list[dict[str, str]]:
    """The shared synthetic table (cockpit/playbooks/synthetic.py, also behind `cockpit export rules --tests`)."""
    return synthetic.series(bad)


def _signal_expectations(config: CockpitConfig, bad: bool) -> list[dict[str, Any]]:
    canary = config.canary
    values = synthetic.SIGNAL_VALUES[bad]
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
            "exp_samples": [{"labels": "{}", "value": synthetic.VOLUME[bad]}],
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
