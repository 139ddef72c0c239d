"""The rollback confirmation: type the release version to roll it back; esc cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class RollbackConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    RollbackConfirmScreen {
        align: center middle;
    }
    RollbackConfirmScreen > Vertical {
        width: 64;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $error;
        background: $surface;
    }
    RollbackConfirmScreen #rb-title {
        text-style: bold;
        color: $text-error;
    }
    RollbackConfirmScreen #rb-error {
        color: $text-error;
        height: auto;
    }
    RollbackConfirmScreen #rb-hint {
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rollback-cancel")]

    def __init__(self, version: str, situation: str) -> None:
        super().__init__()
        self.version = version
        self.situation = situation

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"▲ ROLL BACK {self.version}", id="rb-title")
            yield Static(self.situation, id="rb-situation")
            yield Static(f"Type {self.version} and press enter to roll back.", id="rb-ask")
            yield Input(placeholder=self.version, id="rb-input", max_length=len(self.version) + 20)
            yield Static("", id="rb-error")
            yield Static("esc: cancel, nothing is sent", id="rb-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "options", None) is None or self.app.options.blink

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == self.version:
            self.dismiss(True)
            return
        typed = event.value.strip() or "nothing"
        self.query_one("#rb-error", Static).update(f"{typed!r} is not {self.version}: nothing was sent. Type it exactly.")
        event.input.value = ""

    def action_cancel(self) -> None:
        self.dismiss(False)
