"""Prometheus-compatible backends: a real Prometheus serving HTTPS with basic auth and client certificates.

Every path the cockpit reads Prometheus by (instant queries for the checks and
the canary, query_range for replay and the first night's back-fill, the alerts
API, the targets API) goes through PrometheusSource's one client, so each is
asked here with the same settings, and each refusal is a clear UNKNOWN reason
that never carries the password.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cockpit.checks.runner import CheckContext, run_checks
from cockpit.checks.specs import PromqlSpec
from cockpit.config import CockpitConfig, ConfigError, load_config, validate_config
from cockpit.evidence import EvidenceStore
from cockpit.results import Status
from cockpit.sources.prometheus import PrometheusSource
from tests.secure_prometheus import PASSWORD, USERNAME
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

VERSION = "v1.4.0"


def settings(server: Any, **override: Any) -> dict[str, Any]:
    """The [prometheus] table for the secure server: CA, client certificate, basic auth."""
    table = {
        "url": server.url,
        "timeout": 3,
        "ca_file": server.file("ca.crt"),
        "cert_file": server.file("client.crt"),
        "key_file": server.file("client.key"),
        "username": USERNAME,
        "password": PASSWORD,
    }
    table.update(override)
    return {k: v for k, v in table.items() if v is not None}


def config_for(server: Any, **override: Any) -> CockpitConfig:
    return validate_config({"prometheus": settings(server, **override)}, "test")


async def check(config: CockpitConfig, tmp_path: Path, query: str = "vector(0.5)") -> Any:
    spec = PromqlSpec.model_validate(
        {"id": "t.tls", "title": "value", "phase": "preflight", "kind": "promql", "query": query, "max": 1}
    )
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path, VERSION, config.redactor()))
    [result] = await run_checks([spec], ctx)
    return result


def everything_said(result: Any, tmp_path: Path) -> str:
    """The result's words and every evidence file it wrote."""
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    return "\n".join([result.summary, *result.details, *files])


async def test_every_read_path_works_over_tls_with_basic_auth_and_a_client_certificate(secure_prometheus):
    config = config_for(secure_prometheus)
    source = PrometheusSource(config.prometheus, config.redactor())
    try:
        result = await source.query("vector(0.5)")
        assert result.error is None and result.scalar() == 0.5
        end = time.time()
        ranged = await source.query_range("vector(1)", end - 30, end, 5)
        assert ranged.error is None and ranged.series and all(v == 1.0 for _, v in ranged.series[0].points)
        assert await source.alerts() == ([], None)
        targets, error = await source.targets()
        assert error is None and targets == []
    finally:
        source.close()


async def test_the_promql_check_passes_through_the_same_settings(secure_prometheus, tmp_path):
    result = await check(config_for(secure_prometheus), tmp_path)
    assert result.status is Status.PASS, result.summary


async def test_a_wrong_password_is_unknown_with_a_reason_and_never_the_password(secure_prometheus, tmp_path):
    wrong = "wr0ng-Pa55word"
    result = await check(config_for(secure_prometheus, password=wrong), tmp_path)
    assert result.status is Status.UNKNOWN
    assert "refused access (HTTP 401)" in result.summary and "credentials" in result.summary
    said = everything_said(result, tmp_path)
    assert wrong not in said and PASSWORD not in said


async def test_a_missing_client_certificate_says_so(secure_prometheus, tmp_path):
    result = await check(config_for(secure_prometheus, cert_file=None, key_file=None), tmp_path)
    assert result.status is Status.UNKNOWN
    assert "client certificate" in result.summary and "cert_file" in result.summary, result.summary
    assert PASSWORD not in everything_said(result, tmp_path)


async def test_a_client_certificate_from_another_ca_is_refused(secure_prometheus, tmp_path):
    config = config_for(
        secure_prometheus, cert_file=secure_prometheus.file("intruder.crt"), key_file=secure_prometheus.file("intruder.key")
    )
    result = await check(config, tmp_path)
    assert result.status is Status.UNKNOWN and "refused the client certificate" in result.summary, result.summary


