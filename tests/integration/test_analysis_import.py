"""`cockpit import analysis`: Argo Rollouts' and Flagger's documented templates become signals the cockpit loads.

The emitted TOML goes through the cockpit's own config validation (merged over the
default playbook), and the queries, rendered as the canary would run them, go
through the real promtool's PromQL parser.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cockpit.config import load_config
from cockpit.engine.promql_text import render_query
from cockpit.records.exports import to_yaml

DATA = Path(__file__).parents[1] / "data" / "analysis"


def cli(*argv: str) -> tuple[int, str, str]:
    from cockpit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def imported(tmp_path: Path, text: str) -> tuple[int, str, str]:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return cli("import", "analysis", str(path))


def promtool_parses(tmp_path: Path, exprs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` over one recording rule per expression: the real PromQL parser."""
    rules = {"groups": [{"name": "imported", "rules": [{"record": f"cockpit:{n}", "expr": e} for n, e in exprs.items()]}]}
    (tmp_path / "rules.yml").write_text(to_yaml(rules))
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed (apt-get install prometheus)"
    return subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, timeout=60)


def load_with_playbook(tmp_path: Path, toml: str):
    (tmp_path / "cockpit.toml").write_text(toml)
    return load_config(tmp_path / "cockpit.toml")


def test_argo_success_rate_becomes_a_min_with_for_and_the_canary_selector(tmp_path: Path) -> None:
    code, out, err = cli("import", "analysis", str(DATA / "argo_success_rate.yaml"))
    assert code == 0, err
    signal = tomllib.loads(out)["signals"]["success_rate"]
    assert signal["min"] == 0.95 and "max" not in signal and signal["for"] == "15m"  # failureLimit 3 x 5m
    assert signal["query"].count('{reporter="source",') == 2 and signal["query"].count(",{selector}}[5m]") == 2
    assert "{{" not in signal["query"] and 'response_code!~"5.*"' in signal["query"]
    assert '# Argo measures every 5m: the cockpit evaluates every [canary] evaluate_every' in out
    assert 'destination_service=~"{{args.service-name}}" became {selector}' in err and err.count("\n") == 2
    assert err.endswith("cockpit: import analysis: imported 1 of 1 metrics\n")
    config = load_with_playbook(tmp_path, out)
    loaded = config.signals["success_rate"]
    assert (loaded.min, loaded.for_) == (0.95, 900.0) and "p95_latency" in config.signals  # merged over the playbook
    rendered = render_query(loaded.query, 60, config.canary)
    assert 'istio_requests_total{reporter="source",response_code!~"5.*",track="canary"}[5m]' in rendered
    checked = promtool_parses(tmp_path, {"success_rate": rendered})
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_flagger_not_found_percentage_takes_the_canarys_threshold_range(tmp_path: Path) -> None:
    code, out, err = cli("import", "analysis", str(DATA / "flagger_not_found.yaml"))
    assert code == 0, err
    signal = tomllib.loads(out)["signals"]["not_found_percentage"]
    assert signal["max"] == 5 and "min" not in signal and signal["title"] == "404s percentage"
    assert signal["for"] == "4m"  # (threshold 5 - 1) x analysis.interval 1m
    assert signal["query"].count("[{window}]") == 2 and signal["query"].count(",{selector}}") == 2
    assert 'response_code!="404",{selector}}' in signal["query"] and "{{" not in signal["query"]
    assert 'destination_workload="{{target}}" became {selector}' in err
    config = load_with_playbook(tmp_path, out)
    rendered = render_query(config.signals["not_found_percentage"].query, 120, config.canary)
    assert "[2m]" in rendered and "{window}" not in rendered
    checked = promtool_parses(tmp_path, {"not_found": rendered})
    assert checked.returncode == 0, checked.stdout + checked.stderr


ARGO = """apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: t}}
spec:
  metrics:
  - name: {name}
    {condition}
    provider:
      {provider}:
        query: {query}
"""


