"""Exports without external tools: the YAML scalars, the rules' shape, the Grafana dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.config import CockpitConfig, load_config
from cockpit.engine.promql_text import render_query
from cockpit.records.exports import block_scalar, export_rules, grafana_dashboard, grafana_json, to_yaml, yaml_scalar


@pytest.fixture(scope="module")
def config() -> CockpitConfig:
    return load_config(None)


def test_yaml_scalars_are_quoted_json_escaped_and_yaml_safe() -> None:
    assert yaml_scalar('rate(x{a="b"}[1m]) > 0.2') == r'"rate(x{a=\"b\"}[1m]) > 0.2"'
    assert yaml_scalar("a\\b\nc\td") == r'"a\\b\nc\td"'
    assert yaml_scalar("yes") == '"yes"' and yaml_scalar("null") == '"null"' and yaml_scalar("") == '""'
    assert yaml_scalar("Gecikme çok yüksek ✓") == '"Gecikme çok yüksek ✓"'
    assert yaml_scalar("\x7f\x85\ufeff") == r'"\u007f\u0085\ufeff"'  # JSON leaves these raw; YAML wants them escaped
    assert yaml_scalar("\x00\x1b") == r'"\u0000\u001b"'
    assert yaml_scalar(True) == "true" and yaml_scalar(3) == "3" and yaml_scalar(0.25) == "0.25"
    with pytest.raises(ValueError):
        yaml_scalar(float("nan"))


@pytest.mark.parametrize(
    "text",
    ["a\nb", "sum(x)\n  /\nsum(y)\n", "x\n\n  y", 'q"\\\nz # not a comment', "tab\tin\nline", "ünï\ncodé"],
)
def test_multi_line_text_is_a_literal_block_that_reads_back_the_same(text: str) -> None:
    import yaml

    document = to_yaml({"rules": [{"expr": text}]})
    assert "expr: |" in document and "\\n" not in document
    assert yaml.safe_load(document) == {"rules": [{"expr": text}]}


@pytest.mark.parametrize("text", ["single", "one\n", " lead\nx", "a\r\nb", "a\x07\nb", "a\n\n", "a\u2028\nb"])
def test_text_a_block_cannot_hold_exactly_stays_quoted(text: str) -> None:
    import yaml

    assert block_scalar(text, 2) is None
    assert yaml.safe_load(to_yaml({"expr": text})) == {"expr": text}


def test_block_yaml_for_the_fixed_shapes() -> None:
    text = to_yaml({"groups": [{"name": "g", "rules": [{"alert": "a", "labels": {"x-y": "1"}, "annotations": {}}]}], "empty": []})
    assert text == (
        "groups:\n"
        '  - name: "g"\n'
        "    rules:\n"
        '      - alert: "a"\n'
        "        labels:\n"
        '          x-y: "1"\n'
        "        annotations: {}\n"
        "empty: []\n"
    )


def test_rules_cover_enabled_triggers_and_absolute_signal_limits(config: CockpitConfig) -> None:
    export = export_rules(config)
    assert [r.alert for r in export.triggers] == [t.name for t in config.triggers if t.enabled]
    assert len(export.triggers) == 20 and len(export.signals) == 7
    assert [s for s in export.skipped if s.startswith("csp_violations_limit:")]  # relative: needs a baseline
    by_name = {r.alert: r for r in export.rules}
    guard = by_name["latency_cpu_backpressure"]
    assert guard.labels == {"cockpit_action": "immediate", "cockpit_auto": "true", "group": "auto_guard"}
    assert by_name["gc_pause_hold"].labels["cockpit_action"] == "hold"
    assert by_name["dead_tuples_bloat"].labels["cockpit_action"] == "warn"
    assert by_name["decimal_precision_errors"].as_rule().get("for") is None  # `for = "0s"`: no for
    p95 = by_name["p95_latency_limit"]
    assert p95.expr == f"({render_query(config.signals['p95_latency'].query, 60, config.canary)}) > 0.2"
    assert p95.as_rule()["for"] == "2m" and p95.labels["cockpit_action"] == "rollback"
    # with a baseline the relative limit is exported: max(floor, baseline x 1.1)
    with_baseline = {r.alert: r for r in export_rules(config, {"csp_violations": 0.002}).signals}
    assert with_baseline["csp_violations_limit"].expr.endswith(f") > {0.002 * 1.1!r}")
    floor = {r.alert: r for r in export_rules(config, {"csp_violations": 0.0}).signals}
    assert floor["csp_violations_limit"].expr.endswith(") > 0.001")  # `max` is the floor under a zero baseline


def test_disabled_triggers_and_signals_are_left_out() -> None:
    config = CockpitConfig.model_validate(
        {
            "signals": {"a": {"query": "x", "max": 1}, "b": {"query": "y", "min": 2, "max": 5, "enabled": False}},
            "triggers": [{"name": "t1", "expr": "up == 0"}, {"name": "t2", "expr": "up == 1", "enabled": False}],
        }
    )
    export = export_rules(config)
    assert [r.alert for r in export.rules] == ["t1", "a_limit"]
    both = CockpitConfig.model_validate({"signals": {"b": {"query": "y", "min": 2, "max": 5}}})
    assert export_rules(both).signals[0].expr == "(y) > 5 or (y) < 2"


def test_grafana_dashboard_has_one_panel_per_signal_with_its_limit(config: CockpitConfig) -> None:
    baseline = {"csp_violations": 0.002}
    text = grafana_json(config, baseline)
    dashboard = json.loads(text)
    assert text == grafana_json(config, baseline)  # deterministic: the same bytes every time
    assert dashboard["schemaVersion"] == 39
    assert dashboard["templating"]["list"][0]["name"] == "DS_PROMETHEUS"
    panels = dashboard["panels"]
    assert len(panels) == 8
    units = {"s": "s", "ratio": "percentunit", "per_min": "suffix:/min"}
    for panel, (name, signal) in zip(panels, config.enabled_signals().items()):
        assert panel["type"] == "timeseries" and panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert panel["targets"][0]["expr"] == render_query(signal.query, config.canary.window, config.canary)
        assert panel["fieldConfig"]["defaults"]["unit"] == units[signal.unit]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        expected = max(signal.max or 0, 0.002 * 1.1) if signal.max_vs_baseline else signal.max
        assert steps == [{"color": "green", "value": None}, {"color": "red", "value": expected}], name
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels}) == 8  # no two panels on top of each other


def test_grafana_without_a_baseline_draws_no_made_up_relative_limit(config: CockpitConfig) -> None:
    panels = {p["title"]: p for p in grafana_dashboard(config)["panels"]}
    csp = panels[config.signals["csp_violations"].title]
    assert csp["fieldConfig"]["defaults"]["thresholds"]["steps"] == [{"color": "green", "value": None}]
    assert "no baseline was taken" in csp["description"]


def test_export_commands_write_files_and_refuse_bad_input(tmp_path: Path) -> None:
    from cockpit.cli import main

    out = tmp_path / "dash.json"
    assert main(["export", "grafana", "--out", str(out)]) == 0
    assert len(json.loads(out.read_text())["panels"]) == 8
    assert main(["export", "rules", "--tests", str(tmp_path / "t.yml")]) == 2  # the tests need the rules file
    assert main(["export", "rules", "--config", str(tmp_path / "missing.toml")]) == 2
    assert main(["export", "rules", "--out", str(tmp_path / "no" / "such" / "dir" / "r.yml")]) == 2
