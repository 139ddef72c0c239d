"""The canary engine's vocabulary: readings of signals and triggers, decisions and their reasons.

Plain dataclasses used inside the engine; the journal/events turn them into JSON.
Shared by the decision matrix, the canary runner, the reports and the TUI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class SignalState(StrEnum):
    PASS = "PASS"  # within its limit
    WARN = "WARN"  # within its limit, trend projected to cross it before the stage ends
    BREACHING = "BREACHING"  # over its limit, not yet for its `for` duration
    FAIL = "FAIL"  # over its limit for its `for` duration
    INSUFFICIENT = "INSUFFICIENT"  # too few samples/requests to judge, even on the widest window
    BLIND = "BLIND"  # no data, NaN, timeout, Prometheus down: unknown, never PASS


class Action(StrEnum):
    CONTINUE = "continue"  # all good so far; the stage's time is not over
    PROCEED = "proceed"  # the stage passed: go to the next weight
    HOLD = "hold"  # extend the stage (bad trend, hold trigger, blind/insufficient)
    ROLLBACK = "rollback"  # a limit exceeded for its `for`, or blind too long
    IMMEDIATE_ROLLBACK = "immediate_rollback"  # an auto-trigger fired: no human in the loop


@dataclass
class Reason:
    """Why: which signal or trigger, its query, window, value and limit."""

    source: str  # "signal" | "trigger" | "alert" | "blind" | "insufficient" | "operator" | "stage"
    name: str
    message: str
    query: str = ""
    window: float | None = None
    value: float | None = None
    limit: float | None = None
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SignalReading:
    name: str
    state: SignalState
    value: float | None
    limit: float | None
    query: str
    at: float
    window: float | None = None
    requests: float | None = None
    reason: str = ""  # for BLIND / INSUFFICIENT: why, in words
    last_good_at: float | None = None  # when the signal last had a real value
    dry_run: bool = False
    unit: str = ""
    # The sequential rule's counts and bounds (cockpit.engine.count_judge); None under the threshold rule.
    evidence: dict[str, Any] | None = None


@dataclass
class TriggerReading:
    name: str
    firing: bool  # the expression returned a sample now
    active: bool  # firing for at least its `for` duration
    action: str  # rollback | hold | warn
    auto: bool
    expr: str
    at: float
    since: float | None = None
    value: float | None = None
    error: str | None = None  # could not evaluate: the trigger is blind
    dry_run: bool = False
    waiting: str | None = None  # not asked yet: its window cannot hold the run's own data yet (never quiet)
    follows: str | None = None  # not asked: the signal of that name judges it from counts (sequential rule)


@dataclass
class Decision:
    action: Action
    at: float
    reasons: list[Reason] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action.value, "at": self.at, "reasons": [r.as_dict() for r in self.reasons]}
