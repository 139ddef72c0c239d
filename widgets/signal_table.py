"""The golden signals, one row each, in the configured order (signals the run reports beyond it follow).

One widget draws all the rows (not a widget per row): every row changes with every sample, and each
widget repainted costs its own style walk, region lookups and content pipeline, more than the row's text.
A row's status picks its parts' component styles (signal-rows--status-fail …), so a status change is a
style lookup, not a restyle. The table around it scrolls when there are more signals than rows.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from cockpit.views.canary import CanaryView, SignalView, signal_status
from cockpit.views.face import SignalFace
from cockpit.widgets.part_styles import PartStyles
from cockpit.widgets.signal_row import PARTS, SignalLine

STATUSES = ("pass", "warn", "fail", "unknown", "stale")
# The parts a status draws differently; any other part keeps its own style.
VARIANTS = {
    **{("status", status): f"status-{status}" for status in STATUSES},
    ("value", "fail"): "value-fail", ("history", "fail"): "history-fail", ("history", "warn"): "history-warn",
    **{(part, status): f"{part}-muted" for part in ("value", "history") for status in ("stale", "unknown")},
}


class SignalRows(Widget):
    """The header and one line per signal, drawn by one widget."""

    COMPONENT_CLASSES = {
        *(f"signal-rows--{part}" for part in PARTS),
        *(f"signal-rows--{variant}" for variant in VARIANTS.values()),
        "signal-rows--header", "signal-rows--name-dry",
    }

    DEFAULT_CSS = """
    SignalRows { height: auto; }
    SignalRows > .signal-rows--name { color: $text; }
    SignalRows > .signal-rows--name-dry { color: $text; text-style: italic; }
    SignalRows > .signal-rows--value { color: $text; }
    SignalRows > .signal-rows--limit { color: $text-muted; }
    SignalRows > .signal-rows--history { color: $text-primary; }
    SignalRows > .signal-rows--status { text-style: bold; }
    SignalRows > .signal-rows--header { color: $text-muted; text-style: bold; }
    SignalRows > .signal-rows--status-pass { color: $text-success; text-style: bold; }
    SignalRows > .signal-rows--status-warn { color: $text-warning; text-style: bold; }
    SignalRows > .signal-rows--history-warn { color: $text-warning; }
    SignalRows > .signal-rows--status-fail { color: $text-error; text-style: bold reverse; }
    SignalRows > .signal-rows--value-fail, SignalRows > .signal-rows--history-fail { color: $text-error; }
    SignalRows > .signal-rows--status-unknown { color: $text-accent; text-style: bold; }
    SignalRows > .signal-rows--status-stale { color: $text-secondary; text-style: bold italic; }
    SignalRows > .signal-rows--value-muted, SignalRows > .signal-rows--history-muted { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[SignalLine] = [SignalLine("", header=True)]
        self._part_styles = PartStyles(self)
        self._frame: tuple[int, dict[str, Style]] = (0, {})
        self._hover: int | None = None

    def add(self, line: SignalLine) -> None:
        self.lines.append(line)
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines)

    def repaint(self, changed: list[int]) -> None:
        """One refresh for the lines from the first to the last that changed (each refresh walks the regions)."""
        if changed:
            self.refresh(Region(0, changed[0], self.size.width, changed[-1] - changed[0] + 1))
        self._show_tooltip()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = (self.size.width, self._part_styles.now())  # once a repaint, not once a line
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width, styles = self._frame
        base = styles[""]
        if y >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[y]
        segments = []
        for text, part in line.texts(width):
            if part is None:
                style = base
            elif line.header:
                style = styles["limit" if part == "limit" else "header"]
            elif part == "name" and line.dry:
                style = styles["name-dry"]
            else:
                style = styles[VARIANTS.get((part, line.status), part)]
            segments.append(Segment(text, style))
        return Strip(segments).adjust_cell_length(width, base)

    # The line under the mouse explains itself (a widget has one tooltip).
    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover = event.y
        self._show_tooltip()

    def on_leave(self) -> None:
        self._hover = None

    def _show_tooltip(self) -> None:
        detail = self.lines[self._hover].detail if self._hover is not None and self._hover < len(self.lines) else None
        if detail != self.tooltip:
            self.tooltip = detail


class SignalTable(VerticalScroll):
    DEFAULT_CSS = """
    SignalTable {
        height: auto;
        max-height: 12;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, signals: dict[str, SignalFace], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.signal_configs = signals
        self._drawn = SignalRows()
        self._rows: dict[str, SignalLine] = {}
        for name, config in signals.items():
            self._add(name, self._title(name, config))

    def compose(self) -> ComposeResult:
        yield self._drawn

    def _add(self, name: str, title: str) -> None:
        self._rows[name] = line = SignalLine(title)
        self._drawn.add(line)

    @staticmethod
    def _title(name: str, face: SignalFace | None) -> str:
        return (face.short or name) if face is not None else name

    def show(self, view: CanaryView, now: float, stale_after: float) -> None:
        """Repaint the lines whose reading, status or history changed."""
        for name in view.signals:
            if name not in self._rows:
                self._add(name, name)
        changed = []
        for y, (name, line) in enumerate(self._rows.items(), start=1):
            signal = view.signals.get(name)
            mark = signal_status(signal if signal is not None else SignalView(name), now, stale_after)
            if line.show(signal, self.signal_configs.get(name), mark):
                changed.append(y)
        self._drawn.repaint(changed)

    def statuses(self) -> dict[str, str]:
        """Each row's status text as shown (for tests and the help text)."""
        return {name: line.cells.get("status", "") for name, line in self._rows.items()}
