"""A one-line note for the war-room log: opened with `n`, enter sends it, esc closes it."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

MAX_NOTE = 300


class NoteInput(Input):
    DEFAULT_CSS = """
    NoteInput {
        display: none;
        height: 3;
        border: tall $primary;
    }
    NoteInput.-open {
        display: block;
    }
    """

    BINDINGS = [Binding("escape", "close", "Cancel note", id="note-cancel")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="note for the war-room log — enter sends, esc cancels", max_length=MAX_NOTE, id=id)

    def open(self) -> None:
        self.value = ""
        self.add_class("-open")
        self.focus()

    def action_close(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.screen.set_focus(None)
