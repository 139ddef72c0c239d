"""A slow metrics backend: a real Prometheus behind tests/slow_proxy.py, answering late.

The source ends every query, retries included, within its timeout; the queries of an evaluation run at
once (no thread pool to queue behind); identical queries of one evaluation are asked once; and a canary
whose Prometheus turns slow mid-stage is rolled back on `blind_for`, a time, not after a count of
evaluations that a slow backend stretches.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.config import PrometheusConfig
from cockpit.run.journal import read_journal
from cockpit.sources.prometheus import PrometheusSource
from tests.integration.test_sequential_judgement import Service, _config
from tests.slow_proxy import SlowProxy

pytestmark = pytest.mark.integration


async def test_a_late_answer_is_an_error_within_the_timeout_retries_included(prometheus):
    with SlowProxy(prometheus.url, delay=3.0) as proxy:
        source = PrometheusSource(PrometheusConfig(url=proxy.url, timeout=1, retries=3))
        started = time.perf_counter()
        result = await source.query("vector(1)")
        elapsed = time.perf_counter() - started
    assert result.error is not None and "did not answer within 1s" in result.error
    assert elapsed < 1.5, f"a 1s timeout with 3 retries took {elapsed:.2f}s"


async def test_thirty_queries_at_once_cost_one_answer_time_not_thirty(prometheus):
    with SlowProxy(prometheus.url, delay=1.0) as proxy:
        source = PrometheusSource(PrometheusConfig(url=proxy.url, timeout=5))
        started = time.perf_counter()
        results = await asyncio.gather(*(source.query(f"vector({n})") for n in range(30)))
        elapsed = time.perf_counter() - started
    assert [r.scalar() for r in results] == [float(n) for n in range(30)]
    assert elapsed < 10, f"30 queries answered 1s late took {elapsed:.1f}s: they queued"


def test_a_canary_whose_prometheus_turns_slow_is_rolled_back_on_blind_for(tmp_path: Path, prometheus, exporter):
    with SlowProxy(prometheus.url) as proxy, Service(exporter, "slow_backend", error_every=200, latency=0.03):
        config = _config(tmp_path, proxy.url, "slow_backend")
        text = config.read_text().replace("[canary]\n", '[canary]\nblind_for = "4s"\nblind_limit = 100\n')
        config.write_text(text.replace('stages = [{weight = 10, hold = "6s"}', 'stages = [{weight = 10, hold = "30s"}'))
        prometheus.wait_for_data('rate(http_requests_total{track="slow_backend"}[30s])')
        run = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "canary", "v1.0.0", "--config", str(config), "--headless",
             "--without-go", "--reason", "slow backend test", "--by", "TS"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        traffic = tmp_path / "traffic.log"
        deadline = time.time() + 30
        while time.time() < deadline and "shift 10" not in (traffic.read_text() if traffic.exists() else ""):
            time.sleep(0.1)
        time.sleep(4)  # judged a while on a quick Prometheus, which then answers after the 2s timeout
        proxy.delay = 3.0
        out, err = run.communicate(timeout=60)
    assert run.returncode == 1, out + err
    records = read_journal(tmp_path / "evidence" / "v1.0.0" / "journal.jsonl").records
    samples = [r for r in records if r["event"] == "sample" and r.get("phase") != "recovery"]
    blind = [s for s in samples if s["signals"]["error_rate"]["state"] == "BLIND"]
    decision = next(r for r in records if r["event"] == "decision" and r["action"] == "rollback")
    assert any("blind_for 4s): rolling back" in r["message"] for r in decision["reasons"]), decision["reasons"]
    assert blind and decision["ts"] - blind[0]["ts"] < 4 + 2 + 1.5, "the blind time outlived blind_for + one timeout"
    assert all(s["ts"] - p["ts"] < 2 + 1 + 0.5 + 0.5 for p, s in zip(blind, blind[1:], strict=False)), \
        "an evaluation outlived the timeout and its second"
    assert "shift 100" not in (tmp_path / "traffic.log").read_text()
