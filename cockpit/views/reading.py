"""How the views read a journal record: numbers that may be missing, reasons, a rollback, status symbols.

Shared by the canary's view and the first night's (cockpit.views.canary, cockpit.views.night), so
neither has to import the other for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cockpit.format import format_duration

STATUS_SYMBOL = {"PASS": "✔", "WARN": "!", "FAIL": "▲", "UNKNOWN": "?", "STALE": "◷"}


def finite_number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def whole_number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def notable_reasons(reasons: list[Any]) -> list[Any]:
    """The reasons worth a line: not the signals that simply PASS (the table shows those)."""
    return [r for r in reasons if not (isinstance(r, dict) and r.get("source") == "signal"
                                       and " PASS" in str(r.get("message") or ""))]


def format_reason(reason: Any) -> str:
    """One line for a Reason.as_dict() (or whatever the journal carried)."""
    if not isinstance(reason, dict):
        return str(reason)
    name = str(reason.get("name") or reason.get("source") or "")
    message = str(reason.get("message") or "")
    if name and message.startswith(name):
        text = message  # the engine's message already names its signal or trigger
    else:
        text = f"{name}: {message}" if name and message else name or message
    return f"[dry-run] {text}" if reason.get("dry_run") else text


@dataclass
class RollbackView:
    started_at: float
    decided_at: float | None = None
    stage: int | None = None
    weight: float | None = None
    reasons: list[Any] = field(default_factory=list)
    done: bool = False
    ok: bool | None = None
    ended_at: float | None = None
    attempts: int | None = None
    command_started_at: float | None = None
    command_ended_at: float | None = None
    decision_to_command_ms: float | None = None
    error: str | None = None

    @classmethod
    def from_started(cls, event: dict[str, Any], ts: float) -> RollbackView:
        """A `rollback_started` record as the view keeps it."""
        reasons = event.get("reasons")
        return cls(
            started_at=ts,
            decided_at=finite_number(event.get("decided_at")),
            stage=whole_number(event.get("stage")),
            weight=finite_number(event.get("weight")),
            reasons=list(reasons) if isinstance(reasons, list) else [],
        )

    def finish(self, event: dict[str, Any], ts: float) -> None:
        """Fold in its `rollback_done` record."""
        self.done = True
        self.ok = bool(event.get("ok"))
        self.ended_at = ts
        self.decided_at = finite_number(event.get("decided_at")) if event.get("decided_at") is not None else self.decided_at
        self.attempts = whole_number(event.get("attempts"))
        self.command_started_at = finite_number(event.get("command_started_at"))
        self.command_ended_at = finite_number(event.get("command_ended_at"))
        self.decision_to_command_ms = finite_number(event.get("decision_to_command_ms"))
        self.error = str(event["error"]) if event.get("error") else None

    def elapsed(self, now: float) -> float:
        """Seconds from the decision (or the start) to the end, or to now while it runs."""
        start = self.decided_at if self.decided_at is not None else self.started_at
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - start)

    def command_duration(self) -> float | None:
        if self.command_started_at is None or self.command_ended_at is None:
            return None
        return max(0.0, self.command_ended_at - self.command_started_at)

    def timings(self) -> list[str]:
        """What is known of a finished rollback's timing: decision→command, the command itself, its attempts."""
        parts = []
        if self.decision_to_command_ms is not None:
            parts.append(f"decision→command {format_duration(self.decision_to_command_ms / 1000, 'measured')}")
        command = self.command_duration()
        if command is not None:
            parts.append(f"command {format_duration(command, 'measured')}")
        if self.attempts:
            parts.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        return parts
