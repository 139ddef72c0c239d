"""A runbook over the cockpit: Textual's MarkdownViewer in a modal, opened from the step that needs it.

A failed rollback opens "roll back by hand" (the war room's `b`), a FAIL's detail
opens its check's runbook (`r`). The Markdown widgets are imported when the
screen is composed, not with the cockpit: the first screen's start-up does not
pay for them (bench/tui.py measures it).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.runbooks import Runbook


class RunbookScreen(ModalScreen[None]):
    """One runbook to read: j/k scroll, escape or q closes."""

    DEFAULT_CSS = """
    RunbookScreen {
        align: center middle;
    }
    RunbookScreen > Vertical {
        width: 96%;
        height: 96%;
        border: thick $error;
        background: $surface;
    }
    RunbookScreen #runbook-head {
        height: 1;
        padding: 0 1;
        background: $error;
        color: $text;
        text-style: bold;
    }
    RunbookScreen MarkdownViewer {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="runbook-close"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
        Binding("space,pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
    ]

    def __init__(self, runbook: Runbook) -> None:
        super().__init__()
        self.runbook = runbook

    def compose(self) -> ComposeResult:
        from textual.widgets import MarkdownViewer  # lazily: the Markdown widgets cost start-up time

        where = "" if self.runbook.source == "shipped" else f" · {self.runbook.source}"
        with Vertical():
            yield Static(f"RUNBOOK {self.runbook.name}{where} · j/k scroll · q closes", id="runbook-head", markup=False)
            yield MarkdownViewer(self.runbook.text, show_table_of_contents=False, open_links=False)

    def _viewer(self):  # type: ignore[no-untyped-def]
        from textual.widgets import MarkdownViewer

        return self.query_one(MarkdownViewer)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, lines: int) -> None:
        viewer = self._viewer()
        viewer.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        viewer = self._viewer()
        viewer.scroll_relative(y=pages * max(1, viewer.size.height - 2), animate=False)
