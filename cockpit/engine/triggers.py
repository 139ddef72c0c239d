"""Rollback triggers: PromQL that fires while it returns a sample, for its `for`, and Prometheus' own alerts.

A configured trigger is evaluated as an instant query ({selector}, {stable_selector}
and {window} filled in as in signal queries). An alert Prometheus holds that
carries `canary.alerts_action_label` (e.g. cockpit_action="rollback") is a
trigger too: "pending" is firing but not yet for its `for` (Prometheus keeps that
timer), "firing" is active. A trigger that cannot be evaluated has `error` set:
the decision treats it as blind, never as quiet.

Bound to a canary run (`bound_to(first shift)`), a trigger judges only the run's
own data: {window} and every literal range (`[2m]`, `[5m:30s]`) are cut to the
time since the first shift, and while that is under `[canary] min_window` the
trigger is `waiting` (not asked; the stage cannot proceed, nor is it blind).
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any

from cockpit.clock import Clock
from cockpit.config import CockpitConfig, TriggerConfig
from cockpit.engine.model import TriggerReading
from cockpit.engine.promql_parts import age_window, bound_ranges
from cockpit.engine.promql_text import render_query
from cockpit.engine.signals import ForTimer, ask, query_deadline

ALERT_PREFIX = "alert:"
ALERTS_API = "alert:*"  # the reading that stands for the alerts API itself when it cannot be read
_ACTIONS = {"rollback", "hold", "warn"}
_AUTO = {"immediate", "immediate_rollback", "auto", "auto_rollback"}
_SEVERITY = {"rollback": 0, "hold": 1, "warn": 2}


class TriggerBoard:
    """Evaluates the configured triggers and the alerts that carry an action label."""

    def __init__(self, config: CockpitConfig, source: Any, clock: Clock) -> None:
        self.config = config
        self.canary = config.canary
        self.source = source
        self.clock = clock
        self._timers: dict[str, ForTimer] = {}
        self.query_timeout = query_deadline(config)
        self.since: float | None = None  # the run's first shift: no window reaches back before it

    def bound_to(self, since: float | None) -> None:
        """Judge only data from `since` on (the canary run's first shift); None lifts the bound."""
        self.since = since

    def snapshot(self) -> dict[str, Any]:
        """The `for` timers, as JSON-ready data for a resume."""
        return {"timers": {name: timer.as_dict() for name, timer in self._timers.items()}}

    def restore(self, state: dict[str, Any]) -> None:
        for name, data in ((state or {}).get("timers") or {}).items():
            self._timers[str(name)] = ForTimer.from_dict(data)

    def render(self, trigger: TriggerConfig, now: float | None = None) -> str:
        """The trigger's expression as it is sent to Prometheus (at `now`, its ranges cut to the run's age)."""
        age = None if now is None or self.since is None else max(0.0, now - self.since)
        if age is None:
            return render_query(trigger.expr, self.canary.window, self.canary)
        fits = age_window(age)
        return bound_ranges(render_query(trigger.expr, min(float(self.canary.window), fits), self.canary), fits)

    def waiting(self, now: float) -> str | None:
        """Why no trigger is asked yet (the run's own data is shorter than min_window), or None."""
        if self.since is None:
            return None
        age, need = max(0.0, now - self.since), float(self.canary.min_window)
        if age >= need:
            return None
        return f"not asked yet: the run's own data is {age:.1f}s old, its window needs {need:g}s (two scrapes)"

    async def evaluate(self) -> list[TriggerReading]:
        """One reading per enabled trigger, then one per alert carrying the action label."""
        now = self.clock.now()
        enabled = [t for t in self.config.triggers if t.enabled]
        # The alerts API is asked with the triggers, not after them: one round of answers per evaluation.
        alerts, readings = await asyncio.gather(
            self._alerts(now), asyncio.gather(*(self._evaluate(t, now) for t in enabled)))
        return [*readings, *alerts]

    async def _evaluate(self, trigger: TriggerConfig, now: float) -> TriggerReading:
        expr = self.render(trigger, now)
        timer = self._timers.setdefault(trigger.name, ForTimer())

        def reading(firing: bool, active: bool, value: float | None = None, error: str | None = None,
                    waiting: str | None = None, follows: str | None = None) -> TriggerReading:
            return TriggerReading(
                name=trigger.name,
                firing=firing,
                active=active,
                action=trigger.action,
                auto=trigger.auto,
                expr=expr,
                at=now,
                since=timer.since,
                value=value,
                error=error,
                dry_run=trigger.dry_run,
                waiting=waiting,
                follows=follows,
            )

        follows = trigger.follows(self.config)
        if follows is not None:
            timer.clear()  # the signal's own evidence and `for` decide; its threshold on a ratio would be noise
            return reading(False, False, follows=follows)
        waiting = self.waiting(now)
        if waiting is not None:
            timer.pause(now)  # neither firing nor quiet: its window would reach back before the run
            return reading(False, False, waiting=waiting)
        result = await ask(self.source, expr, self.query_timeout)
        if result.error is not None:
            timer.pause(now)  # unknown: neither firing nor quiet
            return reading(False, False, error=result.error)
        if not result.samples:
            timer.clear()
            return reading(False, False)
        held = timer.hold(now)
        finite = [s.value for s in result.samples if math.isfinite(s.value)]
        value = max(finite) if finite else None
        return reading(True, held >= float(trigger.for_), value)

    async def _alerts(self, now: float) -> list[TriggerReading]:
        fetch = getattr(self.source, "alerts", None)
        label = self.canary.alerts_action_label
        if fetch is None or not label:
            return []
        try:
            alerts, error = await asyncio.wait_for(fetch(), timeout=self.query_timeout)
        except TimeoutError:
            alerts, error = [], f"the alerts API did not answer within {self.query_timeout:g}s"
        except Exception as exc:
            alerts, error = [], f"{type(exc).__name__}: {str(exc)[:200]}"
        if error is not None:
            return [
                TriggerReading(
                    name=ALERTS_API,
                    firing=False,
                    active=False,
                    action="rollback",
                    auto=False,
                    expr=f'ALERTS{{{label}!=""}}',
                    at=now,
                    error=f"cannot read Prometheus alerts: {error}",
                )
            ]
        best: dict[str, TriggerReading] = {}
        for alert in alerts or []:
            found = alert_reading(alert, label, now)
            if found is None:
                continue
            old = best.get(found.name)
            if old is None or _rank(found) < _rank(old):
                best[found.name] = found
        return [best[name] for name in sorted(best)]


def _rank(reading: TriggerReading) -> tuple[int, int, int]:
    return (0 if reading.active else 1, _SEVERITY.get(reading.action, 3), 0 if reading.auto else 1)


def alert_reading(alert: Any, label: str, now: float) -> TriggerReading | None:
    """A trigger reading for one alert of /api/v1/alerts, or None when it does not carry the action label."""
    if not isinstance(alert, dict):
        return None
    found = alert.get("labels")
    labels: dict[Any, Any] = found if isinstance(found, dict) else {}
    raw = labels.get(label)
    if not raw:
        return None
    name = str(labels.get("alertname") or "unnamed")
    word = str(raw).strip().lower()
    error = None
    if word in _AUTO:
        action, auto = "rollback", True
    elif word in _ACTIONS:
        action, auto = word, False
    else:
        # Reported, never acted on: a typo in a label must not roll a release back.
        action, auto = "warn", False
        error = f"{label}={raw!r} is not one of rollback, hold, warn, immediate"
    state = str(alert.get("state", "")).lower()
    matchers = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    value = _float(alert.get("value"))
    return TriggerReading(
        name=f"{ALERT_PREFIX}{name}",
        firing=state in ("firing", "pending"),
        active=state == "firing",
        action=action,
        auto=auto,
        expr=f"ALERTS{{{matchers}}}",
        at=now,
        since=_epoch(alert.get("activeAt")),
        value=value,
        error=error,
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _float(raw: Any) -> float | None:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _epoch(raw: Any) -> float | None:
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.replace("Z", "+00:00")
    if "." in text:  # Prometheus writes nanoseconds; fromisoformat takes at most microseconds
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{rest}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
