"""The promql, prom_targets and baseline checks against a real Prometheus scraping a real exporter."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cockpit.checks.baseline import load_baseline
from cockpit.checks.runner import CheckContext, run_checks
from cockpit.checks.specs import BaselineSpec, PromqlSpec, PromTargetsSpec
from cockpit.config import CockpitConfig, load_config, validate_config
from cockpit.evidence import EvidenceStore
from cockpit.results import CheckResult, Status
from tests.exporter import JOB
from tests.services import free_port, wait_until

pytestmark = pytest.mark.integration

VERSION = "v1.4.0"
DEAD_JOB = "cockpit_dead_target"


def make_config(prometheus_url: str | None, **extra: Any) -> CockpitConfig:
    data: dict[str, Any] = dict(extra)
    if prometheus_url is not None:
        data["prometheus"] = {"url": prometheus_url, "timeout": 2}
    return validate_config(data, "test")


async def run(spec: Any, config: CockpitConfig, tmp_path: Path) -> CheckResult:
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path, VERSION, config.redactor()))
    [result] = await run_checks([spec], ctx)
    return result


def promql(query: str, **limits: Any) -> PromqlSpec:
    return PromqlSpec.model_validate({"id": "t.promql", "title": "value", "phase": "preflight", "kind": "promql", "query": query, **limits})


def evidence_text(tmp_path: Path, result: CheckResult, index: int = 0) -> str:
    return (tmp_path / VERSION / result.evidence[index]).read_text()


@pytest.fixture(scope="module")
def check_value(prometheus, exporter) -> str:
    """cockpit_test_value{case="check"} = 0.15, seen by Prometheus."""
    exporter.value.labels(case="check").set(0.15)
    prometheus.wait_for_data('cockpit_test_value{case="check"} == 0.15')
    return 'cockpit_test_value{case="check"}'


# ---------------------------------------------------------------- promql


async def test_promql_pass_with_evidence(prometheus, check_value, tmp_path):
    result = await run(promql(check_value, max=0.2, unit="s"), make_config(prometheus.url), tmp_path)
    assert result.status is Status.PASS, result.summary
    assert "150ms" in result.summary
    text = evidence_text(tmp_path, result)
    assert f"query: {check_value}" in text and "0.15" in text and 'job="cockpit_exporter"' in text and "time: " in text


@pytest.mark.parametrize(
    ("limits", "status", "words"),
    [
        ({"max": 0.1}, Status.FAIL, "above the limit"),
        ({"min": 0.5}, Status.FAIL, "below the limit"),
        ({"max": 0.1, "severity": "WARN"}, Status.WARN, "above the limit"),
        ({"max": 0.2, "warn_max": 0.12}, Status.WARN, "above the warning level"),
        ({"min": 0.1, "warn_min": 0.2}, Status.WARN, "below the warning level"),
        ({"max": 0.15, "min": 0.15}, Status.PASS, ""),
        ({}, Status.WARN, "no limit is set, so nothing was judged"),
    ],
)
async def test_promql_limits(prometheus, check_value, tmp_path, limits, status, words):
    result = await run(promql(check_value, **limits), make_config(prometheus.url), tmp_path)
    assert result.status is status, result.summary
    assert words in result.summary


async def test_promql_window_placeholder_is_filled(prometheus, check_value, tmp_path):
    query = 'max_over_time(cockpit_test_value{case="check"}[{window}])'
    result = await run(promql(query, max=1), make_config(prometheus.url, canary={"window": "90s"}), tmp_path)
    assert result.status is Status.PASS, result.summary
    assert "[90s]" in evidence_text(tmp_path, result)


async def test_promql_judges_every_series(prometheus, exporter, tmp_path):
    exporter.value.labels(case="multi_a").set(1)
    exporter.value.labels(case="multi_b").set(5)
    prometheus.wait_for_data('count(cockpit_test_value{case=~"multi_.*"}) == 2')
    result = await run(promql('cockpit_test_value{case=~"multi_.*"}', max=3), make_config(prometheus.url), tmp_path)
    assert result.status is Status.FAIL
    assert "multi_b" in result.summary and "multi_a" not in result.summary


async def test_promql_no_data_is_unknown(prometheus, exporter, tmp_path):
    result = await run(promql('cockpit_test_value{case="never_set"}', max=1), make_config(prometheus.url), tmp_path)
    assert result.status is Status.UNKNOWN and "no data" in result.summary
    assert "samples: none" in evidence_text(tmp_path, result)


async def test_promql_nan_is_unknown(prometheus, exporter, tmp_path):
    result = await run(promql("cockpit_test_nan", max=1), make_config(prometheus.url), tmp_path)
    assert result.status is Status.UNKNOWN and "NaN" in result.summary
    assert "NaN" in evidence_text(tmp_path, result)


async def test_promql_bad_query_is_unknown_with_the_reason(prometheus, tmp_path):
    result = await run(promql("sum(cockpit_test_value", max=1), make_config(prometheus.url), tmp_path)
    assert result.status is Status.UNKNOWN and "parse error" in result.summary


async def test_promql_prometheus_down_is_unknown(tmp_path):
    result = await run(promql("up", max=1), make_config(f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert result.status is Status.UNKNOWN and "cannot connect" in result.summary
    assert result.duration_s < 3


async def test_promql_without_prometheus_config_is_unknown(tmp_path):
    result = await run(promql("up", max=1), make_config(None), tmp_path)
    assert result.status is Status.UNKNOWN and "[prometheus] is not configured" in result.summary


# ---------------------------------------------------------------- targets


def targets_spec(jobs: list[str], min_up: int = 1) -> PromTargetsSpec:
    return PromTargetsSpec(id="t.targets", title="targets", phase="preflight", kind="prom_targets", jobs=jobs, min_up=min_up, evidence="prom_targets_{version}.txt")


@pytest.fixture(scope="module")
def dead_target(prometheus):
    """A target on a port that is bound but never listens (connection refused), reported down by Prometheus."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    address = f"127.0.0.1:{holder.getsockname()[1]}"
    prometheus.add_target(address, DEAD_JOB)

    def reported_down() -> bool:
        with urllib.request.urlopen(f"{prometheus.url}/api/v1/targets?state=active", timeout=2) as response:
            targets = json.load(response)["data"]["activeTargets"]
        return any(t["labels"].get("job") == DEAD_JOB and t["health"] == "down" for t in targets)

    wait_until(reported_down, 30, f"Prometheus to report {address} down", interval=0.25)
    yield address
    holder.close()


