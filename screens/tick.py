"""Ticking an item: initials (2-4 letters) and an optional note (required to accept a WARN)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cockpit.engine.checklist import TickError


@dataclass(frozen=True)
class TickRequest:
    initials: str
    note: str


class TickScreen(ModalScreen[TickRequest | None]):
    DEFAULT_CSS = """
    TickScreen {
        align: center middle;
    }
    TickScreen > Vertical {
        width: 70;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        background: $surface;
    }
    TickScreen #tick-title { text-style: bold; }
    TickScreen #tick-prompt { color: $text-muted; }
    TickScreen #tick-error { color: $text-error; }
    TickScreen #tick-hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="tick-cancel")]

    def __init__(self, title: str, prompt: str, validate: Callable[[str, str], str], note_required: bool = False,
                 verb: str = "Tick") -> None:
        super().__init__()
        self.verb = verb
        self.item_title = title
        self.prompt = prompt
        self.validate = validate
        self.note_required = note_required

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.verb}: {self.item_title}", id="tick-title")
            yield Static(self.prompt, id="tick-prompt")
            yield Input(placeholder="your initials (2-4 letters)", max_length=4, restrict=r"[A-Za-z]*", id="tick-initials")
            note = "reason (required: why is this acceptable?)" if self.note_required else "note (optional)"
            yield Input(placeholder=note, max_length=500, id="tick-note")
            yield Static("", id="tick-error")
            yield Static(f"enter: record the {self.verb.lower()} · tab: next field · esc: cancel", id="tick-hint")

    def on_mount(self) -> None:
        self.query_one("#tick-initials", Input).focus()
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "options", None) is None or self.app.options.blink

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        initials = self.query_one("#tick-initials", Input).value
        note = self.query_one("#tick-note", Input).value
        try:
            checked = self.validate(initials, note)
        except TickError as exc:
            self.query_one("#tick-error", Static).update(str(exc))
            return
        self.dismiss(TickRequest(checked, note.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
