"""The sequential rule on a SignalBoard: counts in, PASS / INSUFFICIENT / BREACHING / FAIL / BLIND out, with words.

The source is the scripted stand-in (the real-Prometheus path is tests/integration/test_sequential_judgement.py).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig, ConfigError, load_config, validate_config
from cockpit.engine.count_judge import alpha_plan, judge_latency, judge_rate
from cockpit.engine.model import SignalState
from cockpit.engine.sequential import buckets_from
from cockpit.engine.signals import SignalBoard
from cockpit.engine.triggers import TriggerBoard
from tests.unit.scripted_source import NO_DATA, ScriptedSource

EVENTS = 'sum(increase(errors_total{{selector}}[{window}])) or vector(0)'
REQUESTS = 'sum(increase(requests_total{{selector}}[{window}]))'
BUCKETS = 'sum by (le) (increase(lat_bucket{{selector}}[{window}]))'


def rate_signal(**extra: Any) -> dict[str, Any]:
    return {"query": "ratio_query{{selector}}", "unit": "ratio", "max": 0.01, "events_query": EVENTS,
            "requests_query": REQUESTS, **extra}


def make_config(signals: dict[str, dict[str, Any]], **canary: Any) -> CockpitConfig:
    return CockpitConfig.model_validate({"signals": signals, "canary": {"min_requests": 50, **canary}})


def counts(events: float, requests: float, stable: tuple[float, float] | None = None) -> ScriptedSource:
    source = ScriptedSource().on("up{", 1)
    stable = stable or (0, 0)
    source.on("errors_total", lambda q: stable[0] if 'track="stable"' in q else events)
    source.on("requests_total", lambda q: stable[1] if 'track="stable"' in q else requests)
    return source


async def read(config: CockpitConfig, source: ScriptedSource, clock: ManualClock | None = None,
               stage_age: float = 600) -> Any:
    clock = clock or ManualClock()
    board = SignalBoard(config, source, clock)
    start = clock.now() - stage_age
    readings = await board.sample(start, start + 900)
    assert len(readings) == 1
    return readings[0]


# ---------------------------------------------------------------- the cases


async def test_one_error_in_eighty_requests_is_no_evidence() -> None:
    reading = await read(make_config({"e": rate_signal()}), counts(1, 80))
    assert reading.state == SignalState.PASS
    assert reading.value == pytest.approx(0.0125)
    # one sequential test in this run: it has all of alpha
    assert reading.reason == "1 of 80 requests: 1.25%, 99% bound 0.00259%–9.92%: no evidence of a breach of 1%"
    assert reading.evidence is not None and reading.evidence["judge"] == "sequential"


async def test_a_clear_breach_fails_and_says_its_bound() -> None:
    reading = await read(make_config({"e": rate_signal()}), counts(45, 945))
    assert reading.state == SignalState.FAIL
    assert "45 of 945 requests: 4.76%" in reading.reason and "above the limit of 1%" in reading.reason
    assert reading.evidence["lower"] > 0.01


async def test_for_holds_a_breach_before_it_fails() -> None:
    clock = ManualClock()
    board = SignalBoard(make_config({"e": rate_signal(**{"for": "1m"})}), counts(45, 945), clock)
    start = clock.now() - 600
    first = (await board.sample(start, start + 900))[0]
    assert first.state == SignalState.BREACHING
    clock.advance(61)
    assert (await board.sample(start, start + 900))[0].state == SignalState.FAIL


async def test_few_requests_without_evidence_are_insufficient() -> None:
    reading = await read(make_config({"e": rate_signal()}), counts(3, 20))
    assert reading.state == SignalState.INSUFFICIENT  # 15 % of 20 requests: shown, neither a pass nor a breach
    assert "20 requests" in reading.reason and "need 50 to pass" in reading.reason
    assert reading.value == pytest.approx(0.15)


async def test_evidence_needs_no_minimum_of_requests() -> None:
    reading = await read(make_config({"e": rate_signal()}), counts(9, 10))
    assert reading.state == SignalState.FAIL  # 9 failures in 10 requests: its bound is far above 1 %
    assert "9 of 10 requests: 90%" in reading.reason


async def test_no_requests_from_a_scraped_canary_is_insufficient_and_from_a_dark_one_blind() -> None:
    scraped = counts(0, 0).on("requests_total", NO_DATA)
    assert (await read(make_config({"e": rate_signal()}), scraped)).state == SignalState.INSUFFICIENT
    dark = counts(0, 0).on("requests_total", NO_DATA).on("up{", NO_DATA)
    reading = await read(make_config({"e": rate_signal()}), dark)
    assert reading.state == SignalState.BLIND and "cannot tell whether the canary is scraped" in reading.reason


async def test_a_failed_or_nan_count_is_blind() -> None:
    failed = counts(0, 100).on("requests_total", "error: timeout")
    assert (await read(make_config({"e": rate_signal()}), failed)).state == SignalState.BLIND
    nan = counts(0, 100).on("errors_total", math.nan)
    reading = await read(make_config({"e": rate_signal()}), nan)
    assert reading.state == SignalState.BLIND and "events query" in reading.reason


async def test_no_events_series_is_no_events() -> None:
    source = counts(0, 500).on("errors_total", NO_DATA)
    reading = await read(make_config({"e": rate_signal()}), source)
    assert reading.state == SignalState.PASS and reading.value == 0


async def test_counts_are_read_over_the_runs_own_window() -> None:
    clock = ManualClock()
    source = counts(1, 500)
    board = SignalBoard(make_config({"e": rate_signal()}), source, clock)
    board.bound_to(clock.now() - 300)  # the run's first shift, 5 minutes ago
    start = clock.now() - 120
    await board.sample(start, start + 900)
    assert source.last("errors_total") == 'sum(increase(errors_total{track="canary"}[5m])) or vector(0)'


# ---------------------------------------------------------------- against the stable track


async def test_canary_worse_than_tolerated_fails_under_the_absolute_limit() -> None:
    # 0.8 % on the canary, 0.2 % on the stable: within 1 %, but 4x the stable's rate.
    config = make_config({"e": rate_signal(max_vs_stable=1.5)})
    reading = await read(config, counts(80, 10_000, stable=(200, 100_000)))
    assert reading.state == SignalState.FAIL
    assert "no evidence of a breach of 1%" in reading.reason or "within 1%" in reading.reason
    assert "the canary's rate is above 1.5x the stable's" in reading.reason


async def test_equal_rates_pass_against_the_stable_track() -> None:
    config = make_config({"e": rate_signal(max_vs_stable=1.5)})
    reading = await read(config, counts(50, 10_000, stable=(500, 100_000)))
    assert reading.state == SignalState.PASS
    assert "vs stable this stage: 50 of 10,000 against 500 of 100,000 (1x the stable's rate)" in reading.reason
    assert "alpha" not in reading.evidence["stable"] or reading.evidence["stable"]["stages"] == 1


async def test_no_stable_traffic_is_said_not_judged() -> None:
    config = make_config({"e": rate_signal(max_vs_stable=1.5)})
    reading = await read(config, counts(5, 10_000, stable=(0, 0)))
    assert reading.state == SignalState.PASS
    assert "no stage yet with traffic on both tracks" in reading.reason


def stage_counts(by_stage: dict[str, tuple[float, float, float, float]]) -> ScriptedSource:
    """Each stage's (canary events, canary requests, stable events, stable requests), by the window asked
    (the stage's age); any other window is the run's, all stages together."""
    def answer(index: int) -> Any:
        def pick(q: str) -> float:
            window = q.split("[", 1)[1].split("]", 1)[0]
            at = index + (2 if 'track="stable"' in q else 0)
            return by_stage[window][at] if window in by_stage else sum(stage[at] for stage in by_stage.values())
        return pick

    return ScriptedSource().on("up{", 1).on("errors_total", answer(0)).on("requests_total", answer(1))


async def test_the_stable_comparison_pools_the_runs_stages_each_with_its_split() -> None:
    # 3 % against a stable 0.5 %, tolerance 1.5x: no single stage holds the evidence, the run does.
    config = make_config({"e": rate_signal(max_vs_stable=1.5, max=0.5)})
    clock = ManualClock()
    stages = {"5m": (3, 100, 15, 3000), "4m": (8, 250, 15, 3000), "3m": (8, 250, 15, 3000)}
    board = SignalBoard(config, stage_counts(stages), clock)
    board.bound_to(clock.now() - 300)
    first = (await board.sample(clock.now() - 300, clock.now() + 600))[0]
    assert first.state == SignalState.PASS and "vs stable this stage: 3 of 100 against 15 of 3,000" in first.reason
    for age in (240, 180):
        clock.advance(300)
        start = clock.now() - age
        snapshot = board.snapshot()
        reading = (await board.sample(start, start + 900))[0]
    assert reading.state == SignalState.FAIL
    assert "vs stable over 3 stages: 19 of 600 against 45 of 9,000" in reading.reason
    assert "the canary's rate is above 1.5x the stable's" in reading.reason
    alone = SignalBoard(config, stage_counts(stages), clock)  # the last stage by itself: no evidence
    alone.bound_to(clock.now() - 180)
    assert (await alone.sample(start, start + 900))[0].state == SignalState.PASS

    # A resumed controller takes the earlier stages from the journaled board, not from memory.
    resumed = SignalBoard(config, stage_counts(stages), clock)
    resumed.bound_to(clock.now() - 900)
    resumed.restore(snapshot)
    again = (await resumed.sample(start, start + 900))[0]
    assert again.reason == reading.reason and again.state == reading.state


async def test_a_restarted_stage_never_counts_its_time_twice() -> None:
    config = make_config({"e": rate_signal(max_vs_stable=1.5)})
    clock = ManualClock()
    board = SignalBoard(config, stage_counts({"5m": (1, 500, 5, 5000), "2m": (1, 200, 2, 2000)}), clock)
    board.bound_to(clock.now() - 600)
    await board.sample(clock.now() - 300, clock.now() + 600)
    # the same stage taken up again later (a resume that restarted its clock): the later stretch replaces it
    reading = (await board.sample(clock.now() - 120, clock.now() + 780))[0]
    assert "vs stable this stage: 1 of 200 against 2 of 2,000" in reading.reason


# ---------------------------------------------------------------- latency from buckets


def latency_source(canary: list[tuple[float, float]], stable: list[tuple[float, float]] | None = None) -> ScriptedSource:
    def answer(q: str) -> list[tuple[dict[str, str], float]]:
        rows = stable if 'track="stable"' in q and stable is not None else canary
        return [({"le": "+Inf" if math.isinf(le) else f"{le:g}"}, count) for le, count in rows]

    return ScriptedSource().on("up{", 1).on("lat_bucket", answer)


def latency_signal(**extra: Any) -> dict[str, Any]:
    return {"query": "histogram_quantile(0.95, lat{{selector}})", "unit": "s", "max": 0.2,
            "buckets_query": BUCKETS, "quantile": 0.95, **extra}


async def test_a_p95_limit_is_judged_from_the_share_slower_than_it() -> None:
    healthy = [(0.1, 900), (0.2, 980), (0.5, 1000), (math.inf, 1000)]  # 2 % slower than 200 ms
    reading = await read(make_config({"p95": latency_signal()}), latency_source(healthy))
    assert reading.state == SignalState.PASS
    assert reading.reason.startswith("p95 ")
    assert "20 slower than 200ms: 2%" in reading.reason

    slow = [(0.1, 500), (0.2, 800), (0.5, 1000), (math.inf, 1000)]  # 20 % slower
    reading = await read(make_config({"p95": latency_signal()}), latency_source(slow))
    assert reading.state == SignalState.FAIL
    assert "above the 5% a p95 of 200ms allows" in reading.reason
    assert reading.value == pytest.approx(0.2 + 0.3 * (950 - 800) / 200)


async def test_latency_worse_than_the_stable_track_fails() -> None:
    canary = [(0.05, 2000), (0.1, 6000), (0.2, 9950), (math.inf, 10000)]  # 40 % slower than 50 ms
    stable = [(0.05, 80000), (0.1, 95000), (0.2, 99950), (math.inf, 100000)]  # 20 %
    reading = await read(make_config({"p95": latency_signal(max_vs_stable=1.5)}), latency_source(canary, stable))
    assert reading.state == SignalState.FAIL
    assert "the canary is slower than tolerated" in reading.reason


async def test_latency_stages_are_pooled_and_survive_a_resume() -> None:
    canary = [(0.05, 60), (0.1, 80), (math.inf, 100)]  # 40 % slower than 50 ms
    stable = [(0.05, 800), (0.1, 950), (math.inf, 1000)]  # 20 %
    config = make_config({"p95": latency_signal(max_vs_stable=1.5, max=None)})
    clock = ManualClock()
    board = SignalBoard(config, latency_source(canary, stable), clock)
    board.bound_to(clock.now() - 600)
    await board.sample(clock.now() - 600, clock.now())
    snapshot = board.snapshot()
    assert snapshot["stage_counts"]["p95"][0][2]["canary"][-1] == ["+Inf", 100.0]  # JSON has no infinity
    resumed = SignalBoard(config, latency_source(canary, stable), clock)
    resumed.bound_to(clock.now() - 600)
    resumed.restore(snapshot)
    clock.advance(300)
    reading = (await resumed.sample(clock.now() - 300, clock.now() + 600))[0]
    # 4x the stable's share slower than 100 ms, in each stage: evidence once both are counted
    assert "vs stable over 2 stages: slower than 100ms: 40 of 200 against 100 of 2,000" in reading.reason
    assert reading.state == SignalState.FAIL


# ---------------------------------------------------------------- pure verdicts and the plan


def test_verdict_words() -> None:
    assert judge_rate(0, 0, 0.01, 0.01).text.startswith("0 of 0 requests: —")
    buckets = buckets_from([(0.1, 10), (math.inf, 12)])
    assert "no histogram bucket at or above the limit 500ms" in judge_latency(buckets, 0.95, 0.5, 0.01).text


def test_alpha_is_shared_by_the_runs_tests() -> None:
    config = load_config(None)
    plan = alpha_plan(config)
    # p95, 5xx (+ one against the stable track, pooled over the stages), idempotency, CSP: 5 tests
    assert plan.tests == 5 and plan.per_test == pytest.approx(0.01 / 5)
    threshold = make_config({"e": rate_signal(judge="threshold")})
    assert alpha_plan(threshold).tests == 1  # no sequential test: the plan never divides by zero


def test_the_default_playbook_judges_rates_and_latency_by_counts() -> None:
    config = load_config(None)
    rules = {name: signal.judge_rule for name, signal in config.signals.items()}
    assert rules["error_rate"] == rules["p95_latency"] == rules["idempotency_conflicts"] == "sequential"
    assert rules["ws_staleness"] == rules["gc_pause"] == "threshold"


async def test_a_trigger_that_restates_a_sequential_signal_is_left_to_it() -> None:
    config = load_config(None)
    board = TriggerBoard(config, ScriptedSource(), ManualClock())
    readings = {t.name: t for t in await board.evaluate()}
    assert readings["error_rate_breach"].follows == "error_rate"
    assert not readings["error_rate_breach"].firing and readings["error_rate_breach"].error is None
    assert readings["ws_staleness_breach"].follows is None


def test_config_errors_name_the_key(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="judge = \"sequential\" needs a count form"):
        validate_config({"signals": {"x": {"query": "q", "max": 1, "judge": "sequential"}}}, "cockpit.toml")
    with pytest.raises(ConfigError, match="events_query and requests_query go together"):
        validate_config({"signals": {"x": {"query": "q", "max": 1, "events_query": "e"}}}, "cockpit.toml")
    with pytest.raises(ConfigError, match="triggers"):
        validate_config({"triggers": [{"name": "t", "expr": "e", "signal": "nope"}]}, "cockpit.toml")


def test_a_team_query_without_counts_is_judged_by_the_threshold_rule(tmp_path: Any) -> None:
    path = tmp_path / "cockpit.toml"
    path.write_text("[signals.error_rate]\nquery = 'my_errors_ratio{{selector}}'\n")
    config = load_config(path)
    assert config.signals["error_rate"].judge_rule == "threshold"
    assert config.signals["error_rate"].events_query is None
    path.write_text("[signals.error_rate]\njudge = \"threshold\"\n")
    assert load_config(path).signals["error_rate"].judge_rule == "threshold"
