"""Signing off as a role: which role, GO or NO-GO, initials (2-4 letters) and an optional note."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RadioButton, RadioSet, Static

from cockpit.checks.ticks import validate_initials


@dataclass(frozen=True)
class SignoffRequest:
    role: str
    title: str
    go: bool
    initials: str
    note: str


class SignoffScreen(ModalScreen[SignoffRequest | None]):
    """A role signs GO or NO-GO; a NO-GO blocks GO until the same role signs again."""

    DEFAULT_CSS = """
    SignoffScreen { align: center middle; }
    SignoffScreen > Vertical {
        width: 70;
        max-width: 95%;
        height: auto;
        padding: 0 2;
        border: thick $primary;
        background: $surface;
    }
    SignoffScreen #signoff-title { text-style: bold; }
    SignoffScreen RadioSet { width: 1fr; height: auto; }
    SignoffScreen #signoff-error { color: $text-error; }
    SignoffScreen #signoff-hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="signoff-cancel")]

    def __init__(self, roles: list[tuple[str, str]]) -> None:
        super().__init__()
        self.roles = roles

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Sign off: role, GO or NO-GO, initials", id="signoff-title")
            with Horizontal(classes="-row"):
                with RadioSet(id="signoff-role"):
                    for index, (_, title) in enumerate(self.roles):
                        yield RadioButton(title, value=index == 0)
                with RadioSet(id="signoff-verdict"):
                    yield RadioButton("GO", value=True)
                    yield RadioButton("NO-GO (blocks)")
            yield Input(placeholder="your initials (2-4 letters)", max_length=4, restrict=r"[A-Za-z]*", id="signoff-initials")
            yield Input(placeholder="note (optional)", max_length=500, id="signoff-note")
            yield Static("", id="signoff-error")
            yield Static("tab: next · arrows/space: choose · enter: sign · esc: cancel", id="signoff-hint")

    def on_mount(self) -> None:
        self.query_one("#signoff-role", RadioSet).focus()
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "options", None) is None or self.app.options.blink

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            initials = validate_initials(self.query_one("#signoff-initials", Input).value)
        except ValueError:
            self.query_one("#signoff-error", Static).update("initials are 2 to 4 letters, e.g. AB")
            return
        role_index = max(0, self.query_one("#signoff-role", RadioSet).pressed_index)
        go = self.query_one("#signoff-verdict", RadioSet).pressed_index != 1
        role, title = self.roles[role_index]
        note = self.query_one("#signoff-note", Input).value.strip()
        self.dismiss(SignoffRequest(role, title, go, initials, note))

    def action_cancel(self) -> None:
        self.dismiss(None)
