"""Text to read in a box over the cockpit (help, a check's details): j/k scroll, escape or q closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class TextModal(ModalScreen[None]):
    DEFAULT_CSS = """
    TextModal {
        align: center middle;
    }
    TextModal > VerticalScroll {
        width: 90%;
        height: 80%;
        padding: 0 1;
        border: thick $primary;
        background: $surface;
        scrollbar-size-vertical: 1;  /* at 80 columns every column is text's */
    }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="text-close"),
        Binding("j,down", "scroll_down", "Down", show=False),
        Binding("k,up", "scroll_up", "Up", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text, markup=False)  # check output and names are not markup

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up(animate=False)
