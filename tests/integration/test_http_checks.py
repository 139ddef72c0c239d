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


def make_ctx(tmp_path: Path, canary: str | None, dsn: str | None = None, timeout: float = 5.0,
             ws_url: str | None = None, **config_fields: Any) -> CheckContext:
    config = CockpitConfig(
        service=ServiceConfig(canary_url=canary, timeout=timeout, ws_url=ws_url) if canary else None,
        postgres=PostgresConfig(dsn=dsn) if dsn else None,
        **config_fields,
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
    assert result.summary.startswith("no request sent: cannot connect to") and "connection refused" in result.summary


async def test_burst_server_errors_fail_when_no_statuses_listed(http_app, tmp_path):
    result = await run_one(spec("http_burst", url="/flaky", method="GET", requests=8, concurrency=2), make_ctx(tmp_path, http_app.url))
    assert result.status is Status.FAIL and "server errors: 500×2" in result.summary


# ---------------------------------------------------------------- blast radius


def blast(url: str, **params: Any) -> Any:
    settings = {"duration": 1.5, "rate": 20, "concurrency": 4, "timeout": 20, "max_p95": 0.5, "max_error_rate": 0.01,
                "min_requests": 10, "parts": ["api"], **params}
    return spec("blast_radius", phase="blast", url=url, **settings)


def api_log(ctx: CheckContext) -> str:
    return (ctx.evidence.dir / f"micro_api_{VERSION}.log").read_text()


async def test_blast_radius_passes_on_a_healthy_endpoint_with_its_ws_round_trip(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url, ws_url=http_app.ws_url)
    result = await run_one(blast("canary", endpoints=["/ok", "/static/app.js"], parts=["api", "ws"]), ctx)
    assert result.status is Status.PASS, result
    assert 1.4 < result.duration_s < 5
    assert result.evidence == [f"micro_blast_{VERSION}.log", f"micro_api_{VERSION}.log", f"micro_ws_{VERSION}.log"]
    assert result.summary.startswith("api: 30 requests at 20/s in 1.")  # the schedule's count, not what a loop managed
    assert " | ws: connect " in result.summary
    details = "\n".join(result.details)
    assert f"{http_app.url}/ok: 15 requests p95=" in details and f"{http_app.url}/static/app.js: 15 requests p95=" in details
    log = (ctx.evidence.dir / f"micro_blast_{VERSION}.log").read_text().splitlines()
    assert log[0].startswith("# test.blast_radius started")
    assert log[1].startswith("t+  1s sent=20 answered=")
    assert log[-1].startswith("summary: api: 30 requests") and log[-1].endswith("PASS")
    ws = (ctx.evidence.dir / f"micro_ws_{VERSION}.log").read_text()
    assert "sent: 'ping'" in ws and "reply: 'ping'" in ws and "verdict: PASS" in ws


async def test_blast_radius_p95_counts_from_the_schedule_not_the_send(http_app, tmp_path):
    # The endpoint stalls 1 s on the first request, then answers at once. At 20/s with 2 connections a
    # closed loop would see 2 slow requests among hundreds (p95 of a few ms); from the schedule, the 20
    # requests due during the stall waited up to 1 s each.
    ctx = make_ctx(tmp_path, http_app.url)
    result = await run_one(blast(f"/stall?key={tmp_path.name}&seconds=1", concurrency=2, max_p95=0.2), ctx)
    assert result.status is Status.FAIL, result
    p95_text = result.summary.split("p95 ")[1].split()[0]
    p95 = float(p95_text[:-2]) / 1000 if p95_text.endswith("ms") else float(p95_text[:-1])
    assert p95 >= 0.9, result.summary
    assert "30 requests at 20/s" in result.summary  # the stall did not thin the schedule out
    rows = [line.split("\t") for line in api_log(ctx).splitlines() if line[:1].isdigit()]
    assert len(rows) == 30 and float(rows[0][1]) >= 950  # the first request, due at t0, waited the whole stall


async def test_blast_radius_fails_on_errors_and_on_latency(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    flaky = await run_one(blast("/flaky"), ctx)
    assert flaky.status is Status.FAIL and flaky.summary.startswith("api: error rate 2"), flaky.summary  # every 4th is a 500
    slow = await run_one(blast("/slow?seconds=0.15", max_p95=0.05), ctx)
    assert slow.status is Status.FAIL and slow.summary.startswith("api: p95 "), slow.summary


async def test_blast_radius_parts_not_configured_or_unreachable_are_unknown(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    result = await run_one(blast("/ok", parts=["api", "ws", "prom"]), ctx)
    assert result.status is Status.UNKNOWN, result  # the API part passed; the two it could not look at are not a PASS
    assert "ws: [service] ws_url is not configured" in result.summary
    assert "prom: [prometheus] is not configured" in result.summary
    assert (ctx.evidence.dir / f"micro_prom_{VERSION}.promql").exists() and (ctx.evidence.dir / f"micro_ws_{VERSION}.log").exists()

    no_ws = make_ctx(tmp_path / "b", http_app.url, ws_url=f"ws://127.0.0.1:{free_port()}/ws")
    refused = await run_one(blast("/ok", parts=["ws"]), no_ws)
    assert refused.status is Status.UNKNOWN and "ws: cannot connect to" in refused.summary and "connection refused" in refused.summary
    not_ws = make_ctx(tmp_path / "c", http_app.url, ws_url=http_app.url.replace("http", "ws") + "/ok")
    plain = await run_one(blast("/ok", parts=["ws"]), not_ws)
    assert plain.status is Status.UNKNOWN and "answered HTTP 200, not a WebSocket upgrade" in plain.summary


async def test_blast_radius_prom_part_reads_the_canary_over_the_test_window(http_app, prometheus, exporter, tmp_path):
    from cockpit.config import PrometheusConfig, SignalConfig

    exporter.value.labels(case="blast_p95").set(0.12)
    exporter.value.labels(case="blast_errors").set(0.2)
    prometheus.wait_for_data('cockpit_test_value{case="blast_errors"}')
    signals = {
        "p95_latency": SignalConfig(query='max_over_time(cockpit_test_value{case="blast_p95"}[{window}])', max=0.2),
        "error_rate": SignalConfig(query='max_over_time(cockpit_test_value{case="blast_errors"}[{window}])', max=0.01),
        "missing": SignalConfig(query='cockpit_test_value{case="never_set"}', max=1),
    }
    ctx = make_ctx(tmp_path, http_app.url, prometheus=PrometheusConfig(url=prometheus.url), signals=signals)
    result = await run_one(blast("/ok", parts=["api", "prom"]), ctx)
    assert result.status is Status.FAIL, result
    assert "prom: p95_latency=0.12; error_rate=0.2 outside its limit (max 0.01, min None)" in result.summary
    promql = (ctx.evidence.dir / f"micro_prom_{VERSION}.promql").read_text()
    assert 'max_over_time(cockpit_test_value{case="blast_p95"}[2s])' in promql  # {window} = the 1.5 s test, rounded up

    ctx = make_ctx(tmp_path / "b", http_app.url, prometheus=PrometheusConfig(url=prometheus.url), signals=signals)
    blind = await run_one(blast("/ok", parts=["prom"], prom_signals=["p95_latency", "missing"]), ctx)
    assert blind.status is Status.UNKNOWN and "missing: no data" in blind.summary, blind.summary


async def test_blast_radius_unknown_when_port_closed_or_too_few_requests(http_app, tmp_path):
    result = await run_one(blast("canary"), make_ctx(tmp_path, closed_url()))
    assert result.status is Status.UNKNOWN and "connection refused" in result.summary
    assert result.duration_s < 1.0  # gives up instead of firing the whole schedule

    few = await run_one(blast("/ok", rate=4, min_requests=100), make_ctx(tmp_path, http_app.url))
    assert few.status is Status.UNKNOWN and "need at least 100" in few.summary


# ---------------------------------------------------------------- feature flags over HTTP


async def test_feature_flags_from_a_url(http_app, tmp_path):
    ctx = make_ctx(tmp_path, http_app.url)
    good = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags",
                                expect={"new_checkout": False, "max_order_size": 100, "risk_engine_v2": True,
                                        "banner": "off"}), ctx)
    assert good.status is Status.PASS, good
    # Two flags outside `expect` and no previous release to compare them with: not judged, so WARN.
    partial = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags",
                                 expect={"new_checkout": False, "max_order_size": 100}), ctx)
    assert partial.status is Status.WARN and sorted(partial.details) == ["banner", "risk_engine_v2"], partial
    bad = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags",
                               expect={"new_checkout": True, "risk_engine_v2": 1}), ctx)
    assert bad.status is Status.FAIL
    assert "risk_engine_v2 = true, expected 1" in "\n".join(bad.details)
    broken = await run_one(spec("feature_flags", phase="preflight", source=f"{http_app.url}/flags-broken"), ctx)
    assert broken.status is Status.UNKNOWN and "not JSON" in broken.summary
    closed = await run_one(spec("feature_flags", phase="preflight", source=f"{closed_url()}/flags"), ctx)
    assert closed.status is Status.UNKNOWN and "connection refused" in closed.summary


