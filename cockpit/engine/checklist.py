"""Checklists as the IC walks them: each item's result or tick, and whether GO is allowed (pure).

An item is green when its check PASSed (a manual item's check passes once the
ticks store holds its tick), or when a person ticked it (a manual item, or an
accepted WARN). FAIL and UNKNOWN are never green; GO needs every required item
of every gating list green. Ticks themselves are recorded by cockpit.checks.ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.engine.checklist_panes import CHECKLISTS
from cockpit.results import CheckResult, Status
from cockpit.checks.ticks import Tick, validate_initials
from cockpit.errors import CockpitError

GATING = ("preflight", "redteam", "gonogo", "ritual")


class TickError(CockpitError, ValueError):
    """A tick that cannot be recorded, phrased for the person typing it."""


@dataclass
class ChecklistItem:
    spec: Any  # a CheckSpec
    result: CheckResult | None = None
    tick: Tick | None = None  # the latest tick (ticked) for this id; an untick clears it
    running_since: float | None = None
    error: str | None = None  # the worker itself failed (not the check): shown, never green

    @property
    def id(self) -> str:
        return str(self.spec.id)

    @property
    def title(self) -> str:
        return str(self.spec.title)

    @property
    def manual(self) -> bool:
        return self.spec.kind == "manual"

    @property
    def required(self) -> bool:
        return bool(getattr(self.spec, "required", True))

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def tickable(self) -> bool:
        """Manual items, and automated ones that came back WARN (a person accepts the warning)."""
        return self.manual or (self.result is not None and self.result.status == Status.WARN)

    @property
    def green(self) -> bool:
        if self.running or self.error:
            return False
        if self.tick is not None and self.tickable:
            return True
        return self.result is not None and self.result.status == Status.PASS

    @property
    def word(self) -> str:
        """The status word the list shows: PASS/WARN/FAIL/UNKNOWN/SKIPPED, TICKED, RUNNING, TODO or ERROR."""
        if self.running:
            return "RUNNING"
        if self.error:
            return "ERROR"
        if self.tick is not None and self.tickable:
            return "TICKED"
        if self.result is None or (self.manual and self.result.status != Status.PASS):
            return "TODO"  # a manual item's check says UNKNOWN until ticked: it is simply not done
        return self.result.status.value


@dataclass
class Checklist:
    key: str
    title: str
    items: list[ChecklistItem] = field(default_factory=list)

    def item(self, check_id: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.id == check_id), None)

    def start(self, check_id: str, now: float) -> ChecklistItem:
        item = self._get(check_id)
        item.running_since = now
        item.error = None
        return item

    def record(self, result: CheckResult) -> ChecklistItem:
        item = self._get(result.id)
        item.result = result
        item.running_since = None
        item.error = None
        if not item.manual:
            item.tick = None  # an accepted WARN was about the old result, not this one
        return item

    def fail(self, check_id: str, error: str) -> ChecklistItem:
        item = self._get(check_id)
        item.running_since = None
        item.error = error
        return item

    def check_tick(self, check_id: str, initials: str, note: str = "") -> str:
        """Validate a tick before it is recorded; returns the initials upper-cased, TickError if not allowed."""
        item = self._get(check_id)
        if not item.tickable:
            raise TickError(f"{item.title}: only manual items and WARN results can be ticked")
        if not item.manual and not note.strip():
            raise TickError("accepting a WARN needs a note saying why")
        try:
            return validate_initials(initials)
        except ValueError:
            raise TickError("initials are 2 to 4 letters, e.g. AB") from None

    def apply_tick(self, tick: Tick) -> None:
        """A tick from the ticks store shows on its item (an untick clears it)."""
        item = self.item(tick.id)
        if item is None or not (item.manual or item.tickable):
            return  # an old acceptance of a WARN this session has not seen
        item.tick = tick if tick.ticked else None

    def blocking(self) -> list[ChecklistItem]:
        """Required items that are not green."""
        return [i for i in self.items if i.required and not i.green]

    def counts(self) -> tuple[int, int]:
        """(green required items, required items)."""
        required = [i for i in self.items if i.required]
        return sum(1 for i in required if i.green), len(required)

    def _get(self, check_id: str) -> ChecklistItem:
        item = self.item(check_id)
        if item is None:
            raise KeyError(check_id)
        return item


def build_checklists(config: Any) -> dict[str, Checklist]:
    """One checklist per pane from the config's enabled checks."""
    lists = {}
    for key, title, phases in CHECKLISTS:
        items = [ChecklistItem(spec) for phase in phases for spec in config.enabled_checks(phase)]
        lists[key] = Checklist(key, title, items)
    return lists


@dataclass(frozen=True)
class Gate:
    """Whether GO is possible, and what stands in the way."""

    open: bool
    blocking: list[str]


def go_gate(checklists: dict[str, Checklist]) -> Gate:
    """GO only when every required item of every gating list is green (an empty list blocks nothing)."""
    blocking = []
    for key in GATING:
        checklist = checklists.get(key)
        if checklist is None:
            continue
        for item in checklist.blocking():
            blocking.append(f"{checklist.title}: {item.title} ({item.word})")
    return Gate(not blocking, blocking)
