"""SignalBoard: window widening, INSUFFICIENT, BLIND, `for` timers, relative limits, trends, history.

The source is a scripted stand-in (tests/unit/scripted_source.py) so the
engine's own logic is what is tested; the clock is a ManualClock.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig
from cockpit.engine.model import SignalState
from cockpit.engine.signals import ForTimer, SignalBoard
from tests.unit.scripted_source import NAN, NO_DATA, Hang, ScriptedSource

LATENCY = 'histogram_quantile(0.95, sum by (le) (rate(lat_bucket{{selector}}[{window}])))'
VOLUME = 'sum(increase(requests_total{{selector}}[{window}]))'


def make_config(signals: dict[str, dict[str, Any]], **canary: Any) -> CockpitConfig:
    return CockpitConfig.model_validate({"signals": signals, "canary": {"min_requests": 50, **canary}})


def latency(**extra: Any) -> dict[str, Any]:
    return {"query": LATENCY, "unit": "s", "max": 0.2, **extra}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def source() -> ScriptedSource:
    return ScriptedSource().on("up{", 1)


def only(readings: list[Any]) -> Any:
    assert len(readings) == 1
    return readings[0]


# ---------------------------------------------------------------- low traffic: widen, then INSUFFICIENT


def volume_by_window(per_minute: float) -> Any:
    """A volume answer proportional to the window in the rendered query."""

    def answer(expr: str) -> float:
        text = expr.split("[")[1].split("]")[0]
        seconds = float(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]
        return per_minute * seconds / 60

    return answer


async def test_low_volume_widens_the_window_before_judging(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(volume_query=VOLUME)})
    source.on("increase(requests_total", volume_by_window(10)).on("lat_bucket", 0.1)
    board = SignalBoard(config, source, clock)
    start = clock.now() - 600  # ten minutes into the stage
    reading = only(await board.sample(start, start + 900))
    # 10 requests in 1m < 50: the window jumps to what 50 needs (with a margin): 6m
    assert reading.state == SignalState.PASS
    assert reading.window == 360
    assert reading.requests == pytest.approx(60)
    assert source.last("lat_bucket") == 'histogram_quantile(0.95, sum by (le) (rate(lat_bucket{track="canary"}[6m])))'
    assert reading.query == source.last("lat_bucket")
    volumes = [q for q in source.queries if "increase(requests_total" in q]
    assert "[1m]" in volumes[0] and "[6m]" in volumes[1]


async def test_widening_stops_at_the_stage_elapsed_time_then_insufficient(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(volume_query=VOLUME)})
    source.on("increase(requests_total", volume_by_window(3)).on("lat_bucket", 0.9)
    board = SignalBoard(config, source, clock)
    start = clock.now() - 200
    reading = only(await board.sample(start, start + 900))
    assert reading.state == SignalState.INSUFFICIENT  # 0.9 s is over the limit, but 10 requests are noise
    assert reading.window == 200
    assert "[200s]" in source.last("lat_bucket")
    assert reading.requests == pytest.approx(10)
    assert "need 50" in reading.reason
    assert board.history("p95")[-1] == (clock.now(), None)
    assert all("[" + w + "]" not in q for q in source.queries for w in ("4m", "5m", "10m"))


async def test_max_window_caps_the_widening(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(volume_query=VOLUME)}, max_window="3m")
    source.on("increase(requests_total", volume_by_window(5)).on("lat_bucket", 0.1)
    board = SignalBoard(config, source, clock)
    start = clock.now() - 900
    reading = only(await board.sample(start, start + 900))
    assert reading.state == SignalState.INSUFFICIENT
    assert reading.window == 180 and "[3m]" in source.last("lat_bucket")


async def test_enough_volume_keeps_the_configured_window(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(volume_query=VOLUME)}, window="2m")
    source.on("increase(requests_total", 500).on("lat_bucket", 0.1)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now() - 600, clock.now() + 300))
    assert reading.window == 120 and "[2m]" in source.last("lat_bucket")
    assert len([q for q in source.queries if "requests_total" in q]) == 1


async def test_no_volume_series_from_a_scraped_canary_is_insufficient(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(volume_query=VOLUME)})
    source.on("increase(requests_total", NO_DATA).on("lat_bucket", NO_DATA)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now() - 30, clock.now() + 870))
    assert reading.state == SignalState.INSUFFICIENT
    assert reading.requests == 0
    assert 'max(up{track="canary"})' in source.queries


async def test_no_volume_series_and_no_scrape_target_is_blind(clock: ManualClock) -> None:
    config = make_config({"p95": latency(volume_query=VOLUME)})
    source = ScriptedSource().on("up{", NO_DATA).on("increase(requests_total", NO_DATA).on("lat_bucket", 0.1)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now() - 30, clock.now() + 870))
    assert reading.state == SignalState.BLIND
    assert "volume query returned no data" in reading.reason and "cannot tell whether the canary is scraped" in reading.reason
    source.on("up{", 0)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now() - 30, clock.now() + 870))
    assert reading.state == SignalState.BLIND and "scrape target is down" in reading.reason


# ---------------------------------------------------------------- BLIND


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("error: cannot connect to Prometheus at http://127.0.0.1:9", "cannot connect"),
        (NAN, "NaN"),
        (math.inf, "not a finite number"),
        (NO_DATA, "no data"),
        (TimeoutError("slow"), "no answer within"),
        (RuntimeError("boom"), "RuntimeError: boom"),
    ],
)
async def test_blind_on_error_nan_no_data_and_timeout_keeps_last_good_at(
    clock: ManualClock, source: ScriptedSource, answer: Any, words: str
) -> None:
    config = make_config({"p95": latency()})
    source.on("lat_bucket", 0.1)
    board = SignalBoard(config, source, clock)
    good_at = clock.now()
    assert only(await board.sample(good_at, good_at + 900)).state == SignalState.PASS
    clock.advance(15)
    source.on("lat_bucket", answer)
    reading = only(await board.sample(good_at, good_at + 900))
    assert reading.state == SignalState.BLIND
    assert words in reading.reason
    assert reading.value is None
    assert reading.last_good_at == good_at
    assert list(board.history("p95")) == [(good_at, 0.1), (good_at + 15, None)]


async def test_a_query_that_hangs_is_blind_within_the_query_timeout(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency()})
    source.on("lat_bucket", Hang())
    board = SignalBoard(config, source, clock)
    board.query_timeout = 0.05
    reading = only(await asyncio.wait_for(board.sample(clock.now(), clock.now() + 900), timeout=5))
    assert reading.state == SignalState.BLIND and "no answer within 0.05s" in reading.reason
    assert reading.last_good_at is None


async def test_a_nan_series_beside_a_real_one_uses_the_real_one_and_the_worst_of_several(
    clock: ManualClock, source: ScriptedSource
) -> None:
    config = make_config({"p95": latency()})
    source.on("lat_bucket", [({"pod": "a"}, NAN), ({"pod": "b"}, 0.15), ({"pod": "c"}, 0.12)])
    reading = only(await SignalBoard(config, source, clock).sample(clock.now(), clock.now() + 900))
    assert reading.state == SignalState.PASS and reading.value == 0.15


# ---------------------------------------------------------------- `for` timers


async def test_for_timer_breaching_then_fail_then_clear(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(**{"for": "1m"})})
    board = SignalBoard(config, source, clock)
    start = clock.now()
    source.on("lat_bucket", 0.3)
    states = []
    for _ in range(5):  # 0, 15, 30, 45, 60 s over the limit
        states.append(only(await board.sample(start, start + 900)).state)
        clock.advance(15)
    assert states == [SignalState.BREACHING] * 4 + [SignalState.FAIL]
    source.on("lat_bucket", 0.1)
    assert only(await board.sample(start, start + 900)).state == SignalState.PASS
    clock.advance(15)
    source.on("lat_bucket", 0.3)
    again = only(await board.sample(start, start + 900))
    assert again.state == SignalState.BREACHING  # the timer restarted
    assert "above the limit of 200ms" in again.reason and "for 0s of its 1m" in again.reason


async def test_blind_does_not_move_the_for_timer(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(**{"for": "1m"})})
    board = SignalBoard(config, source, clock)
    start = clock.now()
    source.on("lat_bucket", 0.3)
    await board.sample(start, start + 900)  # breach starts at 0 s
    clock.advance(30)
    await board.sample(start, start + 900)  # 30 s over
    source.on("lat_bucket", "error: Prometheus down")
    for _ in range(4):  # two blind minutes
        clock.advance(30)
        assert only(await board.sample(start, start + 900)).state == SignalState.BLIND
    source.on("lat_bucket", 0.3)
    clock.advance(15)
    reading = only(await board.sample(start, start + 900))
    # seen over the limit for 30 s; the blind stretch (and the unseen 15 s since) do not count
    assert reading.state == SignalState.BREACHING
    assert "for 30s of its 1m" in reading.reason
    clock.advance(15)
    assert "for 45s of its 1m" in only(await board.sample(start, start + 900)).reason
    clock.advance(15)
    assert only(await board.sample(start, start + 900)).state == SignalState.FAIL


async def test_for_zero_fails_at_once(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency()})
    source.on("lat_bucket", 0.25)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now(), clock.now() + 900))
    assert reading.state == SignalState.FAIL and reading.limit == 0.2 and reading.value == 0.25


async def test_min_limit(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"ok_ratio": {"query": "sum(ok{{selector}})", "min": 0.99, "unit": "ratio"}})
    source.on("ok{", 0.95)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now(), clock.now() + 900))
    assert reading.state == SignalState.FAIL and reading.limit == 0.99 and "below the limit" in reading.reason


# ---------------------------------------------------------------- relative limits


CSP = {"query": "sum(increase(csp_total{{selector}}[{window}]))", "unit": "count", "max_vs_baseline": 1.1}


@pytest.mark.parametrize(
    ("baseline", "floor", "value", "limit", "state"),
    [
        (10.0, None, 10.5, 11.0, SignalState.PASS),
        (10.0, None, 11.5, 11.0, SignalState.FAIL),
        (2.0, 5.0, 4.0, 5.0, SignalState.PASS),  # max is a floor over baseline x 1.1 = 2.2
        (100.0, 5.0, 109.0, 110.0, SignalState.PASS),
        (0.0, None, 1.0, 0.0, SignalState.FAIL),
    ],
)
async def test_relative_limit_against_the_baseline(
    clock: ManualClock, source: ScriptedSource, baseline: float, floor: float | None, value: float, limit: float, state: SignalState
) -> None:
    spec = dict(CSP) | ({"max": floor} if floor is not None else {})
    config = make_config({"csp_violations": spec})
    source.on("csp_total", value)
    board = SignalBoard(config, source, clock, baseline={"csp_violations": baseline})
    reading = only(await board.sample(clock.now(), clock.now() + 900))
    assert reading.limit == pytest.approx(limit)
    assert reading.state == state


@pytest.mark.parametrize(("baseline", "words"), [(None, "no baseline was taken"), ({"other": 1.0}, "has no value for csp_violations"), ({"csp_violations": None}, "has no value")])
async def test_relative_signal_without_a_baseline_is_blind_with_the_reason(
    clock: ManualClock, source: ScriptedSource, baseline: Any, words: str
) -> None:
    config = make_config({"csp_violations": dict(CSP, max=5)})
    source.on("csp_total", 3)
    board = SignalBoard(config, source, clock, baseline=baseline)
    reading = only(await board.sample(clock.now(), clock.now() + 900))
    assert reading.state == SignalState.BLIND
    assert words in reading.reason and "baseline x 1.1" in reading.reason
    assert reading.value == 3  # shown, not judged


# ---------------------------------------------------------------- trend


async def test_rising_trend_projected_over_the_limit_before_the_stage_end_warns(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency()}, min_trend_samples=4)
    board = SignalBoard(config, source, clock)
    start = clock.now()
    states = []
    for value in (0.10, 0.11, 0.12, 0.13):  # +0.04 a minute; the stage ends in 15 min
        source.on("lat_bucket", value)
        reading = only(await board.sample(start, start + 900))
        states.append(reading.state)
        clock.advance(15)
    assert states == [SignalState.PASS] * 3 + [SignalState.WARN]
    assert "projected" in reading.reason and "by the stage's end" in reading.reason


async def test_rising_trend_that_stays_under_the_limit_passes(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency()}, min_trend_samples=4)
    board = SignalBoard(config, source, clock)
    start = clock.now() - 840  # one minute of stage left
    for value in (0.100, 0.101, 0.102, 0.103):
        source.on("lat_bucket", value)
        reading = only(await board.sample(start, start + 900))
        clock.advance(15)
    assert reading.state == SignalState.PASS


async def test_trend_ignores_blind_gaps_and_samples_from_before_the_stage(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency()}, min_trend_samples=3)
    board = SignalBoard(config, source, clock)
    first_stage = clock.now()
    for value in (0.01, 0.05, 0.09):  # a steep rise in the previous stage
        source.on("lat_bucket", value)
        await board.sample(first_stage, first_stage + 45)
        clock.advance(15)
    new_stage = clock.now()
    for value in (0.1, NAN, 0.1, 0.1):
        source.on("lat_bucket", value)
        reading = only(await board.sample(new_stage, new_stage + 900))
        clock.advance(15)
    assert reading.state == SignalState.PASS


# ---------------------------------------------------------------- history, dry-run, state


async def test_history_is_bounded(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency()})
    board = SignalBoard(config, source, clock, history=5)
    start = clock.now()
    for i in range(8):
        source.on("lat_bucket", 0.01 * i if i != 6 else NAN)
        await board.sample(start, start + 900)
        clock.advance(15)
    points = list(board.history("p95"))
    assert len(points) == 5 and board.history("p95").maxlen == 5
    assert [v for _, v in points] == [pytest.approx(0.03), pytest.approx(0.04), pytest.approx(0.05), None, pytest.approx(0.07)]


async def test_dry_run_and_disabled_signals(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(dry_run=True), "off": latency(enabled=False)})
    source.on("lat_bucket", 0.5)
    reading = only(await SignalBoard(config, source, clock).sample(clock.now(), clock.now() + 900))
    assert reading.name == "p95" and reading.dry_run and reading.state == SignalState.FAIL and reading.unit == "s"


async def test_snapshot_and_restore_carry_timers_and_last_good_at(clock: ManualClock, source: ScriptedSource) -> None:
    config = make_config({"p95": latency(**{"for": "1m"})})
    board = SignalBoard(config, source, clock)
    start = clock.now()
    source.on("lat_bucket", 0.3)
    await board.sample(start, start + 900)
    clock.advance(45)
    state = board.snapshot(include_history=True)
    resumed = SignalBoard(config, source, clock)
    resumed.restore(state)
    assert resumed.history("p95")[0] == (start, 0.3)
    assert only(await resumed.sample(start, start + 900)).state == SignalState.BREACHING
    clock.advance(15)
    reading = only(await resumed.sample(start, start + 900))
    assert reading.state == SignalState.FAIL and reading.last_good_at == clock.now()


def test_for_timer_round_trip() -> None:
    timer = ForTimer()
    assert timer.hold(100.0) == 0.0
    assert timer.hold(110.0) == 10.0
    timer.pause(120.0)  # paused where it was last seen: 110
    assert ForTimer.from_dict(timer.as_dict()).hold(150.0) == 10.0
    assert ForTimer.from_dict("junk").since is None


# ---------------------------------------------------------------- canary vs stable


async def test_comparison_with_stable_needs_enough_samples_then_fails_a_worse_canary(clock: ManualClock) -> None:
    config = make_config({"p95": latency()}, compare_with_stable=True, min_comparison_samples=5, comparison_alpha=0.05)
    source = ScriptedSource()
    values = iter([0.150, 0.152, 0.149, 0.151, 0.153, 0.150])
    source.on('track="canary"', lambda _expr: next(values)).on('track="stable"', 0.100)
    board = SignalBoard(config, source, clock)
    start = clock.now()
    first = only(await board.sample(start, start + 900))
    assert first.state == SignalState.PASS and "vs stable: 1 of 5 samples" in first.reason
    assert 'lat_bucket{track="stable"}[1m]' in source.last('track="stable"')
    for _ in range(4):
        clock.advance(15)
        reading = only(await board.sample(start, start + 900))
    assert reading.state == SignalState.FAIL  # within the 200 ms limit, but worse than stable
    assert "canary higher than stable" in reading.reason and "Mann-Whitney p=" in reading.reason


async def test_comparison_does_not_fail_a_canary_like_stable(clock: ManualClock) -> None:
    config = make_config({"p95": latency()}, compare_with_stable=True, min_comparison_samples=5, comparison_alpha=0.05)
    source = ScriptedSource()
    canary = iter([0.10, 0.12, 0.11, 0.13, 0.10, 0.12])
    stable = iter([0.11, 0.10, 0.13, 0.12, 0.11, 0.10])
    source.on('track="canary"', lambda _e: next(canary)).on('track="stable"', lambda _e: next(stable))
    board = SignalBoard(config, source, clock)
    start = clock.now()
    for _ in range(6):
        reading = only(await board.sample(start, start + 900))
        clock.advance(15)
    assert reading.state == SignalState.PASS and "vs stable: p=" in reading.reason
