"""The run-of-show: milestones relative to T-0 and where a given moment stands among them (pure).

Defaults follow DESIGN.md (T-30 freeze … T+24h freeze lift); the canary stages'
times come from the configured plan, and `[run_of_show] milestones` replaces
the whole list when a team writes its own.

Four milestones before T-0 have work whose evidence shows it was done
(MILESTONE_WORK, MILESTONE_EVIDENCE): preflight (preflight.txt), the blast
radius (micro_blast_<v>.log), the red team (redteam_<v>.txt) and the
green-button ritual (green_button_<v>.txt, written when the evidence is sealed). Given which work is done, each of them is
"done" (whenever it happened), "late" (its slot — until the next milestone —
is over without it) or "due". The freeze and the war room leave no evidence
the cockpit could read: they have no work attached and keep the clock's marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cockpit.durations import parse_duration
from cockpit.format import format_weight

# (name, short label for a narrow timeline, offset from T-0 in seconds)
_BEFORE = [
    ("Freeze start", "freeze", -1800.0),
    ("War room open", "room", -1200.0),
    ("Preflight", "pre", -600.0),
    ("Blast-radius test", "blast", -540.0),
    ("Red team", "red", -300.0),
    ("Green-button ritual", "green", -120.0),
]
_FREEZE_LIFT = ("Release note, mini RCA, freeze lift", "lift", 86400.0)

# The work each pre-T-0 milestone stands for (by the default milestones' names), and the evidence that proves it.
MILESTONE_WORK = {"Preflight": "preflight", "Blast-radius test": "blast", "Red team": "redteam",
                  "Green-button ritual": "seal"}
MILESTONE_EVIDENCE = {"preflight": "preflight.txt", "blast": "micro_blast_{version}.log",
                      "redteam": "redteam_{version}.txt", "seal": "green_button_{version}.txt"}


def evidence_names(version: str) -> dict[str, str]:
    """Work -> the evidence file (in the release's folder) whose existence shows it was done."""
    return {work: name.replace("{version}", version) for work, name in MILESTONE_EVIDENCE.items()}


def parse_offset(value: str) -> float:
    """Seconds relative to T-0 for "-30m", "+15m", "0"."""
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body in ("", "0"):  # T-0 itself; parse_duration wants a unit on strings
        return 0.0
    return sign * parse_duration(body)


@dataclass(frozen=True)
class Milestone:
    name: str
    offset: float  # seconds from T-0 (negative: before)
    short: str = ""

    @property
    def label(self) -> str:
        return self.short or self.name


@dataclass(frozen=True)
class MilestoneMark:
    milestone: Milestone
    at: float  # epoch seconds
    mark: str  # done | now | next | later: where the clock stands (not a verdict)
    state: str = ""  # for a milestone with work: done | late | due ("" when no work is attached)


@dataclass(frozen=True)
class RunOfShow:
    """Where `now` stands: the current and next milestones and the T± offset."""

    t0: float
    now: float
    marks: list[MilestoneMark]

    @property
    def elapsed(self) -> float:
        """now - T-0: negative before the canary starts."""
        return self.now - self.t0

    @property
    def current(self) -> Milestone | None:
        return next((m.milestone for m in self.marks if m.mark == "now"), None)

    @property
    def next(self) -> Milestone | None:
        return next((m.milestone for m in self.marks if m.mark == "next"), None)

    @property
    def until_next(self) -> float | None:
        mark = next((m for m in self.marks if m.mark == "next"), None)
        return None if mark is None else mark.at - self.now


def default_milestones(stages: list[Any] | None = None) -> list[Milestone]:
    """DESIGN.md's run-of-show; stage times follow the plan's holds (1→5→25→50→100 % by default)."""
    milestones = [Milestone(name, offset, short) for name, short, offset in _BEFORE]
    plan = [(float(s.weight), float(s.hold)) for s in stages] if stages else [
        (1.0, 900.0), (5.0, 900.0), (25.0, 900.0), (50.0, 900.0), (100.0, 1800.0)]
    at = 0.0
    for index, (weight, hold) in enumerate(plan, 1):
        milestones.append(Milestone(f"Stage {index} ({format_weight(weight)})", at, format_weight(weight)))
        at += hold
    milestones.append(Milestone("First-night monitoring", at, "night"))
    name, short, offset = _FREEZE_LIFT
    milestones.append(Milestone(name, max(offset, at), short))
    return milestones


def milestones_for(config: Any) -> list[Milestone]:
    """The configured milestones ([run_of_show] milestones), else the defaults for its stages."""
    configured = list(getattr(getattr(config, "run_of_show", None), "milestones", []) or [])
    if configured:
        return sorted((Milestone(m.name, parse_offset(m.at)) for m in configured), key=lambda m: m.offset)
    return default_milestones(getattr(getattr(config, "canary", None), "stages", None))


def work_state(milestone: Milestone, slot_end: float | None, elapsed: float, done: frozenset[str]) -> str:
    """done / late / due for a milestone with work ("" without): late once its slot (until `slot_end`) is over."""
    work = MILESTONE_WORK.get(milestone.name)
    if work is None:
        return ""
    if work in done:
        return "done"
    end = slot_end if slot_end is not None else milestone.offset
    return "late" if elapsed >= end else "due"


def run_of_show(milestones: list[Milestone], t0: float, now: float, done: frozenset[str] = frozenset()) -> RunOfShow:
    """Mark each milestone done / now / next / later for the moment `now`; `done`: the work whose evidence exists."""
    ordered = sorted(milestones, key=lambda m: m.offset)
    elapsed = now - t0
    current = max((i for i, m in enumerate(ordered) if m.offset <= elapsed), default=None)
    marks = []
    for i, m in enumerate(ordered):
        if current is not None and i < current:
            mark = "done"
        elif i == current:
            mark = "now"
        elif i == (current + 1 if current is not None else 0):
            mark = "next"
        else:
            mark = "later"
        slot_end = ordered[i + 1].offset if i + 1 < len(ordered) else None
        marks.append(MilestoneMark(m, t0 + m.offset, mark, work_state(m, slot_end, elapsed, done)))
    return RunOfShow(t0, now, marks)


def parse_t0(text: str, now: float) -> float:
    """T-0 from the command line: "+30m" (from now), "14:30" (UTC today) or an ISO time; ValueError if not."""
    value = text.strip()
    if value.startswith("+"):
        return now + parse_offset(value)
    if len(value) == 5 and value[2] == ":" and value.replace(":", "").isdigit():
        hours, minutes = int(value[:2]), int(value[3:])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{text!r} is not a time of day (HH:MM, UTC)")
        day = datetime.fromtimestamp(now, tz=UTC).replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return day.timestamp()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a T-0 (use +30m, 14:30 (UTC) or 2025-01-31T14:30:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
