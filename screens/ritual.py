"""The green-button ritual: the artifact check, every gate's count, and the seal that enables T-0."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from cockpit.screens.base import ROLLBACK_BINDING
from cockpit.screens.checklist import ChecklistScreen
from cockpit.widgets.gate_summary import GateSummary


class RitualScreen(ChecklistScreen):
    BINDINGS = [
        ROLLBACK_BINDING,
        *ChecklistScreen.BINDINGS[1:],
        Binding("g", "seal", "GO: seal evidence", id="seal", tooltip="The green button: seal the evidence, enable T-0"),
        Binding("t", "start_canary", "T-0: start canary", id="start-canary",
                tooltip="Start the canary as its own process (after the seal)"),
    ]

    def compose_extra(self) -> ComposeResult:
        yield GateSummary(id="gate")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "seal":
            if self.cockpit.options.read_only:
                return False
            go = self.cockpit.gate()
            return (go is not None and go.ready_to_seal and not go.go) or None  # dim until everything else is green
        if action == "start_canary":
            if self.cockpit.options.read_only:
                return False
            if self.cockpit.can_start_canary() is not None:
                return False
            return True
        return super().check_action(action, parameters)

    def show_state(self) -> None:
        app = self.cockpit
        self.query_one(GateSummary).show(list(app.checklists.values()), app.gate(), app.sealed,
                                         drill=app.options.mode == "drill")
        super().show_state()
        self.refresh_bindings()

    def action_seal(self) -> None:
        self.cockpit.ask_seal()

    def action_start_canary(self) -> None:
        self.cockpit.ask_start_canary()
