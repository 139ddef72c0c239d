"""Small in-test boards for driving the canary runner, and a config builder for canary tests.

The boards have the SignalBoard/TriggerBoard methods the runner calls and
return readings built from what a test function says the service looks like
right now (e.g. from the traffic weight a real traffic command wrote to a file).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.config import CockpitConfig
from cockpit.engine.model import SignalReading, SignalState, TriggerReading

SIGNALS = {
    "p95": {"short": "p95", "query": "histogram_quantile(0.95, x)", "unit": "s", "max": 0.2},
    "errors": {"short": "5xx", "query": "sum(rate(errors[1m]))", "unit": "ratio", "max": 0.01},
}


def make_config(tmp: Path, *, stages: list[tuple[float, float]], evaluate_every: float = 15.0,
                traffic: dict[str, Any] | None = None, canary: dict[str, Any] | None = None,
                signals: dict[str, Any] | None = None) -> CockpitConfig:
    """A config without the default playbook: only what the canary test needs."""
    data: dict[str, Any] = {
        "prometheus": {"url": "http://127.0.0.1:9"},
        "evidence": {"dir": str(tmp / "evidence")},
        "canary": {
            "evaluate_every": evaluate_every,
            "stages": [{"weight": w, "hold": h} for w, h in stages],
            "hold_extension": 60.0,
            "recovery_window": 60.0,
            **(canary or {}),
        },
        "signals": signals if signals is not None else SIGNALS,
        "traffic": traffic or {},
    }
    return CockpitConfig.model_validate(data)


def recording_command(log: Path, *, fail: bool = False) -> list[str]:
    """A real traffic command: appends `action weight version stage` to `log` (or fails with exit 3)."""
    code = (
        "import sys; "
        + ("sys.stderr.write('ingress not found\\n'); sys.exit(3)" if fail else
           f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')")
    )
    return [sys.executable, "-c", code, "{action}", "{weight}", "{version}", "{stage}"]


def current_weight(log: Path) -> float:
    """The weight the traffic command last set (0 before any shift or after a rollback)."""
    if not log.exists():
        return 0.0
    lines = [line.split() for line in log.read_text().splitlines() if line.strip()]
    return float(lines[-1][1]) if lines else 0.0


Values = Callable[[], dict[str, float | None]]


class ScriptedSignalBoard:
    """Readings from `values()`: None is BLIND; over the limit BREACHING, then FAIL after its `for`; else PASS."""

    def __init__(self, config: CockpitConfig, clock: Any, values: Values) -> None:
        self.config = config
        self.clock = clock
        self.values = values
        self.samples = 0
        self.restored: list[dict[str, Any]] = []
        self.breach_since: dict[str, float] = {}

    async def sample(self, stage_started_at: float, stage_ends_at: float) -> list[SignalReading]:
        self.samples += 1
        now = self.clock.now()
        current = self.values()
        readings = []
        for name, signal in self.config.enabled_signals().items():
            value = current.get(name)
            if value is None:
                state, reason = SignalState.BLIND, "no data (the query returned no series)"
            elif signal.max is not None and value > signal.max:
                since = self.breach_since.setdefault(name, now)
                state = SignalState.FAIL if now - since >= signal.for_ else SignalState.BREACHING
                reason = f"over its limit for {now - since:g}s"
            else:
                self.breach_since.pop(name, None)
                state, reason = SignalState.PASS, ""
            readings.append(SignalReading(name, state, value, signal.max, signal.query, now, window=60.0,
                                          reason=reason, unit=signal.unit, dry_run=signal.dry_run))
        return readings

    def snapshot(self) -> dict[str, Any]:
        return {"samples": self.samples}

    def restore(self, state: dict[str, Any]) -> None:
        self.restored.append(state)


class ScriptedTriggerBoard:
    """One auto-rollback trigger that fires when `firing()` says so."""

    def __init__(self, clock: Any, firing: Callable[[], bool] = lambda: False) -> None:
        self.clock = clock
        self.firing = firing

    async def evaluate(self) -> list[TriggerReading]:
        on = self.firing()
        return [TriggerReading("error_latency_guard", on, on, "rollback", True, "vector(1)", self.clock.now(),
                               since=self.clock.now() if on else None, value=1.0 if on else None)]

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        pass


def healthy() -> dict[str, float | None]:
    return {"p95": 0.142, "errors": 0.002}
