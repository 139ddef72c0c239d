"""The runs in the state database, one row each: what `cockpit runs` prints, fitted to the pane's width.

It draws what the runs screen hands it (cells and a kind per row, a note over
them) and reads nothing itself: the screen's worker reads the database. The
note says what the rows are: read when, or that they cannot be read (no
`[state] dsn`, the database away), so an empty table never passes for "no
runs". Textual's line API, like HourTable: one widget, rows scroll with j/k.
"""

from __future__ import annotations

import textwrap

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.widgets.signal_row import clip

HEADER = ("SERVICE", "VERSION", "STAGE", "WEIGHT", "DECISION", "STATE", "HOLDER", "LEASE")
HOLDER = HEADER.index("HOLDER")
# Widest a column gets before it is clipped (…); the holder takes what is left of the width.
MAX_WIDTH = (12, 16, 5, 6, 10, 18, 40, 18)
ROW_KINDS = ("live", "done", "attention", "unheld")
NOTE_KINDS = ("ok", "stale", "unknown")


class RunsTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "runs-table--header", "runs-table--live", "runs-table--done", "runs-table--attention", "runs-table--unheld",
        "runs-table--note-ok", "runs-table--note-stale", "runs-table--note-unknown",
    }

    DEFAULT_CSS = """
    RunsTable {
        height: 1fr;
        min-height: 3;
        background: $surface;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    RunsTable > .runs-table--header { color: $text-muted; text-style: bold; }
    RunsTable > .runs-table--live { color: $text-primary; }
    RunsTable > .runs-table--done { color: $text; }
    RunsTable > .runs-table--attention { color: $text-error; text-style: bold; }
    RunsTable > .runs-table--unheld { color: $text-warning; }
    RunsTable > .runs-table--note-ok { color: $text-muted; }
    RunsTable > .runs-table--note-stale { color: $text-warning; text-style: bold; }
    RunsTable > .runs-table--note-unknown { color: $text-accent; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.note = "? reading the state database…"
        self.note_kind = "unknown"
        self.rows: list[tuple[tuple[str, ...], str]] = []  # (cells in HEADER's order, kind)
        self.compact: list[tuple[str, ...]] = []  # the same rows in fewer characters, for a narrow pane
        self._wrapped: tuple[str, int, list[str]] = ("", -1, [])

    def show(self, note: str, note_kind: str, rows: list[tuple[tuple[str, ...], str]],
             compact: list[tuple[str, ...]] | None = None) -> None:
        """Repaint when anything changed (a read that found the same runs draws nothing)."""
        compact = list(compact) if compact is not None else [cells for cells, _kind in rows]
        if (note, note_kind, rows, compact) == (self.note, self.note_kind, self.rows, self.compact):
            return
        self.note, self.note_kind, self.rows, self.compact = note, note_kind, list(rows), compact
        self._size_to_content()
        self.refresh()

    def on_resize(self) -> None:
        self._size_to_content()

    def note_lines(self, width: int) -> list[str]:
        """The note wrapped to the pane: why the database cannot be read is read whole, never clipped."""
        if self._wrapped[:2] != (self.note, width):  # render_line asks once per line: wrap once per change
            lines = textwrap.wrap(f" {self.note}", max(10, width), subsequent_indent="   ") or [""]
            self._wrapped = (self.note, width, lines)
        return self._wrapped[2]

    def _size_to_content(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.note_lines(self.size.width)) + 1 + len(self.rows))

    def _style(self, kind: str) -> Style:
        return self.get_component_rich_style(f"runs-table--{kind}")

    def layout(self, width: int) -> tuple[list[tuple[str, ...]], list[int]]:
        """The rows to draw (the compact ones when the full ones do not fit) and each column's width.

        A column is as wide as its content up to MAX_WIDTH; the holder takes the rest (at least its header).
        """
        full = [row for row, _kind in self.rows]
        widths = self._widths(full, width)
        if sum(widths) + len(HEADER) > width or widths[HOLDER] < max(len(r[HOLDER]) for r in full):
            full = self.compact
            widths = self._widths(full, width)
        return full, widths

    @staticmethod
    def _widths(rows: list[tuple[str, ...]], width: int) -> list[int]:
        cells = [HEADER, *rows]
        widths = [min(MAX_WIDTH[i], max(len(c[i]) for c in cells)) for i in range(len(HEADER))]
        others = sum(w for i, w in enumerate(widths) if i != HOLDER) + len(HEADER)  # one space before each column
        widths[HOLDER] = max(len(HEADER[HOLDER]), min(widths[HOLDER], width - others))
        return widths

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        note = self.note_lines(width)
        if y < len(note):
            kind = self.note_kind if self.note_kind in NOTE_KINDS else "unknown"
            return Strip([Segment(clip(note[y], width), base + self._style(f"note-{kind}"))]).adjust_cell_length(
                width, base)
        if not self.rows:
            return Strip.blank(width, base)
        drawn, widths = self.layout(width)
        if y == len(note):
            return self._row(HEADER, widths, width, base + self._style("header"))
        index = self.scroll_offset.y + y - len(note) - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        kind = self.rows[index][1]
        return self._row(drawn[index], widths, width, base + self._style(kind if kind in ROW_KINDS else "unheld"))

    @staticmethod
    def _row(cells: tuple[str, ...], widths: list[int], width: int, style: Style) -> Strip:
        text = "".join(" " + clip(cell, w).ljust(w) for cell, w in zip(cells, widths))
        return Strip([Segment(clip(text, width), style)]).adjust_cell_length(width, style)
