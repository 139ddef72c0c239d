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
from typing import Any

from cockpit.clock import Clock
from cockpit.config import CockpitConfig
from cockpit.engine.model import SignalReading, SignalState, TriggerReading

_TIMEOUTS = (asyncio.TimeoutError, TimeoutError)


def guard_seconds(config: CockpitConfig) -> float:
    """Real seconds a board may take before its readings count as blind (the boards have their own timeouts)."""
    prometheus = config.prometheus
    per_query = prometheus.timeout * (prometheus.retries + 1) + 2.0 if prometheus is not None else 15.0
    return max(per_query * 2, 10.0)


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
