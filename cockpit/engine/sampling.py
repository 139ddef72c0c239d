"""Guarded sampling: the boards asked under a real-time guard; what did not arrive reads BLIND, never as a pass.

The canary runner and the first night ask the golden signals (SignalBoard) and
the triggers (TriggerBoard) the same way. Each board has its own per-query
timeouts; the guard bounds the whole board in real seconds. A board that fails
or overruns gives readings that say so (every enabled signal BLIND, one
erroring trigger), so a decision never rests on data that did not arrive.
The readings are journaled as plain dicts (`signals_json`, `triggers_json`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cockpit.clock import Clock
from cockpit.config import CockpitConfig
from cockpit.engine.model import SignalReading, SignalState, TriggerReading
from cockpit.engine.signals import query_deadline

_TIMEOUTS = (asyncio.TimeoutError, TimeoutError)


def guard_seconds(config: CockpitConfig) -> float:
    """Real seconds a board may take before its readings count as blind: one query's deadline and a second.

    Every query of an evaluation runs at once and the source ends each (retries included) within its
    timeout, so an evaluation costs one timeout however many queries it asks.
    """
    return query_deadline(config) + 1.0


class EvaluationAnswers:
    """The source as the boards see it: inside `evaluation()`, each distinct query is asked once and shared.

    Signals and triggers often ask the same thing (every ratio signal's volume, the canary's `up`); one
    evaluation asks it once. Outside an evaluation every call goes through, so no answer is ever reused
    from an earlier one.
    """

    def __init__(self, source: Any) -> None:
        self.source = source
        self._asked: dict[tuple[str, float | None], asyncio.Future[Any]] | None = None

    @contextmanager
    def evaluation(self) -> Iterator[None]:
        self._asked = {}
        try:
            yield
        finally:
            self._asked = None

    async def _shared(self, key: tuple[str, float | None], ask: Callable[[], Awaitable[Any]]) -> Any:
        if self._asked is None:
            return await ask()
        task = self._asked.get(key)
        if task is None:
            task = self._asked[key] = asyncio.ensure_future(ask())
        # One waiter giving up (its own deadline) must not cancel the answer the others wait for.
        return await asyncio.shield(task)

    async def query(self, expr: str, at: float | None = None) -> Any:
        return await self._shared((expr, at), lambda: self.source.query(expr) if at is None else self.source.query(expr, at))

    def __getattr__(self, name: str) -> Any:
        if name == "source":  # not set yet: no source to pass to
            raise AttributeError(name)
        found = getattr(self.source, name)
        if name == "alerts":  # shared too, and absent when the source has none (a drill's)
            return lambda: self._shared(("alerts API", None), found)
        return found


def blind_signals(config: CockpitConfig, now: float, why: str) -> list[SignalReading]:
    """Every enabled signal BLIND with the reason: a decision never rests on data that did not arrive."""
    return [
        SignalReading(name, SignalState.BLIND, None, s.max if s.max is not None else s.min, s.query, now,
                      reason=why, dry_run=s.dry_run, unit=s.unit)
        for name, s in config.enabled_signals().items()
    ]


async def sample_signals(board: Any, config: CockpitConfig, clock: Clock, started_at: float, ends_at: float) -> list[SignalReading]:
    """`board.sample(started_at, ends_at)` under the guard; a failure or an overrun is every signal BLIND."""
    try:
        return list(await asyncio.wait_for(board.sample(started_at, ends_at), timeout=guard_seconds(config)))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        why = "sampling took too long" if isinstance(exc, _TIMEOUTS) else f"sampling failed: {type(exc).__name__}: {exc}"
        return blind_signals(config, clock.now(), why)


async def evaluate_triggers(board: Any, config: CockpitConfig, clock: Clock) -> list[TriggerReading]:
    """`board.evaluate()` under the guard; a failure or an overrun is one erroring rollback trigger."""
    try:
        return list(await asyncio.wait_for(board.evaluate(), timeout=guard_seconds(config)))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        why = "evaluation took too long" if isinstance(exc, _TIMEOUTS) else f"{type(exc).__name__}: {exc}"
        return [TriggerReading("triggers", False, False, "rollback", False, "", clock.now(),
                               error=f"triggers could not be evaluated: {why}")]


def signals_json(readings: list[SignalReading]) -> dict[str, dict[str, Any]]:
    """Signal readings as a journal record's `signals`."""
    return {
        s.name: {"value": s.value, "state": str(s.state), "limit": s.limit, "unit": s.unit, "window": s.window,
                 "reason": s.reason, "dry_run": s.dry_run, **({"evidence": s.evidence} if s.evidence else {})}
        for s in readings
    }


def triggers_json(readings: list[TriggerReading], *, quiet: bool = True) -> dict[str, dict[str, Any]]:
    """Trigger readings as a journal record's `triggers`; quiet=False leaves out those not firing, active or erroring."""
    return {
        t.name: {"firing": t.firing, "active": t.active, "action": t.action, "auto": t.auto, "value": t.value,
                 "error": t.error, "dry_run": t.dry_run, "since": t.since,
                 **({"waiting": t.waiting} if t.waiting else {}), **({"follows": t.follows} if t.follows else {})}
        for t in readings
        if quiet or t.firing or t.active or t.error or t.waiting
    }
