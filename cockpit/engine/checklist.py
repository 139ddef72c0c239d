"""Checklists as the IC walks them: each item's result, tick or acceptance (pure).

An item is green when its check PASSed (a manual item's check passes once the
ticks store holds its tick), when a person ticked it (manual items only), or
when a person accepted its WARN or UNKNOWN result with a reason (ACCEPTED, never
PASS). Computed items restate automated results and are never ticked. FAIL is
never green. Whether GO holds is the engine's GO decision (cockpit.engine.go),
not these lists': they are what the IC walks, GO reads the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.checks.ticks import Tick, validate_initials
from cockpit.engine.checklist_panes import CHECKLISTS
from cockpit.engine.go import ACCEPTABLE, Acceptance, RecordedResult, accepts
from cockpit.errors import CockpitError
from cockpit.results import CheckResult, Status


class TickError(CockpitError, ValueError):
    """A tick that cannot be recorded, phrased for the person typing it."""


@dataclass
class ChecklistItem:
    spec: Any  # a CheckSpec
    result: CheckResult | None = None
    tick: Tick | None = None  # the latest tick (ticked) for this id; an untick clears it
    acceptance: Acceptance | None = None  # a person accepted this WARN/UNKNOWN result, with a reason
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
    def computed(self) -> bool:
        """It restates an automated result (preflight green, rollback tested...): computed, never ticked."""
        return self.spec.kind == "computed"

    @property
    def tickable(self) -> bool:
        """Only manual items are ticked by a person."""
        return self.manual

    @property
    def acceptable(self) -> bool:
        """A WARN or UNKNOWN result a person may accept (not one that restates a phase: accept its results)."""
        if self.manual or self.result is None or self.result.status not in ACCEPTABLE:
            return False
        return not self.computed or getattr(self.spec, "source", "") == "rollback"

    @property
    def accepted(self) -> bool:
        if self.acceptance is None or self.result is None:
            return False
        recorded = RecordedResult(self.id, self.title, self.result.status, self.result.summary, self.result.started_at)
        return accepts(self.acceptance, recorded, computed=self.computed)

    @property
    def green(self) -> bool:
        if self.running or self.error:
            return False
        if self.tick is not None and self.tickable:
            return True
        if self.accepted:
            return True
        return self.result is not None and self.result.status == Status.PASS

    @property
    def word(self) -> str:
        """The status word the list shows: PASS/WARN/FAIL/UNKNOWN/SKIPPED, TICKED, ACCEPTED, RUNNING, TODO or ERROR."""
        if self.running:
            return "RUNNING"
        if self.error:
            return "ERROR"
        if self.tick is not None and self.tickable:
            return "TICKED"
        if self.accepted:
            return "ACCEPTED"
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
        if not item.accepted:
            item.acceptance = None  # an acceptance was about the old result, not this one
        return item

    def fail(self, check_id: str, error: str) -> ChecklistItem:
        item = self._get(check_id)
        item.running_since = None
        item.error = error
        return item

    def check_tick(self, check_id: str, initials: str, note: str = "") -> str:
        """Validate a tick before it is recorded; returns the initials upper-cased, TickError if not allowed."""
        item = self._get(check_id)
        if item.acceptable:
            if not note.strip():
                raise TickError(f"accepting a {item.result.status.value if item.result else ''} needs a reason saying why")
        elif not item.tickable:
            raise TickError(f"{item.title}: only manual items are ticked; a WARN or UNKNOWN can be accepted")
        try:
            return validate_initials(initials)
        except ValueError:
            raise TickError("initials are 2 to 4 letters, e.g. AB") from None

    def apply_tick(self, tick: Tick) -> None:
        """A tick from the ticks store shows on its item (an untick clears it)."""
        item = self.item(tick.id)
        if item is None or not item.manual:
            return  # a tick on an item that is not manual (an old file) means nothing
        item.tick = tick if tick.ticked else None

    def apply_acceptance(self, acceptance: Acceptance) -> None:
        """An acceptance from the evidence shows on its item (ACCEPTED while its result is the one accepted)."""
        item = self.item(acceptance.check_id)
        if item is not None and not item.manual:
            item.acceptance = acceptance

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

