"""Release journals for report and first-night tests, written with the real Journal class.

The records have the fields the canary contract names (run_started, stage_started,
sample, decision, hold, stage_passed, rollback_*, canary_done), so the reports
read exactly what a real run writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.run.journal import JOURNAL_NAME, Journal

T0 = 1_800_000_000.0

# The default playbook's eight signals: unit and limit.
DEFAULT_SIGNALS: dict[str, tuple[str, float]] = {
    "p95_latency": ("s", 0.2),
    "error_rate": ("ratio", 0.01),
    "ws_staleness": ("s", 30.0),
    "risk_block_rate": ("per_min", 0.5),
    "idempotency_conflicts": ("ratio", 0.01),
    "csp_violations": ("ratio", 0.001),
    "eventloop_lag": ("s", 0.05),
    "gc_pause": ("s", 0.02),
}
PLAN = [(1.0, 900.0), (5.0, 900.0), (25.0, 900.0), (50.0, 900.0), (100.0, 1800.0)]


class JournalWriter:
    """Appends contract-shaped records at a clock the test moves."""

    def __init__(self, evidence_dir: Path, version: str = "v1.4.0", t0: float = T0) -> None:
        self.dir = Path(evidence_dir) / version
        self.version = version
        self.journal = Journal(self.dir / JOURNAL_NAME)
        self.now = t0

    def close(self) -> None:
        self.journal.close()

    def at(self, ts: float) -> JournalWriter:
        self.now = ts
        return self

    def advance(self, seconds: float) -> JournalWriter:
        self.now += seconds
        return self

    def add(self, event: str, **fields: Any) -> dict[str, Any]:
        return self.journal.append(event, self.now, **fields)

    def run_started(self, plan: list[tuple[float, float]] = PLAN, **extra: Any) -> None:
        self.plan = plan
        self.add("run_started", version=self.version, plan=[{"weight": w, "hold": h} for w, h in plan], pid=1,
                 drill=False, **extra)

    def start_stage(self, stage: int) -> None:
        weight, hold = self.plan[stage - 1]
        self.add("traffic_shifted", stage=stage, weight=weight, ok=True, attempts=1, duration_s=0.1, error=None)
        self.add("stage_started", stage=stage, weight=weight, hold=hold, ends_at=self.now + hold)

    def sample(self, stage: int, signals: dict[str, tuple[float | None, str]],
               triggers: dict[str, dict[str, Any]] | None = None, units: dict[str, tuple[str, float]] = DEFAULT_SIGNALS,
               **extra: Any) -> None:
        weight = self.plan[stage - 1][0]
        body = {
            name: {"value": value, "state": state, "limit": units[name][1], "unit": units[name][0], "window": 60.0,
                   "reason": "", "dry_run": False}
            for name, (value, state) in signals.items()
        }
        self.add("sample", stage=stage, weight=weight, signals=body, triggers=triggers or {}, **extra)

    def decision(self, stage: int, action: str, reasons: list[dict[str, Any]] | None = None) -> None:
        self.add("decision", stage=stage, weight=self.plan[stage - 1][0], action=action, reasons=reasons or [], at=self.now)

    def pass_stage(self, stage: int) -> None:
        self.decision(stage, "proceed")
        self.add("stage_passed", stage=stage, weight=self.plan[stage - 1][0])

    def rollback(self, stage: int, reasons: list[dict[str, Any]], *, start_after: float, end_after: float,
                 action: str = "rollback", ok: bool = True) -> None:
        weight = self.plan[stage - 1][0]
        decided = self.now
        self.add("rollback_started", stage=stage, weight=weight, reasons=reasons, decided_at=decided, action=action)
        self.at(decided + end_after)
        self.add("rollback_done", stage=stage, weight=weight, ok=ok, attempts=1, decided_at=decided,
                 command_started_at=decided + start_after, command_ended_at=decided + end_after,
                 decision_to_command_ms=round(start_after * 1000, 3), error=None if ok else "exit 3")

    def done(self, result: str, stage: int, **extra: Any) -> None:
        self.add("canary_done", result=result, stage=stage, weight=self.plan[stage - 1][0], **extra)


def signal_reason(name: str, value: float, limit: float, message: str = "") -> dict[str, Any]:
    """A Reason.as_dict() for a signal over its limit."""
    return {"source": "signal", "name": name, "message": message or f"{name} FAIL: over its limit for its `for`",
            "query": "q", "window": 60.0, "value": value, "limit": limit, "dry_run": False}


def promoted_journal(evidence_dir: Path, version: str = "v1.4.0", t0: float = T0,
                     signals: dict[str, tuple[str, float]] | None = None, value: float = 0.1) -> float:
    """A short promoted canary (one sample per stage); returns the time of canary_done."""
    units = signals or {"p95": ("s", 0.2)}
    writer = JournalWriter(evidence_dir, version, t0)
    writer.run_started()
    for stage in range(1, len(PLAN) + 1):
        writer.start_stage(stage)
        writer.advance(15)
        writer.sample(stage, {name: (value, "PASS") for name in units}, units=units)
        writer.advance(1)
        writer.pass_stage(stage)
    writer.done("promoted", len(PLAN))
    writer.close()
    return writer.now
