"""The first night's hours, one row each: the hour, its worst status, live or back-filled, the triggers that fired.

One widget drawing lines (Textual's line API) rather than a widget per row: a
week-long night is 168 rows and the screen stays a few dozen widgets. The
header row stays put; the rows scroll (j/k), and follow the newest hour while
the view is at the bottom.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.views.night import HourLine
from cockpit.widgets.signal_row import clip

HOUR_W, MARK_W, SOURCE_W = 4, 15, 19
HEADER = HourLine("hh", "worst", "header", "source", "triggers fired")


class HourTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "hour-table--header", "hour-table--pass", "hour-table--warn", "hour-table--fail", "hour-table--unknown",
        "hour-table--open", "hour-table--rollback",
    }

    DEFAULT_CSS = """
    HourTable {
        height: 1fr;
        min-height: 3;
        background: $surface;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    HourTable > .hour-table--header { color: $text-muted; text-style: bold; }
    HourTable > .hour-table--pass { color: $text-success; }
    HourTable > .hour-table--warn { color: $text-warning; }
    HourTable > .hour-table--fail { color: $text-error; text-style: bold; }
    HourTable > .hour-table--unknown { color: $text-accent; }
    HourTable > .hour-table--open { color: $text-primary; }
    HourTable > .hour-table--rollback { color: $text-error; text-style: bold reverse; }
    """

    def __init__(self, *, empty: str = "no hour closed yet", id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[HourLine] = []
        self.empty = empty
        self._follow = True  # the newest hour stays in view until the reader scrolls up

    def show(self, rows: list[HourLine], empty: str) -> None:
        """Repaint when the rows changed; keeps following the newest hour if the view was at the bottom."""
        if rows == self.rows and empty == self.empty:
            return
        if self.size.height:
            self._follow = self.scroll_offset.y >= self.max_scroll_y
        self.rows = list(rows)
        self.empty = empty
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        if self._follow:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        if self._follow:
            self.scroll_end(animate=False, immediate=True)

    def _style(self, kind: str) -> Style:
        return self.get_component_rich_style(f"hour-table--{kind}")

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._row(HEADER, width, base)
        index = self.scroll_offset.y + y - 1
        if not self.rows:
            if y == 1:
                return Strip([Segment(clip(f" {self.empty}", width).ljust(width), base + self._style("unknown"))])
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        return self._row(self.rows[index], width, base)

    def _row(self, row: HourLine, width: int, base: Style) -> Strip:
        kind = row.kind if row.kind in ("header", "pass", "warn", "fail", "unknown", "open") else "unknown"
        mark = base + self._style(kind)
        text = base + self._style("header") if kind == "header" else base
        fired_w = max(4, width - (1 + HOUR_W + MARK_W + 1 + SOURCE_W + 1))
        fired = row.fired
        segments = [
            Segment(" " + clip(row.hour, HOUR_W).ljust(HOUR_W), text),
            Segment(clip(row.mark, MARK_W).ljust(MARK_W), mark),
            Segment(" " + clip(row.source, SOURCE_W).ljust(SOURCE_W) + " ", text),
        ]
        if row.rollback:
            label = f" {row.rollback} "
            fired = clip(fired, max(0, fired_w - len(label) - 1))
            segments += [Segment(fired + " ", text), Segment(label, base + self._style("rollback"))]
        else:
            segments.append(Segment(clip(fired, fired_w), text))
        return Strip(segments).adjust_cell_length(width, base)
