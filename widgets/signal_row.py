"""What one golden signal's row says: name, value with unit, limit, history bars, and a status that reads
without colour. Plain data and text: the signal table (one widget) draws the rows and styles their parts.
"""

from __future__ import annotations

from collections.abc import Reversible
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from cockpit.format import MISSING, format_limit, format_value
from cockpit.views.canary import SignalView, StatusMark

NAME_W, VALUE_W, LIMIT_W, STATUS_W = 15, 9, 9, 13
FIXED_W = 1 + NAME_W + VALUE_W + 1 + LIMIT_W + 1 + 1 + STATUS_W + 1
PARTS = ("name", "value", "limit", "history", "status")
HEADER = {"name": "signal", "value": "value", "limit": "limit", "history": "history", "status": "status"}

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


def recent_values(history: Reversible[tuple[float, float | None]], count: int) -> list[float]:
    """The newest `count` real values of a history (BLIND gaps left out), oldest first."""
    values = list(islice((v for _, v in reversed(history) if v is not None), count))
    values.reverse()
    return values


@dataclass
class SignalLine:
    """One row as shown: its cells' text, the history its bars draw, its status (a CSS-like word) and tooltip."""

    title: str
    header: bool = False
    cells: dict[str, str] = field(default_factory=dict)
    status: str = "unknown"  # pass / warn / fail / unknown / stale
    dry: bool = False
    detail: str | None = None
    samples: int = -1
    history: Reversible[tuple[float, float | None]] = ()
    ceiling: float | None = None

    def __post_init__(self) -> None:
        if not self.cells:
            self.cells = dict(HEADER) if self.header else {
                "name": self.title, "value": MISSING, "limit": MISSING, "status": "? UNKNOWN"}

    def show(self, signal: SignalView | None, config: Any, mark: StatusMark) -> bool:
        """Take the signal's latest reading; True when something the row draws changed."""
        unit = (signal.unit if signal is not None and signal.unit else getattr(config, "unit", "")) or ""
        dry = bool(signal.dry_run if signal is not None else getattr(config, "dry_run", False))
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
        status = mark.css_class.removeprefix("status-")
        self.detail = mark.detail or None
        changed = (cells, status, dry) != (self.cells, self.status, self.dry)
        self.cells, self.status, self.dry = cells, status, dry
        samples = signal.samples if signal is not None else 0
        history = signal.history if signal is not None else ()
        if samples != self.samples or history is not self.history:
            self.samples, self.history = samples, history
            self.ceiling = signal.limit if signal is not None and signal.limit else getattr(config, "max", None)
            changed = True
        return changed

    def texts(self, width: int) -> list[tuple[str, str | None]]:
        """The row's text in `width` columns, part by part (None: a separating space)."""
        spark_w = max(4, width - FIXED_W)
        cells = self.cells
        if self.header:
            history = clip(cells["history"], spark_w).ljust(spark_w)
        else:
            history = bars(recent_values(self.history, spark_w), self.ceiling, spark_w).ljust(spark_w)
        return [
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
