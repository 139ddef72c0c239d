"""One golden signal on one line: name, value with unit, limit, history bars, and a status that reads without colour.

A single widget per row (not a row of Labels): the war room stays at a few dozen
widgets, so the first screen and every restyle are quick. The parts are styled
through component classes with theme variables; the row's status is also a CSS
class (status-pass …) for themes and tests.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from cockpit.format import MISSING, format_limit, format_value
from cockpit.views.canary import SignalView, StatusMark
from cockpit.widgets.state_classes import set_state_classes

STATUS_CLASSES = ("status-pass", "status-warn", "status-fail", "status-unknown", "status-stale")
NAME_W, VALUE_W, LIMIT_W, STATUS_W = 15, 9, 9, 13
FIXED_W = 1 + NAME_W + VALUE_W + 1 + LIMIT_W + 1 + 1 + STATUS_W + 1


BARS = "▁▂▃▄▅▆▇█"


def bars(values: list[float], ceiling: float | None, width: int) -> str:
    """The last `width` values as bars against the limit (a full bar is the limit), newest on the right.

    Textual's Sparkline scales between the data's own min and max, which makes a flat,
    healthy signal look wild; measured against its limit the IC sees the headroom.
    """
    recent = values[-width:] if width > 0 else []
    if not recent:
        return ""
    top = ceiling if ceiling is not None and ceiling > 0 else max(max(recent), 1e-12)
    out = []
    for value in recent:
        share = 0.0 if value <= 0 else min(1.0, value / top)
        out.append(BARS[min(len(BARS) - 1, int(share * (len(BARS) - 1) + 0.5))])
    return "".join(out).rjust(width)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class SignalRow(Widget):
    COMPONENT_CLASSES = {
        "signal-row--name", "signal-row--value", "signal-row--limit", "signal-row--history", "signal-row--status",
    }

    DEFAULT_CSS = """
    SignalRow {
        height: 1;
    }
    SignalRow > .signal-row--name { color: $text; }
    SignalRow > .signal-row--value { color: $text; }
    SignalRow > .signal-row--limit { color: $text-muted; }
    SignalRow > .signal-row--history { color: $text-primary; }
    SignalRow > .signal-row--status { text-style: bold; }
    SignalRow.-header > .signal-row--name, SignalRow.-header > .signal-row--value,
    SignalRow.-header > .signal-row--history, SignalRow.-header > .signal-row--status {
        color: $text-muted;
        text-style: bold;
    }
    SignalRow.status-pass > .signal-row--status { color: $text-success; }
    SignalRow.status-warn > .signal-row--status { color: $text-warning; }
    SignalRow.status-warn > .signal-row--history { color: $text-warning; }
    SignalRow.status-fail > .signal-row--status { color: $text-error; text-style: bold reverse; }
    SignalRow.status-fail > .signal-row--value, SignalRow.status-fail > .signal-row--history { color: $text-error; }
    SignalRow.status-unknown > .signal-row--status { color: $text-accent; }
    SignalRow.status-stale > .signal-row--status { color: $text-secondary; text-style: bold italic; }
    SignalRow.status-stale > .signal-row--value, SignalRow.status-unknown > .signal-row--value,
    SignalRow.status-stale > .signal-row--history, SignalRow.status-unknown > .signal-row--history {
        color: $text-muted;
    }
    SignalRow.-dry-run > .signal-row--name { text-style: italic; }
    """

    def __init__(self, name: str, title: str, *, header: bool = False) -> None:
        super().__init__(classes="-header" if header else "status-unknown")
        self.signal_name = name
        self.title = title
        self.header = header
        self._samples = -1
        self._history: tuple[float, ...] = ()
        self._ceiling: float | None = None
        self._parts: dict[str | None, Style] | None = None
        self._parts_key: tuple[Any, ...] = ()
        self._cells: dict[str, str] = (
            {"name": "signal", "value": "value", "limit": "limit", "history": "history", "status": "status"}
            if header else {"name": title, "value": MISSING, "limit": MISSING, "status": "? UNKNOWN"}
        )

    def show(self, signal: SignalView | None, config: Any, mark: StatusMark) -> None:
        """Repaint when something shown changed; the history bars are rebuilt only on a new sample."""
        changed = False
        unit = (signal.unit if signal is not None and signal.unit else getattr(config, "unit", "")) or ""
        dry = bool(signal.dry_run if signal is not None else getattr(config, "dry_run", False))
        set_state_classes(self, (*STATUS_CLASSES, "-dry-run"), [mark.css_class] + (["-dry-run"] if dry else []))
        if signal is None:
            value = MISSING
        elif mark.word == "STALE":
            value = format_value(signal.last_good_value, unit)  # the last real value, greyed by its status
        else:
            value = format_value(signal.value, unit)
        cells = {
            "name": self.title + (" ~dry" if dry else ""),
            "value": value,
            "limit": format_limit(signal.limit if signal is not None else None, unit, config),
            "status": mark.text,
        }
        if cells != self._cells:
            self._cells = cells
            changed = True
        samples = signal.samples if signal is not None else 0
        if samples != self._samples:
            self._samples = samples
            self._history = tuple(signal.sparkline_data()) if signal is not None else ()
            self._ceiling = signal.limit if signal is not None and signal.limit else getattr(config, "max", None)
            changed = True
        self.tooltip = mark.detail or None
        if changed:
            self.refresh()

    def _styles_now(self) -> dict[str | None, Style]:
        """The row's base style plus each part's, looked up again only when one of them changed.

        A part's lookup walks the CSS of the row and its ancestors: five per repaint were most of a repaint's
        cost. The key holds the style objects Textual made for the parts (new ones on every restyle: a status
        class, a theme) and the base style (the ancestors' background), so nothing stale is ever drawn.
        """
        base = self.rich_style
        key = (base, *self._component_styles.values())
        if self._parts is None or len(key) != len(self._parts_key) or any(
                new is not old for new, old in zip(key[1:], self._parts_key[1:])) or key[0] != self._parts_key[0]:
            self._parts_key = key
            self._parts = {None: base, **{part: base + self.get_component_rich_style(f"signal-row--{part}")
                                          for part in ("name", "value", "limit", "history", "status")}}
        return self._parts

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        styles = self._styles_now()
        base = styles[None]
        if y != 0:
            return Strip.blank(width, base)
        spark_w = max(4, width - FIXED_W)
        cells = self._cells
        if self.header:
            history = clip(cells["history"], spark_w).ljust(spark_w)
        else:
            history = bars(list(self._history), self._ceiling, spark_w).ljust(spark_w)
        parts = [
            (" ", None),
            (clip(cells["name"], NAME_W).ljust(NAME_W), "name"),
            (clip(cells["value"], VALUE_W).rjust(VALUE_W), "value"),
            (" ", None),
            (clip(cells["limit"], LIMIT_W).ljust(LIMIT_W), "limit"),
            (" ", None),
            (history, "history"),
            (" ", None),
            (clip(cells["status"], STATUS_W).ljust(STATUS_W), "status"),
            (" ", None),
        ]
        segments = [Segment(text, styles[part]) for text, part in parts]
        return Strip(segments).adjust_cell_length(width, base)

    def status_text(self) -> str:
        return self._cells.get("status", "")
