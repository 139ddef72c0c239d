"""Replay against the real Prometheus: a known shape (good, then bad) put into the exporter, replayed second by second.

The shape is built once for the module: p95 good (100 ms) for a few seconds, then
bad (500 ms). The replay must find the rollback exactly `for` seconds after the
first bad point Prometheus holds, with the signal named in its reason, answer
from the prefetched series (no fallback), and fall back to instant queries at the
replayed time only for queries it could not know in advance (widened windows).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.clock import iso_utc
from cockpit.config import CockpitConfig
from cockpit.records.replay import replay
from cockpit.sources.prometheus import PrometheusSource
from tests.services import wait_until

P95 = 'cockpit_test_value{case="replay_p95"}'
ERRORS = 'cockpit_test_value{case="replay_errors"}'
VOLUME = 'cockpit_test_value{case="replay_volume"}'


@dataclass
class Shape:
    url: str
    start: float
    end: float
    first_bad: float  # the first second (on the 1 s grid from start) Prometheus answers p95 > 0.2


def _scraped_at(prometheus: Any, expr: str) -> float:
    """When Prometheus last scraped the series (0 when it has none)."""
    result = prometheus.query(f"timestamp({expr})")
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture(scope="module")
def shape(prometheus: Any, exporter: Any) -> Shape:
    exporter.value.labels(case="replay_p95").set(0.1)
    exporter.value.labels(case="replay_errors").set(0.001)
    exporter.value.labels(case="replay_volume").set(100)
    prometheus.wait_for_data(f"{P95} < 0.2 and on() {ERRORS} < 1 and on() {VOLUME} > 0")
    start = float(math.ceil(time.time()))
    # good for 2 s of scrapes, then bad for 4 s: waiting on Prometheus' own scrape times, not on guesses
    wait_until(lambda: _scraped_at(prometheus, P95) >= start + 2, 20, "2 s of good scrapes", interval=0.1)
    exporter.value.labels(case="replay_p95").set(0.5)
    prometheus.wait_for_data(f"{P95} > 0.2")
    bad_seen = _scraped_at(prometheus, P95)
    wait_until(lambda: _scraped_at(prometheus, P95) >= bad_seen + 4, 20, "4 s of bad scrapes", interval=0.1)
    end = float(int(time.time()))
    # the truth to check against: the first second of the grid where Prometheus itself says p95 > 0.2
    import urllib.request
    from urllib.parse import urlencode

    query = urlencode({"query": f"max({P95}) > 0.2", "start": int(start), "end": int(end), "step": "1s"})
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/query_range?{query}", timeout=5) as response:
        values = json.load(response)["data"]["result"][0]["values"]
    first_bad = float(values[0][0])
    return Shape(prometheus.url, start, end, first_bad)


def make_config(url: str, **canary: Any) -> CockpitConfig:
    return CockpitConfig.model_validate(
        {
            "prometheus": {"url": url, "timeout": 5},
            "canary": {"evaluate_every": 1, "window": 5, "min_requests": 50, "blind_limit": 3, **canary},
            "signals": {
                "p95_latency": {"query": f"max({P95})", "unit": "s", "max": 0.2, "for": "3s", "short": "p95"},
                "error_rate": {
                    "query": 'max(max_over_time(cockpit_test_value{case="replay_errors"}[{window}]))',
                    "volume_query": f"max({VOLUME})",
                    "unit": "ratio",
                    "max": 0.01,
                    "short": "5xx",
                },
            },
            "triggers": [
                {"name": "errors_guard", "expr": f"max({ERRORS}) > 0.05", "for": "2s", "action": "rollback", "auto": True}
            ],
        }
    )


async def _replay(shape: Shape, config: CockpitConfig, **options: Any):
    source = PrometheusSource(config.prometheus)  # type: ignore[arg-type]
    try:
        return await replay(config, source, shape.start, shape.end, 1.0, **options)
    finally:
        source.close()


async def test_replay_finds_the_rollback_at_the_right_second_with_its_reason(shape: Shape) -> None:
    result = await _replay(shape, make_config(shape.url))
    assert result.result == "rolled_back"
    assert result.rolled_back_at == shape.first_bad + 3  # BREACHING from the first bad point, FAIL after its 3 s `for`
    rollback = result.findings[-1]
    assert rollback.action == "rollback" and rollback.at == result.rolled_back_at
    failed = [r for r in rollback.reasons if r["source"] == "signal"]
    assert [r["name"] for r in failed] == ["p95_latency"]
    assert "p95_latency FAIL" in failed[0]["message"] and failed[0]["value"] == 0.5 and failed[0]["limit"] == 0.2
    assert failed[0]["query"] == f"max({P95})"
    # nothing acted before: no hold, no earlier rollback; every evaluation until then was judged
    assert [f.action for f in result.findings] == ["rollback"]
    assert result.evaluations == int(shape.first_bad + 3 - shape.start)
    assert result.signals["p95_latency"].high == 0.5 and result.signals["p95_latency"].low == 0.1
    assert result.signals["p95_latency"].states["BLIND"] == 0
    # prefetched once (2 signals, their volume and `up` queries, 1 trigger, ALERTS), answered from memory
    assert result.queries == 6 and result.chunks == 6 and result.points > 0
    assert result.fallbacks == 0 and result.prefetch_errors == {}
    assert result.answered >= result.evaluations * 4
    print(f"\nreplayed {result.evaluations} evaluations: prefetch {result.fetch_seconds * 1000:.0f} ms, "
          f"replay {result.replay_seconds * 1000:.0f} ms, {result.points} points")


async def test_an_auto_trigger_rolls_back_immediately_after_its_for(shape: Shape) -> None:
    config = make_config(shape.url)
    data = config.model_dump(by_alias=True)
    data["triggers"][0]["expr"] = f"max({P95}) > 0.3"  # the guard now watches p95 too, with a 2 s `for`
    result = await _replay(shape, CockpitConfig.model_validate(data))
    assert result.rolled_back_at == shape.first_bad + 2
    rollback = result.findings[-1]
    assert rollback.action == "immediate_rollback"
    assert [r["name"] for r in rollback.reasons if r["source"] == "trigger"] == ["errors_guard"]


async def test_a_widened_window_falls_back_to_instant_queries_at_the_replayed_time(shape: Shape) -> None:
    # 100 requests per window, 1000 needed: the board widens {window}, a query nobody could prefetch
    result = await _replay(shape, make_config(shape.url, min_requests=1000), keep_going=True)
    assert result.fallbacks > 0
    assert all("cockpit_test_value" in expr for expr in result.fallback_exprs)
    # the widened volume still answers 100 (a gauge): INSUFFICIENT, shown but never judged
    assert result.signals["error_rate"].states["INSUFFICIENT"] == result.evaluations
    assert result.rolled_back_at == shape.first_bad + 3  # p95 still decides


async def test_stages_replay_the_plan_from_the_start(shape: Shape) -> None:
    # 1 % and 5 % for a second each, then 100 %: two stages pass on good data, the third rolls back
    config = make_config(shape.url, stages=[{"weight": 1, "hold": 1}, {"weight": 5, "hold": 1}, {"weight": 100, "hold": 3600}])
    result = await _replay(shape, config, stages=True)
    assert [(f.action, f.stage, f.weight, f.at - shape.start) for f in result.findings] == [
        ("proceed", 1, 1.0, 1.0),
        ("proceed", 2, 5.0, 2.0),
        ("rollback", 3, 100.0, shape.first_bad + 3 - shape.start),
    ]
    assert result.result == "rolled_back"


def _toml(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "cockpit.toml"
    (tmp_path / "no_playbook.toml").write_text("# only what cockpit.toml says\n")
    path.write_text(
        f"""
