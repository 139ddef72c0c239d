"""A yes/no question (quit during a live canary, seal the evidence, promote): y confirms, n or esc does not."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen > Vertical {
        width: 64;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $warning;
        background: $surface;
    }
    ConfirmScreen #confirm-title { text-style: bold; }
    ConfirmScreen #confirm-hint { color: $text-muted; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.question = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="confirm-title")
            yield Static(self.body, id="confirm-body")
            yield Static("y: yes · n / esc: no", id="confirm-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
