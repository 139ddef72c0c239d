"""Human ticks of manual (GO/NO-GO) items: an append-only JSONL file in the release's evidence folder.

Each line is {"id", "initials", "note", "at", "ticked"}; the latest line for an
id is its state, so an untick is a new line, and nothing is ever rewritten.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from cockpit.clock import Clock, SystemClock, iso_utc
from cockpit.evidence import EvidenceStore

TICKS_FILE = "ticks.jsonl"
MAX_NOTE = 500


@dataclass(frozen=True)
class Tick:
    id: str
    initials: str
    note: str
    at: str  # ISO-8601 UTC
    ticked: bool


@dataclass
class TickLog:
    """Every tick in file order, and how many lines could not be read as one."""

    ticks: list[Tick] = field(default_factory=list)
    bad_lines: int = 0

    def latest(self) -> dict[str, Tick]:
        """Each id's latest record: its current state."""
        state: dict[str, Tick] = {}
        for tick in self.ticks:
            state[tick.id] = tick
        return state


def validate_initials(text: str) -> str:
    """2-4 letters, returned upper-cased; ValueError says what is wrong."""
    initials = (text or "").strip()
    if not (2 <= len(initials) <= 4 and initials.isalpha()):
        raise ValueError(f"initials {text!r} must be 2 to 4 letters, e.g. AB")
    return initials.upper()


def record_tick(
    store: EvidenceStore,
    check_id: str,
    initials: str,
    note: str = "",
    ticked: bool = True,
    clock: Clock | None = None,
) -> Tick:
    """Append a tick (or an untick) for one check; initials are validated (ValueError)."""
    one_line_note = " ".join(note.split())[:MAX_NOTE]
    tick = Tick(
        id=check_id,
        initials=validate_initials(initials),
        note=one_line_note,
        at=iso_utc((clock or SystemClock()).now()),
        ticked=ticked,
    )
    store.append_line(TICKS_FILE, json.dumps(asdict(tick), ensure_ascii=False))
    return tick


def _parse(line: str) -> Tick | None:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    try:
        tick = Tick(id=raw["id"], initials=raw["initials"], note=raw.get("note", ""), at=raw["at"], ticked=raw["ticked"])
    except (KeyError, TypeError):
        return None
    if not (isinstance(tick.id, str) and isinstance(tick.initials, str) and isinstance(tick.ticked, bool)):
        return None
    return tick


def read_ticks(store: EvidenceStore) -> TickLog:
    """Every tick of the release (an absent file is an empty log); unreadable lines are counted, not fatal."""
    log = TickLog()
    path = store.dir / TICKS_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return log
    for line in text.splitlines():
        if not line.strip():
            continue
        tick = _parse(line)
        if tick is None:
            log.bad_lines += 1
        else:
            log.ticks.append(tick)
    return log
