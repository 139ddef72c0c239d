"""`cockpit export rules` with the real promtool: the rules load, the generated tests pass, a broken one fails."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cockpit.config import CockpitConfig, load_config
from cockpit.records.exports import RuleExport, export_rules, rule_tests, to_yaml


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    assert path, "promtool is not installed (apt-get install prometheus)"
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def _cli(*argv: str) -> tuple[int, str, str]:
    from cockpit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _only(export: RuleExport, *alerts: str) -> RuleExport:
    """A smaller export (promtool takes ~3 s over all 27 rules): the same rules, fewer of them."""
    export.triggers = [r for r in export.triggers if r.alert in alerts]
    export.signals = [r for r in export.signals if r.alert in alerts]
    return export


def _write(folder: Path, document: dict) -> Path:
    (folder / "tests.yml").write_text(to_yaml(document))
    return folder


def test_the_exported_rules_load_and_their_generated_tests_pass(tmp_path: Path) -> None:
    rules, tests = tmp_path / "rules" / "cockpit.rules.yml", tmp_path / "tests" / "cockpit.test.yml"
    rules.parent.mkdir()
    tests.parent.mkdir()
    code, out, err = _cli("export", "rules", "--out", str(rules), "--tests", str(tests))
    assert code == 0 and out == "", err
    assert "20 trigger rules, 7 signal limits; skipped 1: csp_violations_limit" in err
    assert "27 rules proven" in err
    checked = _promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 27 rules found" in checked.stdout
    text = rules.read_text()
    assert "        expr: |-\n          (sum(rate(csp_violations_total" in text  # multi-line PromQL as written
    assert "\\n" not in text  # no expression squeezed onto one JSON-escaped line
    import yaml

    loaded = [r["expr"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    assert loaded == [r.expr for r in export_rules(load_config(None)).rules]
    assert "rule_files:\n  - \"../rules/cockpit.rules.yml\"" in tests.read_text()  # relative to the test file
    tested = _promtool("test", "rules", str(tests), cwd=tmp_path)  # promtool resolves rule_files from the test file
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_a_broken_expectation_makes_promtool_fail(tmp_path: Path) -> None:
    config = load_config(None)
    export = _only(export_rules(config), "p95_latency_breach", "error_rate_breach", "p95_latency_limit")
    (tmp_path / "rules.yml").write_text(export.yaml())
    tests = rule_tests(config, export, "rules.yml")
    assert _promtool("test", "rules", "tests.yml", cwd=_write(tmp_path, tests.document)).returncode == 0  # as generated
    bad_case = tests.document["tests"][0]
    assert bad_case["name"].startswith("bad service")
    p95 = next(t for t in bad_case["alert_rule_test"] if t["alertname"] == "p95_latency_breach")
    p95["exp_alerts"] = []  # claim the breach does not fire
    done = _promtool("test", "rules", "tests.yml", cwd=_write(tmp_path, tests.document))
    assert done.returncode != 0
    assert "p95_latency_breach" in done.stdout + done.stderr and "FAILED" in done.stdout + done.stderr


def test_the_tests_catch_a_rules_file_that_drifted_from_them(tmp_path: Path) -> None:
    # tests generated for p95 <= 200 ms, rules later exported with a 2 s limit: the breach no longer fires
    config = load_config(None)
    original = _only(export_rules(config), "p95_latency_limit", "error_rate_limit")
    (tmp_path / "rules.yml").write_text(original.yaml())
    (tmp_path / "tests.yml").write_text(rule_tests(config, original, "rules.yml").yaml())
    assert _promtool("test", "rules", "tests.yml", cwd=tmp_path).returncode == 0
    data = config.model_dump(by_alias=True)
    data["signals"]["p95_latency"]["max"] = 2.0
    drifted = _only(export_rules(CockpitConfig.model_validate(data)), "p95_latency_limit", "error_rate_limit")
    (tmp_path / "rules.yml").write_text(drifted.yaml())
    done = _promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode != 0 and "p95_latency_limit" in done.stdout + done.stderr


def test_relative_limits_with_a_baseline_custom_selectors_and_awkward_text(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence" / "v1.3.0"
    evidence.mkdir(parents=True)
    (evidence / "baseline_v1.3.0.json").write_text(json.dumps({"taken_at": "x", "values": {"csp_violations": 0.0005}}))
    (tmp_path / "cockpit.toml").write_text(
        """
[evidence]
dir = "evidence"

[canary]
selector = 'deployment="api-canary",env="prod"'
stable_selector = 'deployment="api",env="prod"'

[[triggers]]
name = "p95_latency_breach"
description = 'p95 "too high" \\ {{ not a template }} — gecikme çok yüksek'

[[triggers]]
name = "custom_queue_depth"
expr = 'max(queue_depth{{selector}}) > 100'
action = "hold"
"""
    )
    rules, tests = tmp_path / "rules.yml", tmp_path / "tests.yml"
    code, _, err = _cli(
        "export", "rules", "--config", str(tmp_path / "cockpit.toml"), "--baseline-version", "v1.3.0",
        "--out", str(rules), "--tests", str(tests),
    )
    assert code == 0, err
    assert "28 rules proven" in err and "untested 1: custom_queue_depth: not a default-playbook trigger" in err
    text = rules.read_text()
    assert 'deployment=\\"api-canary\\",env=\\"prod\\"' in text
    assert '{{ \\"{{\\" }} not a template }}' in text  # Prometheus must not read the description as a template
    checked = _promtool("check", "rules", str(rules))
    assert checked.returncode == 0 and "SUCCESS: 29 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", str(tests), cwd=tmp_path)
    # the expected annotation is the text as written: quotes, backslash, braces and UTF-8 survive the round trip
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("selector", ['track=~"canary|preview"', 'track!="stable"'])
def test_a_selector_series_cannot_be_made_for_leaves_every_rule_untested(selector: str, tmp_path: Path) -> None:
    data = load_config(None).model_dump(by_alias=True)
    data["canary"]["selector"] = selector
    config = CockpitConfig.model_validate(data)
    export = export_rules(config)
    tests = rule_tests(config, export, "rules.yml")
    assert tests.proven == [] and len(tests.untested) == len(export.rules)
    assert "is not a list of label=\"value\" matchers" in tests.untested[0]
    (tmp_path / "rules.yml").write_text(export.yaml())
    assert _promtool("check", "rules", str(tmp_path / "rules.yml")).returncode == 0
