"""The status bar: mode (LIVE / DRILL / READ-ONLY), the release, journal freshness, the rollback key, the time.

One widget drawing its one line (not a row of Statics): the bar changes every
second, and four widgets each with its own content pipeline cost more to repaint,
mount and style than the line itself. Its parts are component classes, so the
mode and an alert change a style lookup, not the classes of a widget (no restyle).
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from cockpit.widgets.part_styles import PartStyles

MODE_PARTS = {"LIVE": "live", "DRILL": "drill", "READ-ONLY": "readonly"}
ROLLBACK_KEY = "^r ROLLBACK"
CLOCK_W = 11


class StatusBar(Widget):
    COMPONENT_CLASSES = {
        "status-bar--live", "status-bar--drill", "status-bar--readonly", "status-bar--idle",
        "status-bar--alert", "status-bar--rollback", "status-bar--clock",
    }

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
    }
    StatusBar > .status-bar--live, StatusBar > .status-bar--idle { text-style: bold; background: $primary; color: $text; }
    StatusBar > .status-bar--drill { text-style: bold; background: $warning; color: $background; }
    StatusBar > .status-bar--readonly { text-style: bold; background: $secondary; color: $background; }
    StatusBar > .status-bar--alert { color: $text-error; text-style: bold; }
    StatusBar > .status-bar--rollback { text-style: bold; background: $error; color: $text; }
    StatusBar > .status-bar--clock { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = ""
        self.info = ""
        self.clock = ""
        self.rollback_key = True
        self.alert = False
        self._part_styles = PartStyles(self)

    def show(self, mode: str, info: str, clock: str, *, rollback_key: bool, alert: bool = False) -> None:
        """mode is LIVE / DRILL / READ-ONLY / IDLE; the rollback key shows whenever it exists."""
        shown = (mode, info, clock, rollback_key, alert)
        if shown != (self.mode, self.info, self.clock, self.rollback_key, self.alert):
            self.mode, self.info, self.clock, self.rollback_key, self.alert = shown
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        styles = self._part_styles.now()
        base = styles[""]
        if y != 0:
            return Strip.blank(width, base)
        left = [Segment(f" {self.mode} ", styles[MODE_PARTS.get(self.mode, "idle")])]
        right = [Segment(f" {ROLLBACK_KEY} ", styles["rollback"])] if self.rollback_key else []
        right.append(Segment(f" {self.clock}".ljust(CLOCK_W), styles["clock"]))
        room = width - sum(segment.cell_length for segment in (*left, *right)) - 2  # a space each side
        info = self.info if cell_len(self.info) <= room else set_cell_size(self.info, max(0, room - 1)) + "…"
        left.append(Segment(f" {set_cell_size(info, max(0, room))} ", styles["alert"] if self.alert else base))
        return Strip([*left, *right]).adjust_cell_length(width, base)
