"""The GO/NO-GO pane: its items (manual ones ticked, computed ones read from the evidence) and the sign-offs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from cockpit.screens.checklist import ChecklistScreen
from cockpit.widgets.signoffs import SignoffSummary


class GoNoGoScreen(ChecklistScreen):
    BINDINGS = [
        *ChecklistScreen.BINDINGS,
        Binding("s", "signoff", "Sign off", id="signoff", tooltip="Sign GO or NO-GO as a role (initials, note)"),
    ]

    def compose_extra(self) -> ComposeResult:
        yield SignoffSummary(id="signoffs")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "signoff" and self.cockpit.options.read_only:
            return False
        return super().check_action(action, parameters)

    def show_state(self) -> None:
        go = self.cockpit.gate()
        drill = self.cockpit.options.mode == "drill"
        self.query_one(SignoffSummary).show(go.group("signoff") if go is not None else None, drill=drill)
        super().show_state()

    def action_signoff(self) -> None:
        self.cockpit.ask_signoff()