@pytest.mark.parametrize(
    ("condition", "limits"),
    [
        ("successCondition: result[0] < 200", {"max": 200}),
        ("successCondition: 'result[0] >= 0.9 && result[0] <= 1'", {"min": 0.9, "max": 1}),
        ("successCondition: 'result >= 0.5'", {"min": 0.5}),
        ("successCondition: 'isNaN(result[0]) || result[0] < 0.3'", {"max": 0.3}),
        ("successCondition: 'len(result) == 0 || result[0] >= 0.95'", {"min": 0.95}),
        ("successCondition: 'result[0] >= 0.5 && result[0] <= 2'", {"min": 0.5, "max": 2}),
        ("successCondition: 'len(result) > 0 && result[0] < 0.05'", {"max": 0.05}),
        ("failureCondition: 'isNaN(result[0]) || result[0] > 0.1'", {"max": 0.1}),
        ("successCondition: '0.2 > result[0]'", {"max": 0.2}),
        ("failureCondition: result[0] > 0.05", {"max": 0.05}),
        ("failureCondition: result[0] < 0.99", {"min": 0.99}),
    ],
)
def test_conditions_become_limits(tmp_path: Path, condition: str, limits: dict) -> None:
    text = ARGO.format(name="p95", condition=condition, provider="prometheus", query="'max(x{job=\"{{args.job}}\"})'")
    code, out, err = imported(tmp_path, text)
    assert code == 0, err
    signal = tomllib.loads(out)["signals"]["p95"]
    assert {k: signal[k] for k in ("min", "max") if k in signal} == limits
    assert signal["query"] == "max(x{{selector}})"
    load_with_playbook(tmp_path, out)


@pytest.mark.parametrize(
    ("name", "condition", "provider", "words"),
    [
        ("errors", "successCondition: result[0] >= 0.95", "datadog", "metric 'errors': provider datadog is not supported (only prometheus)"),
        (
            "latency",
            "successCondition: 'result[0] < 0.3 || result[1] < 0.5'",
            "prometheus",
            "metric 'latency': condition 'result[0] < 0.3 || result[1] < 0.5' is not supported",
        ),
        ("ok", "successCondition: result[0] == 1", "prometheus", "metric 'ok': condition 'result[0] == 1' is not supported"),
        ("data", "successCondition: 'len(result) > 0'", "prometheus", "metric 'data': condition 'len(result) > 0' only asks for data"),
        ("bare", "count: 3", "prometheus", "metric 'bare': no successCondition or failureCondition"),
    ],
)
def test_what_does_not_map_exits_2_with_one_line_naming_the_metric(tmp_path, name, condition, provider, words) -> None:
    code, out, err = imported(tmp_path, ARGO.format(name=name, condition=condition, provider=provider, query="up"))
    assert code == 2 and out == ""
    assert words in err and err.count("\n") == 1 and "Traceback" not in err and str(tmp_path) in err


def test_placeholders_that_do_not_map_are_left_and_warned(tmp_path: Path) -> None:
    query = "'sum(rate(errors{svc=\"{{args.svc}}-canary\"}[{{args.window}}])) > {{args.limit}}'"
    code, out, err = imported(tmp_path, ARGO.format(name="errs", condition="successCondition: result[0] < 1", provider="prometheus", query=query))
    assert code == 0
    assert tomllib.loads(out)["signals"]["errs"]["query"] == 'sum(rate(errors{svc="{{args.svc}}-canary"}[{{args.window}}])) > {{args.limit}}'
    assert "placeholder(s) {{args.svc}}, {{args.window}}, {{args.limit}} left as they are" in err
    assert "the query has no {selector}" in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("kind: [unclosed\n", "YAML syntax error (line 2)"),
        ("apiVersion: v1\nkind: ConfigMap\n", "no AnalysisTemplate, ClusterAnalysisTemplate or MetricTemplate"),
        ("- a\n- b\n", "each YAML document must be a mapping"),
        (
            "kind: MetricTemplate\nmetadata: {name: nf}\nspec: {provider: {type: prometheus}, query: up}\n",
            "metric 'nf': no thresholdRange: add the Canary",
        ),
        ("kind: MetricTemplate\nmetadata: {name: dd}\nspec: {provider: {type: datadog}, query: up}\n", "metric 'dd': provider datadog is not supported"),
    ],
)
def test_bad_files_are_one_line_and_exit_2(tmp_path: Path, text: str, words: str) -> None:
    code, out, err = imported(tmp_path, text)
    assert code == 2 and out == "" and words in err and err.count("\n") == 1, err


def test_a_missing_file_is_one_line() -> None:
    code, _, err = cli("import", "analysis", "/nonexistent/analysis.yaml")
    assert code == 2 and err == "cockpit: /nonexistent/analysis.yaml: file not found\n"


