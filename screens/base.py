"""What every cockpit pane shares: the rollback key first in its footer, the status bar, the footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.screen import Screen

from cockpit.screens.partial_render import PartialCompositor

if TYPE_CHECKING:
    from cockpit.app.cockpit_app import CockpitApp

ROLLBACK_BINDING = Binding(
    "ctrl+r", "app.rollback", "ROLLBACK", id="rollback",
    tooltip="Roll the canary back: asks you to type the version to confirm",
)
# In the footer only once a rollback command (the canary's or the night's) has failed.
ROLL_BACK_BY_HAND_BINDING = Binding(
    "b", "rollback_by_hand", "ROLL BACK BY HAND", id="runbook-rollback",
    tooltip="The rollback command failed: the runbook for moving the traffic yourself",
)


class CockpitScreen(Screen):
    """A pane of the cockpit; the app refreshes it through show_state()."""

    # Not priority: a focused input keeps ctrl+r to itself, and the modal asks anyway.
    BINDINGS = [ROLLBACK_BINDING]

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    _by_hand = False  # a rollback command failed: `b` is offered (bindings refreshed only when this changes)

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._compositor = PartialCompositor()

    def on_screen_resume(self) -> None:
        self.show_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._by_hand if action == "rollback_by_hand" else True

    def show_state(self) -> None:
        """Repaint from the app's state (called on changes and on every clock tick)."""
        if self.cockpit.rollback_failed() != self._by_hand:
            self._by_hand = not self._by_hand
            self.refresh_bindings()
        self.cockpit.show_status(self)

    def action_rollback_by_hand(self) -> None:
        from cockpit.runbooks import ROLLBACK_BY_HAND

        self.cockpit.action_runbook(ROLLBACK_BY_HAND)
