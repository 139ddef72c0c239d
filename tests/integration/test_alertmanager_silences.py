"""The alertmanager_silences check against a real Alertmanager with real silences."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.checks.runner import CheckContext, run_checks
from cockpit.checks.specs import AlertmanagerSilencesSpec
from cockpit.config import CockpitConfig, validate_config
from cockpit.evidence import EvidenceStore
from cockpit.results import CheckResult, Status
from tests.services import free_port

pytestmark = pytest.mark.integration

VERSION = "v1.4.0"
TRIGGER = "CockpitHighP95"


def make_config(url: str | None) -> CockpitConfig:
    data: dict[str, Any] = {"triggers": [{"name": TRIGGER, "expr": "vector(1) > 0"}]}
    if url is not None:
        data["alertmanager"] = {"url": url, "timeout": 2}
    return validate_config(data, "test")


def spec(**fields: Any) -> AlertmanagerSilencesSpec:
    return AlertmanagerSilencesSpec.model_validate(
        {"id": "t.silences", "title": "silences", "phase": "redteam", "kind": "alertmanager_silences", **fields}
    )


async def run(check: AlertmanagerSilencesSpec, config: CockpitConfig, tmp_path: Path) -> CheckResult:
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path, VERSION))
    [result] = await run_checks([check], ctx)
    return result


@pytest.fixture
def silence(alertmanager) -> Iterator[Callable[..., str]]:
    """Create silences for one test; they are expired afterwards so the next test starts clean."""
    created: list[str] = []

    def make(*matchers: tuple[str, str, str], created_by: str = "alice") -> str:
        ops = {"=": (False, True), "=~": (True, True), "!=": (False, False), "!~": (True, False)}
        body = [
            {"name": name, "value": value, "isRegex": ops[op][0], "isEqual": ops[op][1]} for name, op, value in matchers
        ]
        silence_id = alertmanager.create_silence(body, created_by=created_by, comment="maintenance")
        created.append(silence_id)
        return silence_id

    yield make
    for silence_id in created:
        alertmanager.expire_silence(silence_id)


def evidence(tmp_path: Path, result: CheckResult) -> str:
    return (tmp_path / VERSION / result.evidence[0]).read_text()


async def test_no_silence_at_all_passes(alertmanager, tmp_path):
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.PASS, result.summary
    assert "0 active" in result.summary


async def test_a_silence_that_masks_nothing_passes_and_is_listed(alertmanager, silence, tmp_path):
    warning = silence(("severity", "=", "warning"), ("alertname", "=", "DiskFull"), created_by="bob")
    not_critical = silence(("severity", "!=", "critical"))
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.PASS, result.summary
    text = evidence(tmp_path, result)
    for needle in (warning, not_critical, 'severity="warning"', 'alertname="DiskFull"', 'severity!="critical"', "createdBy: bob", "endsAt: "):
        assert needle in text


async def test_a_critical_silence_fails(alertmanager, silence, tmp_path):
    silence_id = silence(("severity", "=", "critical"), ("service", "=", "api"))
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.FAIL
    assert "severity=critical" in result.summary and silence_id in result.summary
    assert "MASKS severity=critical" in evidence(tmp_path, result)


async def test_a_regex_silence_on_critical_fails(alertmanager, silence, tmp_path):
    silence(("severity", "=~", "crit.*"))
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.FAIL and 'severity=~"crit.*"' in result.summary


async def test_a_silence_on_a_trigger_name_fails(alertmanager, silence, tmp_path):
    silence(("alertname", "=", TRIGGER), ("severity", "=", "warning"))
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.FAIL and f"trigger {TRIGGER}" in result.summary
    # with trigger names unprotected the same silence hides nothing protected
    result = await run(spec(protect_trigger_names=False), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.PASS, result.summary


async def test_a_silence_that_does_not_exclude_critical_warns(alertmanager, silence, tmp_path):
    silence(("alertname", "=", "DiskFull"))
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.WARN and "could also mute severity=critical" in result.summary


async def test_expired_silences_are_ignored(alertmanager, tmp_path):
    silence_id = alertmanager.create_silence([{"name": "severity", "value": "critical"}])
    alertmanager.expire_silence(silence_id)
    result = await run(spec(), make_config(alertmanager.url), tmp_path)
    assert result.status is Status.PASS, result.summary
    assert silence_id not in evidence(tmp_path, result)


async def test_alertmanager_down_is_unknown(tmp_path):
    result = await run(spec(), make_config(f"http://127.0.0.1:{free_port()}"), tmp_path)
    assert result.status is Status.UNKNOWN and "cannot connect" in result.summary
    assert result.duration_s < 3
    assert "error: " in evidence(tmp_path, result)


async def test_alertmanager_not_configured_is_unknown(tmp_path):
    result = await run(spec(), make_config(None), tmp_path)
    assert result.status is Status.UNKNOWN and "[alertmanager] is not configured" in result.summary