FIVE = """apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: web}
spec:
  metrics:
  - name: error-rate
    interval: 1m
    failureLimit: 2
    successCondition: len(result) > 0 && result[0] < 0.05
    provider: {prometheus: {query: 'sum(rate(http_requests_total{code=~"5..",job="{{args.job}}"}[1m])) / sum(rate(http_requests_total{job="{{args.job}}"}[1m]))'}}
  - name: p99
    successCondition: isNaN(result[0]) || result[0] < 0.5
    provider: {prometheus: {query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="{{args.job}}"}[1m])))'}}
  - name: throughput
    successCondition: result[0] >= 10 && result[0] <= 5000
    provider: {prometheus: {query: 'sum(rate(http_requests_total{job="{{args.job}}"}[1m]))'}}
  - name: saturation
    successCondition: len(result) == 0 || result[0] <= 0.9
    provider: {prometheus: {query: 'max(rate(process_cpu_seconds_total{job="{{args.job}}"}[1m]))'}}
  - name: apdex
    successCondition: all(result, {# > 0.9})
    provider: {prometheus: {query: 'apdex{job="{{args.job}}"}'}}
"""


def test_one_unmappable_metric_of_five_is_skipped_and_four_import(tmp_path: Path) -> None:
    code, out, err = imported(tmp_path, FIVE)
    assert code == 0, err
    signals = tomllib.loads(out)["signals"]
    assert sorted(signals) == ["error_rate", "p99", "saturation", "throughput"]
    assert signals["error_rate"]["max"] == 0.05 and signals["error_rate"]["for"] == "2m"
    assert (signals["throughput"]["min"], signals["throughput"]["max"]) == (10, 5000)
    assert signals["p99"]["max"] == 0.5 and signals["saturation"]["max"] == 0.9
    skipped = [line for line in err.splitlines() if "skipped metric" in line]
    assert skipped == ["cockpit: import analysis: skipped metric 'apdex' (successCondition: all(result, {# > 0.9})): "
                       "condition 'all(result, {# > 0.9})' is not supported (only result[0] compared with numbers, "
                       "joined by &&, and the isNaN / len(result) idioms)"]
    assert err.splitlines()[-1] == "cockpit: import analysis: imported 4 of 5 metrics, skipped 1"
    # what Argo did on no data is said where the signal is, with what the cockpit does instead
    assert "# Argo's successCondition: no data passes; here no data is BLIND and never PROCEED" in out
    assert out.count("no data passes") == 2 and out.count("no data fails") == 1
    assert "the signal's blind handling ([canary] blind_limit, blind_action) decides" in out
    config = load_with_playbook(tmp_path, out)
    rendered = {n: render_query(config.signals[n].query, 60, config.canary) for n in signals}
    checked = promtool_parses(tmp_path, rendered)
    assert checked.returncode == 0, checked.stdout + checked.stderr


FLAGGER_BUILTINS = """apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  analysis:
    interval: 30s
    threshold: 5
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
      interval: 1m
    - name: request-duration
      thresholdRange: {max: 500}
      interval: 30s
    - name: cpu-usage
      thresholdRange: {max: 80}
"""


def test_flaggers_builtin_metrics_become_signals_on_the_red_playbooks_queries(tmp_path: Path) -> None:
    code, out, err = imported(tmp_path, FLAGGER_BUILTINS)
    assert code == 0, err
    signals = tomllib.loads(out)["signals"]
    success, duration = signals["request_success_rate"], signals["request_duration"]
    red = tomllib.loads((Path(__file__).parents[2] / "cockpit" / "playbooks" / "red.toml").read_text())["signals"]
    assert success["query"] == f"1 - ({red['error_rate']['query']})" and success["min"] == 0.99 and success["unit"] == "ratio"
    assert duration["max"] == 0.5 and duration["unit"] == "s"
    assert duration["query"] == red["p95_latency"]["query"].replace("histogram_quantile(0.95,", "histogram_quantile(0.99,")
    assert success["for"] == duration["for"] == "2m"  # (threshold 5 - 1) x analysis.interval 30s
    assert "# from Flagger Canary 'podinfo', builtin metric 'request-success-rate'" in out
    assert "skipped metric 'cpu-usage' (thresholdRange max=80): not one of Flagger's builtin metrics" in err
    assert err.splitlines()[-1] == "cockpit: import analysis: imported 2 of 3 metrics, skipped 1"
    config = load_with_playbook(tmp_path, out)
    rendered = {n: render_query(config.signals[n].query, 60, config.canary) for n in ("request_success_rate", "request_duration")}
    checked = promtool_parses(tmp_path, rendered)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_nothing_that_maps_is_one_line_naming_each_metric(tmp_path: Path) -> None:
    text = ARGO.format(name="a", condition="successCondition: result[0] == 1", provider="prometheus", query="up")
    text += "  - name: b\n    successCondition: result[0] < 1\n    provider: {datadog: {query: x}}\n"
    code, out, err = imported(tmp_path, text)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "nothing maps: metric 'a': condition 'result[0] == 1' is not supported" in err
    assert "; metric 'b': provider datadog is not supported (only prometheus)" in err