# ---------------------------------------------------------------- unreachable hosts read the same in every HTTP kind

# A 64-character label is not a valid DNS name: resolution fails on this machine, no query leaves it.
BAD_HOST = "http://" + "x" * 64 + ".invalid"
HTTP_KINDS = {
    "http_headers": {"url": "canary", "required": {"Content-Security-Policy": ""}},
    "coep_subresources": {"url": "canary"},
    "http_burst": {"url": "canary", "method": "GET", "requests": 5, "concurrency": 5},
    "blast_radius": {"url": "canary", "phase": "blast", "duration": 1, "rate": 10, "parts": ["api"]},
    "feature_flags": {"source": "{base}/flags", "phase": "preflight"},
}


@pytest.fixture(scope="module")
def silent_port():
    """A port that accepts connections and never answers: a hung canary."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


@pytest.mark.parametrize("kind", sorted(HTTP_KINDS))
@pytest.mark.parametrize("case", ["bad host name", "refused port", "timeout"])
async def test_an_unreachable_canary_reads_the_same_in_every_http_kind(kind, case, silent_port, tmp_path):
    base, words = {
        "bad host name": (BAD_HOST, "cannot resolve the host name"),
        "refused port": (closed_url(), "connection refused"),
        "timeout": (f"http://127.0.0.1:{silent_port}", "timed out after 1s waiting for http://127.0.0.1:"),
    }[case]
    params = {k: (v.replace("{base}", base) if isinstance(v, str) else v) for k, v in HTTP_KINDS[kind].items()}
    result = await run_one(spec(kind, **params), make_ctx(tmp_path, base, timeout=1))
    assert result.status is Status.UNKNOWN, result
    if case != "timeout":
        assert f"cannot connect to {base}" in result.summary, result.summary
    assert words in result.summary, result.summary