async def test_an_untrusted_server_certificate_names_ca_file(secure_prometheus, tmp_path):
    result = await check(config_for(secure_prometheus, ca_file=None), tmp_path)
    assert result.status is Status.UNKNOWN
    assert "not trusted" in result.summary and "ca_file" in result.summary, result.summary


async def test_the_password_comes_from_the_environment_and_is_redacted(secure_prometheus, tmp_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_TEST_PROM_PASSWORD", PASSWORD)
    path = tmp_path / "cockpit.toml"
    path.write_text(
        f"""[prometheus]
url = "{secure_prometheus.url}"
ca_file = "{secure_prometheus.file('ca.crt')}"
cert_file = "{secure_prometheus.file('client.crt')}"
key_file = "{secure_prometheus.file('client.key')}"
username = "{USERNAME}"
password = "${{COCKPIT_TEST_PROM_PASSWORD}}"
"""
    )
    config = load_config(path)
    assert config.prometheus is not None and PASSWORD not in repr(config.prometheus)
    assert config.redactor().scrub(f"x {PASSWORD} y") == "x *** y"
    result = await check(config, tmp_path / "evidence")
    assert result.status is Status.PASS, result.summary


async def test_configured_headers_reach_the_backend_on_every_call():
    receiver = WebhookReceiver().start()  # records GET requests with their headers
    try:
        base = receiver.url.removesuffix("/hook")
        config = validate_config({"prometheus": {"url": base, "timeout": 2, "retries": 0, "headers": {"X-Scope-OrgID": "tenant-7"}}}, "t")
        source = PrometheusSource(config.prometheus)
        await source.query("up")
        await source.query_range("up", time.time() - 60, time.time(), 15)
        await source.alerts()
        source.close()
        paths = [r.path.split("?")[0] for r in receiver.gets]
        assert paths == ["/api/v1/query", "/api/v1/query_range", "/api/v1/alerts"]
        assert all(r.headers.get("X-Scope-OrgID") == "tenant-7" for r in receiver.gets)
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"headers": {"Authorization": "Basic eA=="}}, "prometheus.headers: 'Authorization': use bearer_token"),
        ({"username": "u"}, "username and password go together"),
        ({"key_file": "/etc/hostname"}, "key_file needs cert_file"),
        ({"ca_file": "/nonexistent/ca.crt"}, "prometheus.ca_file: /nonexistent/ca.crt: file not found"),
        ({"bearer_token": "tok", "username": "u", "password": "p"}, "exclude each other"),
    ],
)
def test_bad_client_settings_are_one_line(table, words):
    with pytest.raises(ConfigError) as caught:
        validate_config({"prometheus": {"url": "https://127.0.0.1:9", **table}}, "cockpit.toml")
    message = str(caught.value)
    assert words in message and "\n" not in message


def test_replay_reads_history_through_the_same_settings(secure_prometheus, tmp_path, monkeypatch):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from cockpit.cli import main

    table = settings(secure_prometheus, password="${COCKPIT_TEST_PROM_PASSWORD}")
    lines = ["[prometheus]", *(f"{k} = {v!r}".replace("'", '"') for k, v in table.items() if k != "timeout")]
    (tmp_path / "cockpit.toml").write_text("\n".join(lines) + "\n")
    for password, fetched in ((PASSWORD, True), ("wr0ng-Pa55word", False)):
        monkeypatch.setenv("COCKPIT_TEST_PROM_PASSWORD", password)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["replay", "--config", str(tmp_path / "cockpit.toml"), "--from=-1m", "--to", "now", "--step", "30s"])
        said = out.getvalue() + err.getvalue()
        assert password not in said
        if fetched:  # no data for the playbook's signals here, but every query was answered
            assert "no query could be fetched" not in said and "Replay" in said, said
        else:
            assert code == 3 and "refused access (HTTP 401)" in said, said
