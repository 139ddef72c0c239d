"""A checklist as a table the IC walks with j/k: status, check, result, duration."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.color import Color
from textual.widgets import DataTable

from cockpit.engine.checklist import Checklist, ChecklistItem

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SYMBOL = {"PASS": "✔", "WARN": "!", "FAIL": "▲", "UNKNOWN": "?", "SKIPPED": "-", "TODO": "○", "TICKED": "✔", "ERROR": "▲"}
THEME_COLOR = {"PASS": "text-success", "TICKED": "text-success", "WARN": "text-warning", "FAIL": "text-error",
               "ERROR": "text-error", "UNKNOWN": "text-accent", "RUNNING": "text-primary", "TODO": "text-muted",
               "SKIPPED": "text-muted"}
STATUS_W, TIME_W = 12, 7


class ChecklistTable(DataTable, inherit_bindings=False):
    """Rows are checklist items keyed by check id; enter/space/r are the screen's keys."""

    DEFAULT_CSS = """
    ChecklistTable {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_cursor=True)
        self._layout: tuple[tuple[str, ...], int] | None = None
        self._cells: dict[str, tuple[str, ...]] = {}

    def _style(self, word: str) -> Style:
        value = self.app.theme_variables.get(THEME_COLOR.get(word, "text"), "")
        try:
            return Style(color=Color.parse(value).rich_color, bold=word in ("FAIL", "ERROR", "RUNNING"))
        except Exception:  # a theme without that variable: the word and symbol still say it
            return Style(bold=True)

    @staticmethod
    def status_text(item: ChecklistItem, frame: int) -> str:
        word = item.word
        if word == "RUNNING":
            return f"{SPINNER[frame % len(SPINNER)]} RUNNING"
        return f"{SYMBOL.get(word, '?')} {word}"

    @staticmethod
    def result_text(item: ChecklistItem) -> str:
        if item.error:
            return f"worker failed: {item.error}"
        parts = []
        if item.result is not None and not (item.manual and item.result.status.value != "PASS" and item.tick):
            parts.append(item.result.summary)
        if item.tick is not None and item.tickable:
            note = f" — {item.tick.note}" if item.tick.note else ""
            parts.append(f"ticked by {item.tick.initials} at {item.tick.at[11:19]}Z{note}")
        if not parts and item.manual:
            parts.append(getattr(item.spec, "prompt", "") or "space: tick when done")
        return " · ".join(parts)

    @staticmethod
    def time_text(item: ChecklistItem, now: float) -> str:
        if item.running_since is not None:
            return f"{max(0.0, now - item.running_since):.1f}s"
        if item.result is not None and not item.manual:
            return f"{item.result.duration_s:.2f}s"
        return ""

    def show(self, checklist: Checklist, now: float, frame: int = 0) -> None:
        """Fill or update the rows; the cursor stays on the same item."""
        ids = tuple(item.id for item in checklist.items)
        width = max(40, self.size.width or 80)
        avail = width - STATUS_W - TIME_W - 9  # each column has a cell of padding either side; 1 for the scrollbar
        longest = max((len(i.title) + (11 if not i.required else 0) for i in checklist.items), default=10)
        check_w = max(12, min(longest, 34, avail // 2 - 2))  # the result is what the IC reads
        result_w = max(10, avail - check_w)
        layout = (ids, width)
        rebuild = layout != self._layout
        if rebuild:
            self._layout = layout
            self._cells.clear()
            row = self.cursor_row
            self.clear(columns=True)
            self.add_column("status", width=STATUS_W, key="status")
            self.add_column("check", width=check_w, key="check")
            self.add_column("result", width=result_w, key="result")
            self.add_column("time", width=TIME_W, key="time")
            for item in checklist.items:
                self.add_row(*self._row(item, now, frame, check_w, result_w), key=item.id)
                self._cells[item.id] = self._plain(item, now, frame)
            if self.row_count:
                self.move_cursor(row=min(row, self.row_count - 1), animate=False)
            return
        for item in checklist.items:
            plain = self._plain(item, now, frame)
            if self._cells.get(item.id) == plain:
                continue
            self._cells[item.id] = plain
            for key, cell in zip(("status", "check", "result", "time"), self._row(item, now, frame, check_w, result_w)):
                self.update_cell(item.id, key, cell)

    def _plain(self, item: ChecklistItem, now: float, frame: int) -> tuple[str, ...]:
        return (self.status_text(item, frame), item.title, self.result_text(item), self.time_text(item, now),
                str(item.required))

    def _row(self, item: ChecklistItem, now: float, frame: int, check_w: int, result_w: int) -> tuple[Text, ...]:
        title = item.title + ("" if item.required else " (optional)")
        return (
            Text(self.status_text(item, frame), style=self._style(item.word), no_wrap=True),
            Text(title, no_wrap=True, overflow="ellipsis"),
            Text(self.result_text(item), no_wrap=True, overflow="ellipsis"),
            Text(self.time_text(item, now), justify="right", no_wrap=True),
        )

    def restyle(self) -> None:
        """Re-render every row (the theme changed)."""
        self._layout = None

    @property
    def current_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return key.value