async def test_targets_pass_with_the_exporter_up(prometheus, exporter, tmp_path):
    result = await run(targets_spec([JOB]), make_config(prometheus.url), tmp_path)
    assert result.status is Status.PASS, result.summary
    assert result.evidence == [f"prom_targets_{VERSION}.txt"]
    lines = evidence_text(tmp_path, result).splitlines()
    assert lines[1].split() == ["job", "instance", "health", "lastScrape", "lastError"]
    assert lines[2].split()[:3] == [JOB, exporter.address, "up"]


async def test_targets_fail_names_the_down_target(prometheus, exporter, dead_target, tmp_path):
    result = await run(targets_spec([JOB, DEAD_JOB]), make_config(prometheus.url), tmp_path)
    assert result.status is Status.FAIL
    assert DEAD_JOB in result.summary and dead_target in result.summary and "refused" in result.summary
    text = evidence_text(tmp_path, result)
    assert "down" in text and "up" in text and "connection refused" in text


async def test_targets_fail_below_min_up(prometheus, exporter, tmp_path):
    result = await run(targets_spec([JOB], min_up=2), make_config(prometheus.url), tmp_path)
    assert result.status is Status.FAIL and "only 1" in result.summary


async def test_targets_none_at_all_is_unknown(prometheus, tmp_path):
    result = await run(targets_spec(["cockpit_no_such_job"]), make_config(prometheus.url), tmp_path)
    assert result.status is Status.UNKNOWN and "no active targets" in result.summary


