"""What a check returns: a status that is never PASS without having looked, and its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel


class Status(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    SKIPPED = "SKIPPED"


STATUS_SYMBOL = {
    Status.PASS: "✔",
    Status.WARN: "!",
    Status.FAIL: "▲",
    Status.UNKNOWN: "?",
    Status.SKIPPED: "-",
}


@dataclass
class Outcome:
    """What a check function found; the runner adds identity and timing."""

    status: Status
    summary: str
    details: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)


def unknown(summary: str, *details: str) -> Outcome:
    """The outcome of a check that could not look."""
    return Outcome(Status.UNKNOWN, summary, list(details))


class CheckResult(BaseModel):
    id: str
    title: str
    phase: str
    kind: str
    status: Status
    summary: str
    details: list[str] = []
    evidence: list[str] = []
    duration_s: float
    started_at: str


def worst_status(statuses: list[Status]) -> Status:
    """FAIL over UNKNOWN over WARN over PASS; SKIPPED counts for nothing."""
    for status in (Status.FAIL, Status.UNKNOWN, Status.WARN, Status.PASS):
        if status in statuses:
            return status
    return Status.SKIPPED


def exit_code_for(statuses: list[Status]) -> int:
    """0 all pass (WARN allowed), 1 any FAIL, 3 no FAIL but some UNKNOWN."""
    if Status.FAIL in statuses:
        return 1
    if Status.UNKNOWN in statuses:
        return 3
    return 0
