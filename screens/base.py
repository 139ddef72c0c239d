"""What every cockpit pane shares: the rollback key first in its footer, the status bar, the footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.screen import Screen

if TYPE_CHECKING:
    from cockpit.app.cockpit_app import CockpitApp

ROLLBACK_BINDING = Binding(
    "ctrl+r", "app.rollback", "ROLLBACK", id="rollback",
    tooltip="Roll the canary back: asks you to type the version to confirm",
)


class CockpitScreen(Screen):
    """A pane of the cockpit; the app refreshes it through show_state()."""

    # Not priority: a focused input keeps ctrl+r to itself, and the modal asks anyway.
    BINDINGS = [ROLLBACK_BINDING]

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    def on_screen_resume(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        """Repaint from the app's state (called on changes and on every clock tick)."""
        self.cockpit.show_status(self)
