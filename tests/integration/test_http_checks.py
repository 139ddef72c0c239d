"""HTTP check kinds against a real HTTP service (tests/http_app.py) and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import TypeAdapter

from cockpit.checks.runner import CheckContext, run_checks
from cockpit.checks.specs import CheckSpec
from cockpit.config import CockpitConfig, PostgresConfig, ServiceConfig
from cockpit.evidence import EvidenceStore
from cockpit.results import Status
from tests.services import free_port

pytestmark = pytest.mark.integration

VERSION = "v1.4.0"
SPEC = TypeAdapter(CheckSpec)


def make_ctx(tmp_path: Path, canary: str | None, dsn: str | None = None, timeout: float = 5.0) -> CheckContext:
    config = CockpitConfig(
        service=ServiceConfig(canary_url=canary, timeout=timeout) if canary else None,
        postgres=PostgresConfig(dsn=dsn) if dsn else None,
    )
    store = EvidenceStore(tmp_path / "evidence", VERSION, config.redactor())
    return CheckContext(config=config, version=VERSION, evidence=store, redactor=config.redactor())


async def run_one(check: Any, ctx: CheckContext) -> Any:
    """One check through run_checks, which also closes the run's shared sources (the PostgreSQL pool)."""
    return (await run_checks([check], ctx))[0]


def spec(kind: str, **params: Any) -> Any:
    phase = params.pop("phase", "redteam")
    return SPEC.validate_python({"id": f"test.{kind}", "title": kind, "phase": phase, "kind": kind, **params})


def evidence_text(ctx: CheckContext, result: Any) -> str:
    assert result.evidence, result
    return (ctx.evidence.dir / result.evidence[0]).read_text()


CSP_RULES = {
    "Content-Security-Policy": "",
    "Cross-Origin-Embedder-Policy": "^(require-corp|credentialless)$",
    "Cross-Origin-Opener-Policy": "^same-origin",
    "Strict-Transport-Security": "max-age=([1-9][0-9]{6,})",
}


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


# ---------------------------------------------------------------- headers