[playbook]
file = "no_playbook.toml"

[prometheus]
url = "{url}"

[canary]
evaluate_every = "1s"
window = "5s"
min_requests = 0

[signals.p95_latency]
query = 'max({P95})'
unit = "s"
max = 0.2
for = "3s"

[[triggers]]
name = "errors_guard"
expr = 'max({ERRORS}) > 0.05'
for = "2s"
action = "rollback"
"""
    )
    return path


def _cli(*argv: str) -> tuple[int, str, str]:
    from cockpit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


async def test_the_replay_command_prints_json_and_exits_1_on_a_rollback(shape: Shape, tmp_path: Path) -> None:
    config = _toml(tmp_path, shape.url)
    code, out, err = await asyncio.to_thread(
        _cli, "replay", "--config", str(config), "--from", iso_utc(shape.start), "--to", iso_utc(shape.end), "--step", "1s", "--json"
    )
    assert code == 1, err
    document = json.loads(out)
    assert document["result"] == "rolled_back" and document["exit_code"] == 1
    assert document["step_s"] == 1.0 and document["from"] == iso_utc(shape.start)
    rollback = document["findings"][-1]
    assert rollback["time"] == iso_utc(shape.first_bad + 3) and rollback["action"] == "rollback"
    assert rollback["offset_s"] == shape.first_bad + 3 - shape.start
    assert [r["name"] for r in rollback["reasons"] if r["source"] == "signal"] == ["p95_latency"]
    assert document["prefetch"] == {**document["prefetch"], "queries": 3, "errors": {}}  # signal, trigger, ALERTS
    assert document["fallback_queries"] == 0


async def test_the_replay_command_prints_a_table(shape: Shape, tmp_path: Path) -> None:
    config = _toml(tmp_path, shape.url)
    code, out, _ = await asyncio.to_thread(
        _cli, "replay", "--config", str(config), "--from", str(int(shape.start)), "--to", str(int(shape.end)), "--step", "1s"
    )
    assert code == 1
    assert "ROLLBACK" in out and "fallback instant queries" in out and "Signals over the range" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "yesterday"], "--from: 'yesterday' is not a time"),
        (["--from", "-1h", "--to", "-2h"], "--to must be after --from"),
        (["--from", "+1h"], "--from: is not in the past"),
        (["--from", "-1h", "--step", "500ms"], "--step: 500ms"),
        (["--from", "-1h", "--step", "soon"], "--step: 'soon' is not a duration"),
        (["--from", "2024-13-01T00:00:00Z"], "is not a time"),
    ],
)
def test_bad_times_are_one_line_and_exit_2(tmp_path: Path, argv: list[str], message: str) -> None:
    config = _toml(tmp_path, "http://127.0.0.1:9")
    code, out, err = _cli("replay", "--config", str(config), *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unreachable_prometheus_exits_3(tmp_path: Path) -> None:
    config = _toml(tmp_path, "http://127.0.0.1:9")
    code, _, err = _cli("replay", "--config", str(config), "--from", "-10m", "--step", "15s")
    assert code == 3 and "no query could be fetched" in err and "connection refused" in err


async def test_long_ranges_are_fetched_in_chunks_prometheus_accepts(prometheus: Any) -> None:
    from cockpit.config import PrometheusConfig
    from cockpit.records.replay import MAX_POINTS, chunks, fetch_range

    source = PrometheusSource(PrometheusConfig(url=prometheus.url, timeout=10))
    end = float(int(time.time()))
    start = end - 25_000  # 25,001 points at 1 s: more than one query_range may return
    try:
        whole = await source.query_range("vector(1)", start, end, 1.0)
        assert whole.error is not None and "11,000 points" in whole.error  # the limit is real
        fetched = await fetch_range(source, "vector(1)", start, end, 1.0)
    finally:
        source.close()
    assert len(chunks(start, end, 1.0)) == 3
    assert all((b - a) / 1.0 + 1 <= MAX_POINTS for a, b in chunks(start, end, 1.0))
    assert fetched.errors == [] and len(fetched.series) == 1
    times = fetched.series[0].times
    assert fetched.points == len(times) == 25_001
    assert times[0] == start and times[-1] == end and all(b - a == 1.0 for a, b in zip(times, times[1:]))