async def test_targets_prometheus_down_is_unknown(tmp_path):
    result = await run(targets_spec([JOB]), make_config(f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert result.status is Status.UNKNOWN and "cannot connect" in result.summary
    assert "error: " in evidence_text(tmp_path, result)


# ---------------------------------------------------------------- baseline


def baseline_spec(min_signals: int = 1) -> BaselineSpec:
    return BaselineSpec(id="t.baseline", title="baseline", phase="preflight", kind="baseline", evidence="baseline_{version}.prom", min_signals=min_signals)


@pytest.fixture(scope="module")
def baseline_data(prometheus, exporter) -> None:
    exporter.value.labels(case="base_a").set(0.142)
    exporter.value.labels(case="base_b").set(7)
    exporter.requests.labels(code="500", track="stable").inc(3)
    prometheus.wait_for_data('cockpit_test_value{case="base_a"} == 0.142')
    prometheus.wait_for_data('cockpit_test_value{case="base_b"} == 7')
    # rate() needs two scrapes of the counter; the baseline reads the stable track
    prometheus.wait_for_data('sum(rate(http_requests_total{code="500",track="stable"}[1m]))')


SIGNALS_TOML = """
[prometheus]
url = "{url}"
timeout = "2s"

[signals.sig_a]
query = 'cockpit_test_value{{case="base_a"}}'
unit = "s"
max = 0.2

[signals.sig_b]
query = 'max_over_time(cockpit_test_value{{case="base_b"}}[{{window}}])'
max = 10

[signals.sig_c]
query = 'sum(rate(http_requests_total{{code="500",{{selector}}}}[{{window}}]))'
unit = "per_min"
max_vs_baseline = 1.1

[signals.sig_off]
query = 'cockpit_test_value{{case="never_set"}}'
max = 1
enabled = false
"""


async def test_baseline_pass_writes_three_files(prometheus, baseline_data, tmp_path):
    toml = tmp_path / "cockpit.toml"
    toml.write_text(SIGNALS_TOML.format(url=prometheus.url))
    config = load_config(toml)
    # the default playbook may bring signals of its own: judge only ours
    ours = {k: v for k, v in config.signals.items() if k.startswith("sig_")}
    config = config.model_copy(update={"signals": ours})
    result = await run(baseline_spec(), config, tmp_path)
    assert result.status is Status.PASS, result.summary
    assert result.evidence == [f"baseline_{VERSION}.prom", f"baseline_summary_{VERSION}.txt", f"baseline_{VERSION}.json"]

    prom = evidence_text(tmp_path, result, 0)
    assert "# signal sig_a\nsig_a 0.142\n" in prom and "# signal sig_b\nsig_b 7.0\n" in prom
    assert "sig_off" not in prom
    summary = evidence_text(tmp_path, result, 1)
    assert "signal" in summary and "limit" in summary
    assert "142ms" in summary and "<= 200ms" in summary and "<= baseline x 1.1" in summary
    assert "[1m]" in summary and 'track="stable"' in summary  # placeholders filled, stable track

    values = load_baseline(EvidenceStore(tmp_path, VERSION))
    assert values is not None and set(values) == {"sig_a", "sig_b", "sig_c"}
    assert values["sig_a"] == 0.142 and values["sig_b"] == 7.0 and values["sig_c"] is not None and values["sig_c"] >= 0


async def test_baseline_warns_about_a_signal_without_data(prometheus, baseline_data, tmp_path):
    config = make_config(
        prometheus.url,
        signals={
            "sig_a": {"query": 'cockpit_test_value{case="base_a"}', "max": 0.2},
            "sig_b": {"query": 'cockpit_test_value{case="base_b"}', "max": 10},
            "csp_gone": {"query": 'cockpit_test_value{case="never_set"}', "max_vs_baseline": 1.1},
        },
    )
    result = await run(baseline_spec(), config, tmp_path)
    assert result.status is Status.WARN
    assert "csp_gone" in result.summary and "relative limit" in result.summary
    assert any("csp_gone has no baseline" in d for d in result.details)
    assert "csp_gone NaN" in evidence_text(tmp_path, result, 0)
    assert "no data" in evidence_text(tmp_path, result, 1)
    assert load_baseline(EvidenceStore(tmp_path, VERSION)) == {"sig_a": 0.142, "sig_b": 7.0, "csp_gone": None}


async def test_baseline_below_min_signals_is_unknown(prometheus, baseline_data, tmp_path):
    config = make_config(
        prometheus.url,
        signals={
            "sig_a": {"query": 'cockpit_test_value{case="base_a"}', "max": 0.2},
            "nan": {"query": "cockpit_test_nan", "max": 1},
        },
    )
    result = await run(baseline_spec(min_signals=2), config, tmp_path)
    assert result.status is Status.UNKNOWN and "only 1 of 2" in result.summary and "NaN" in result.summary


async def test_baseline_with_prometheus_down_is_unknown(tmp_path):
    config = make_config(f"http://127.0.0.1:{free_port()}", signals={"sig_a": {"query": "up", "max": 1}})
    result = await run(baseline_spec(), config, tmp_path)
    assert result.status is Status.UNKNOWN and "cannot connect" in result.summary
    assert load_baseline(EvidenceStore(tmp_path, VERSION)) == {"sig_a": None}


async def test_baseline_without_signals_is_unknown(prometheus, tmp_path):
    result = await run(baseline_spec(), make_config(prometheus.url), tmp_path)
    assert result.status is Status.UNKNOWN and "no signals" in result.summary
