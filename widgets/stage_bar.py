"""The stage bar: 1→5→25→50→100 % with the current stage, its time left and any hold.

A widget that draws its one line (not a Static): the time left changes every second, and a Static parses
its text into content, measures and lays it out on every update.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from cockpit.format import format_clock, format_remaining, format_weight
from cockpit.views.canary import CanaryView

BAR = 10


def stage_bar_text(view: CanaryView, weights: list[float], now: float, max_holds: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Stages ", "bold")
    for index, weight in enumerate(weights, 1):
        label = format_weight(weight)
        if index in view.stages_passed or (view.result == "promoted" and view.stage is not None and index <= view.stage):
            text.append(f"✔{label}", "dim")
        elif index == view.stage:
            text.append(f"▶{label}", "bold reverse")
        else:
            text.append(f"·{label}")
        text.append(" ")
    left = view.time_left(now)
    if view.phase == "rolling_back":
        text.append(f" ROLLING BACK at {format_weight(view.weight)}", "bold reverse")
    elif view.result is not None or view.phase in ("rolled_back", "rollback_failed"):
        text.append(f" {view.phase.replace('_', ' ').upper()}", "bold")
    elif left is not None and view.stage_started_at is not None and view.ends_at is not None:
        span = max(1.0, view.ends_at - view.stage_started_at)
        filled = round(BAR * min(1.0, max(0.0, (now - view.stage_started_at) / span)))
        text.append(" " + "█" * filled + "░" * (BAR - filled) + " ")
        text.append(f"{format_remaining(left)} left ", "bold")
        if view.phase == "holding":
            until = format_clock(view.hold_until) if view.hold_until is not None else "resume"
            text.append(f"· HOLD→{until} ({view.holds_used}/{max_holds})", "bold reverse")
        else:
            text.append(f"· holds {view.holds_used}/{max_holds}")
    elif not view.started:
        text.append(" not started", "dim")
    return text


class StageBar(Widget):
    DEFAULT_CSS = """
    StageBar {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    StageBar.-holding {
        color: $text-warning;
    }
    StageBar.-rolling-back, StageBar.-rollback-failed {
        color: $text-error;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()

    def show(self, view: CanaryView, weights: list[float], now: float, max_holds: int) -> None:
        text = stage_bar_text(view, view.stage_weights() or weights, now, max_holds)
        for phase in ("holding", "rolling_back", "rollback_failed"):
            self.set_class(view.phase == phase, f"-{phase.replace('_', '-')}")
        if text != self._text:  # its text and its styles' spans
            self._text = text
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y != 0:
            return Strip.blank(width, base)
        text = self._text.copy()
        text.truncate(width, overflow="ellipsis")
        pad = Style(bgcolor=base.bgcolor)  # as a Static pads: the background, no colour on blank cells
        return Strip(Segment.apply_style(text.render(self.app.console, end=""), base)).adjust_cell_length(width, pad)