async def test_headers_pass_on_the_right_page(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    result = await run_one(spec("http_headers", url="/good", required=CSP_RULES, evidence="csp_headers_{version}.txt"), ctx)
    assert result.status is Status.PASS, result
    assert result.evidence == [f"csp_headers_{VERSION}.txt"]
    text = evidence_text(ctx, result)
    assert "HTTP 200" in text and "Cross-Origin-Embedder-Policy: require-corp" in text
    assert "verdict: PASS" in text


async def test_headers_fail_on_the_wrong_page_and_mask_cookies(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    check = spec("http_headers", url="/bad", required=CSP_RULES, forbidden=["X-Powered-By"])
    result = await run_one(check, ctx)
    assert result.status is Status.FAIL
    assert "missing Content-Security-Policy" in result.details
    assert any("X-Powered-By" in d for d in result.details)
    text = evidence_text(ctx, result)
    assert "Set-Cookie: sid=***; Path=/; HttpOnly" in text
    assert "s3cr3t-session-value" not in text


async def test_hsts_preload_trap_is_a_warning(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    check = spec("http_headers", url="/bad", severity="WARN", forbidden_values={"Strict-Transport-Security": "(?i)preload"})
    bad = await run_one(check, ctx)
    assert bad.status is Status.WARN
    assert "preload" in bad.summary
    good = await run_one(check.model_copy(update={"url": "/good"}), ctx)
    assert good.status is Status.PASS


async def test_headers_unknown_when_port_closed_or_unconfigured_or_slow(http_app, tmp_path):
    closed = closed_url()
    result = await run_one(spec("http_headers", url="canary", required=CSP_RULES), make_ctx(tmp_path, closed))
    assert result.status is Status.UNKNOWN
    assert result.summary == f"cannot connect to {closed}: connection refused"

    result = await run_one(spec("http_headers", url="canary", required=CSP_RULES), make_ctx(tmp_path, None))
    assert result.status is Status.UNKNOWN and "[service] is not configured" in result.summary

    slow = make_ctx(tmp_path, http_app.url, timeout=0.3)
    result = await run_one(spec("http_headers", url="/slow?seconds=2", required=CSP_RULES), slow)
    assert result.status is Status.UNKNOWN
    assert result.summary.startswith("timed out after 0.3s")


async def test_headers_on_a_server_error_page_are_not_a_pass(http_app, tmp_path):
    result = await run_one(spec("http_headers", url="/error", required=CSP_RULES), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.UNKNOWN and "503" in result.summary


async def test_redirects_are_not_followed(http_app, tmp_path):
    result = await run_one(spec("http_headers", url="/redirect", required=CSP_RULES), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.FAIL  # the 301 itself carries none of the headers


# ---------------------------------------------------------------- COEP / COOP sub-resources


async def test_subresources_pass_when_every_cross_origin_one_opts_in(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    result = await run_one(spec("coep_subresources", url="/good"), ctx)
    assert result.status is Status.PASS, result
    assert "all 4 cross-origin sub-resources" in result.summary
    text = evidence_text(ctx, result)
    assert "head-405/font.css" in text and "via GET" in text  # HEAD refused, GET asked
    assert "not-a-subresource" not in text
    assert "data:" not in text


async def test_subresources_fail_without_corp_or_cors(http_app, tmp_path):
    result = await run_one(spec("coep_subresources", url="/bad"), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.FAIL
    assert result.summary.startswith("2 of 3 cross-origin")
    joined = "\n".join(result.details)
    assert "nocorp/tracker.js: no Cross-Origin-Resource-Policy" in joined
    assert "corp/lib.js: crossorigin request but no Access-Control-Allow-Origin" in joined


async def test_subresources_page_without_coep_passes_with_a_note(http_app, tmp_path):
    result = await run_one(spec("coep_subresources", url="/no-coep"), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.PASS
    assert "nothing for cross-origin sub-resources to break" in result.summary


async def test_subresources_unknown_when_unreachable(http_app, tmp_path):
    port = free_port()
    result = await run_one(spec("coep_subresources", url=f"/unreachable-sub?port={port}"), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.UNKNOWN
    assert "connection refused" in "\n".join(result.details)

    result = await run_one(spec("coep_subresources", url="canary"), make_ctx(tmp_path, closed_url()))
    assert result.status is Status.UNKNOWN and "connection refused" in result.summary


async def test_subresources_bound_leaves_the_rest_unknown(http_app, tmp_path):
    result = await run_one(spec("coep_subresources", url="/good", max_resources=1), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.UNKNOWN
    assert "3 more cross-origin sub-resources not checked" in "\n".join(result.details)


# ---------------------------------------------------------------- burst: idempotency and CSP flood


BURST = dict(
    method="POST",
    requests=20,
    concurrency=10,
    idempotency_header="Idempotency-Key",
    headers={"Content-Type": "application/json"},
    body='{"instrument_id": 1, "price": "100.25", "quantity": 1}',
    allowed_statuses=[200, 201, 409],
    effect_query="SELECT count(*) FROM orders WHERE idempotency_key = $1",
    expect_effects=1,
)


async def _rows_for(dsn: str, key: str) -> int:
    conn = await asyncpg.connect(dsn, statement_cache_size=0, timeout=5)
    try:
        return await conn.fetchval("SELECT count(*) FROM orders WHERE idempotency_key = $1", key)
    finally:
        await conn.close()


async def test_burst_replay_exactly_one_effect_passes(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url, dsn=http_app.dsn)
    check = spec("http_burst", url="/api/orders", max_distinct_bodies=1, evidence="idempotency_burst_test.txt", **BURST)
    result = await run_one(check, ctx)
    assert result.status is Status.PASS, result
    assert "201×1" in result.summary and "200×19" in result.summary and "1 effect" in result.summary
    text = evidence_text(ctx, result)
    key = next(line.split(": ")[-1] for line in text.splitlines() if line.startswith("idempotency key:"))
    assert await _rows_for(http_app.dsn, key) == 1  # the database agrees with the check


async def test_burst_replay_with_many_effects_fails(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url, dsn=http_app.dsn)
    result = await run_one(spec("http_burst", url="/api/orders-broken", **BURST), ctx)
    assert result.status is Status.FAIL
    assert "20 effects for one key (expected exactly 1)" in result.summary
    key = next(line.split(": ")[-1] for line in evidence_text(ctx, result).splitlines() if line.startswith("idempotency key:"))
    assert await _rows_for(http_app.dsn, key) == 20


async def test_burst_with_key_placeholder_is_still_a_parameter(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url, dsn=http_app.dsn)
    params = {**BURST, "effect_query": "SELECT count(*) FROM orders WHERE idempotency_key = '{key}'", "requests": 4}
    result = await run_one(spec("http_burst", url="/api/orders", **params), ctx)
    assert result.status is Status.PASS, result


async def test_burst_effects_unknown_without_postgres_or_with_a_dead_one(http_app, tmp_path):
    result = await run_one(spec("http_burst", url="/api/orders", **BURST), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.UNKNOWN and "[postgres]" in result.summary
    dead = f"postgresql://postgres:hunter22@127.0.0.1:{free_port()}/nope"
    result = await run_one(spec("http_burst", url="/api/orders", **BURST), make_ctx(tmp_path, http_app.url, dsn=dead))
    assert result.status is Status.UNKNOWN and "effect query failed" in result.summary
    assert "hunter22" not in result.summary + "".join(result.details)


CSP_FLOOD = dict(
    method="POST",
    requests=60,
    concurrency=20,
    headers={"Content-Type": "application/csp-report"},
    body='{"csp-report": {"document-uri": "https://canary/", "violated-directive": "script-src"}}',
    min_status_counts={"429": 1},
)


async def test_csp_flood_rate_limited_passes(http_app, tmp_path):
    result = await run_one(spec("http_burst", url="/csp-report", **CSP_FLOOD), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.PASS, result
    assert "429×" in result.summary


async def test_csp_flood_without_rate_limit_fails(http_app, tmp_path):
    result = await run_one(spec("http_burst", url="/csp-report-open", **CSP_FLOOD), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.FAIL
    assert "0 × HTTP 429 (need at least 1)" in result.summary


async def test_burst_unknown_when_port_closed(tmp_path):
    result = await run_one(spec("http_burst", url="canary", **CSP_FLOOD), make_ctx(tmp_path, closed_url()))
    assert result.status is Status.UNKNOWN
    assert result.summary.startswith("all 60 requests failed: cannot connect to")


async def test_burst_server_errors_fail_when_no_statuses_listed(http_app, tmp_path):
    result = await run_one(spec("http_burst", url="/flaky", method="GET", requests=8, concurrency=2), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.FAIL and "server errors: 500×2" in result.summary


# ---------------------------------------------------------------- blast radius


def blast(url: str, **params: Any) -> Any:
    settings = {"duration": 1.5, "concurrency": 4, "timeout": 20, "max_p95": 0.5, "max_error_rate": 0.01,
                "min_requests": 10, **params}
    return spec("blast_radius", phase="blast", url=url, **settings)


async def test_blast_radius_passes_on_a_healthy_endpoint(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    result = await run_one(blast("/ok"), ctx)
    assert result.status is Status.PASS, result
    assert 1.4 < result.duration_s < 5
    log = (ctx.evidence.dir / f"micro_blast_{VERSION}.log").read_text().splitlines()
    assert log[0].startswith("# test.blast_radius started")
    assert log[1].startswith("t+  1s requests=")
    assert log[-1].startswith("summary: requests=") and log[-1].endswith("PASS")


async def test_blast_radius_fails_on_errors_and_on_latency(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    flaky = await run_one(blast("/flaky"), ctx)
    assert flaky.status is Status.FAIL and flaky.summary.startswith("error rate 2")  # every 4th is a 500
    slow = await run_one(blast("/slow?seconds=0.15", max_p95=0.05), ctx)
    assert slow.status is Status.FAIL and slow.summary.startswith("p95 ")


async def test_blast_radius_unknown_when_port_closed_or_too_few_requests(http_app, tmp_path):
    result = await run_one(blast("canary"), make_ctx(tmp_path, closed_url()))
    assert result.status is Status.UNKNOWN and "connection refused" in result.summary
    assert result.duration_s < 1.0  # gives up instead of spinning for the whole duration

    few = await run_one(blast("/slow?seconds=0.6", min_requests=100), make_ctx(tmp_path, http_app.url))
    assert few.status is Status.UNKNOWN and "need at least 100" in few.summary


# ---------------------------------------------------------------- feature flags over HTTP


async def test_feature_flags_from_a_url(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    good = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags",
                                expect={"new_checkout": False, "max_order_size": 100}), ctx)
    assert good.status is Status.PASS, good
    bad = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags",
                               expect={"new_checkout": True, "risk_engine_v2": 1}), ctx)
    assert bad.status is Status.FAIL
    assert "risk_engine_v2 = true, expected 1" in "\n".join(bad.details)
    broken = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags-broken"), ctx)
    assert broken.status is Status.UNKNOWN and "not JSON" in broken.summary
    closed = await run_one(spec("feature_flags", phase="preflight", source=f"{closed_url()}/flags"), ctx)
    assert closed.status is Status.UNKNOWN and "connection refused" in closed.summary
