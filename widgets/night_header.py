"""The first-night header: the night's phase, the next hourly summary, one mark per hour, and the big countdown."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

# One mark per hour: closed hours by their status symbol; ▶ the open hour; · to come; ? past and not closed.
STRIP_STYLES = {"pass": "", "warn": "bold", "fail": "bold reverse", "unknown": "bold", "now": "bold underline",
                "missing": "bold", "later": "dim"}


def strip_text(marks: list[tuple[str, str]]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("hours ", "bold")
    for mark, kind in marks:
        text.append(mark, STRIP_STYLES.get(kind, ""))
    return text


class NightHeader(Horizontal):
    """Three rows (what the night is doing, the next summary, the hours) and the countdown to the next summary."""

    DEFAULT_CSS = """
    NightHeader {
        height: 3;
        background: $panel;
    }
    NightHeader > #nh-text {
        width: 1fr;
        height: 3;
        padding: 0 1;
    }
    NightHeader #nh-text > Static {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    NightHeader > #nh-clock {
        width: auto;
        padding: 0 1 0 0;
        color: $text-primary;
        text-style: bold;
    }
    NightHeader.-alarm > #nh-clock, NightHeader.-overdue > #nh-clock {
        color: $text-error;
    }
    NightHeader.-overdue #nh-next {
        color: $text-error;
        text-style: bold;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: dict[str, str] = {}
        self._clock = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="nh-text"):
            yield Static(id="nh-title")
            yield Static(id="nh-next")
            yield Static(id="nh-strip")
        yield Digits("--:--", id="nh-clock")

    def _line(self, part: str, text: Text) -> None:
        if self._lines.get(part) != text.markup:
            self._lines[part] = text.markup
            self.query_one(f"#{part}", Static).update(text, layout=False)

    @property
    def strip_width(self) -> int:
        """How many hour marks fit beside the clock."""
        return max(8, self.size.width - 22 - len("hours "))

    def show(self, title: Text, upcoming: str, marks: list[tuple[str, str]], clock: str, *, alarm: bool = False,
             overdue: bool = False) -> None:
        self.set_class(alarm, "-alarm")
        self.set_class(overdue, "-overdue")
        self._line("nh-title", title)
        self._line("nh-next", Text(upcoming, no_wrap=True, overflow="ellipsis"))
        self._line("nh-strip", strip_text(marks))
        if clock != self._clock:
            self._clock = clock
            self.query_one("#nh-clock", Digits).update(clock)
