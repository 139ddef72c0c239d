"""EvaluationAnswers: one evaluation asks each distinct query once; outside one, nothing is reused."""

from __future__ import annotations

import asyncio
from typing import Any

from cockpit.clock import ManualClock
from cockpit.config import validate_config
from cockpit.engine.model import SignalState
from cockpit.engine.sampling import EvaluationAnswers
from cockpit.engine.signals import SignalBoard
from cockpit.engine.triggers import TriggerBoard
from tests.unit.scripted_source import Hang, ScriptedSource


async def test_identical_queries_of_one_evaluation_are_asked_once() -> None:
    source = ScriptedSource().on("up", 1.0)
    answers = EvaluationAnswers(source)
    with answers.evaluation():
        first, second = await asyncio.gather(answers.query("max(up)"), answers.query("max(up)"))
    assert first.scalar() == second.scalar() == 1.0 and source.queries == ["max(up)"]
    await answers.query("max(up)")
    await answers.query("max(up)")
    assert len(source.queries) == 3  # outside an evaluation each call is asked afresh


async def test_a_waiter_that_gives_up_does_not_cancel_the_answer_for_the_others() -> None:
    class Late:
        calls = 0

        async def query(self, expr: str) -> str:
            Late.calls += 1
            await asyncio.sleep(0.05)
            return "answer"

    answers = EvaluationAnswers(Late())
    with answers.evaluation():
        impatient = asyncio.ensure_future(asyncio.wait_for(answers.query("slow"), 0.01))
        patient = asyncio.ensure_future(answers.query("slow"))
        assert await patient == "answer" and Late.calls == 1
        assert isinstance(impatient.exception(), TimeoutError)


async def test_alerts_exist_only_when_the_source_has_them() -> None:
    class NoAlerts:
        async def query(self, expr: str) -> object:
            raise AssertionError("not asked")

    assert getattr(EvaluationAnswers(NoAlerts()), "alerts", None) is None
    source = ScriptedSource()
    answers = EvaluationAnswers(source)
    with answers.evaluation():
        assert await answers.alerts() == ([], None)


async def test_eight_ratio_signals_share_one_volume_query_and_a_hung_one_is_blind_in_time() -> None:
    signals = {
        f"s{i}": {"query": f"rate(x{i}[{{window}}])", "volume_query": "sum(increase(requests[{window}]))",
                  "max": 1.0, "judge": "threshold"}
        for i in range(8)
    }
    signals["hung"] = {"query": "hang_forever", "max": 1.0}
    config = validate_config({"prometheus": {"url": "http://127.0.0.1:9", "timeout": 0.2},
                              "canary": {"min_window": "0s"}, "signals": signals}, "t")
    source = ScriptedSource().on("requests", 500.0).on("rate(x", 0.5).on("hang_forever", Hang())
    answers = EvaluationAnswers(source)
    clock = ManualClock(1000.0)
    board = SignalBoard(config, answers, clock)
    with answers.evaluation():
        readings = {r.name: r for r in await board.sample(900.0, 2000.0)}
    assert all(readings[f"s{i}"].state is SignalState.PASS for i in range(8)), readings
    assert readings["hung"].state is SignalState.BLIND and "no answer within 0.45s" in readings["hung"].reason
    assert sum("requests" in q for q in source.queries) == 1
    assert TriggerBoard(config, answers, clock).query_timeout == 0.45


def slow_source(seconds: float) -> ScriptedSource:
    class Slow(ScriptedSource):
        async def query(self, expr: str) -> Any:
            await asyncio.sleep(seconds)
            return await super().query(expr)

    return Slow().on("few[", 500.0).on("few[1m]", 5.0).on("rate(w", 0.5).on("rate(q", 0.5)


WIDENING_CONFIG = {
    "prometheus": {"url": "http://127.0.0.1:9", "timeout": 0.1},
    "canary": {"min_window": "0s", "min_requests": 50},
    "signals": {
        "widening": {"query": "rate(w[{window}])", "volume_query": "sum(increase(few[{window}]))", "max": 1.0},
        "quick": {"query": "rate(q[{window}])", "max": 1.0},
    },
}


async def test_a_widened_window_asks_its_volume_and_value_in_one_round() -> None:
    # Answers take 0.3s, within the 0.35s query deadline: the first window (too few requests) and the wider one
    # (its volume and its value together) are two rounds, 0.6s, within the signal's 0.85s budget.
    source = slow_source(0.3)
    board = SignalBoard(validate_config(WIDENING_CONFIG, "t"), source, ManualClock(1000.0))
    readings = {r.name: r for r in await board.sample(0.0, 2000.0)}
    assert readings["quick"].state is SignalState.PASS
    assert readings["widening"].state is SignalState.PASS and readings["widening"].window > 60


async def test_behind_a_slow_prometheus_a_widening_that_cannot_finish_is_insufficient_not_blind() -> None:
    # A 0.4s timeout (query deadline 0.65s, budget 1.15s) and answers in 0.6s: a second round would end at
    # 1.2s. It is not asked; the signal shows its first window's value, INSUFFICIENT (never BLIND: every
    # query it asked was answered).
    source = slow_source(0.6)
    config = {**WIDENING_CONFIG, "prometheus": {"url": "http://127.0.0.1:9", "timeout": 0.4}}
    board = SignalBoard(validate_config(config, "t"), source, ManualClock(1000.0))
    readings = {r.name: r for r in await board.sample(0.0, 2000.0)}
    assert readings["quick"].state is SignalState.PASS
    widening = readings["widening"]
    assert widening.state is SignalState.INSUFFICIENT and widening.value == 0.5
    assert widening.reason.startswith("5 requests in 1m (need 50), a wider window was not asked: a round took 0.6s")
    assert sum("few[" in q for q in source.queries) == 1
