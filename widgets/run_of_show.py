"""The run-of-show header: what phase the release is in, the next milestone, and the big T± clock."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from cockpit.engine.run_of_show import MilestoneMark, RunOfShow
from cockpit.format import format_countdown, format_offset, format_remaining

# Past milestones are marked by the clock, not by a verdict: "·", never ✔ (which would claim they passed).
_MARK = {"done": "·", "now": "▶", "next": "›", "later": ""}
# A milestone with work says how the work stands, in a symbol that reads without colour: ✔ its evidence
# exists, ! its slot is over without it. Work still due keeps the clock's mark.
_STATE = {"done": "✔", "late": "!"}


def milestone_token(mark: MilestoneMark) -> tuple[str, str]:
    """A milestone's text on the timeline and its style key."""
    symbol = _STATE.get(mark.state)
    if symbol is not None:
        return f"{symbol}{mark.milestone.label}", f"work_{mark.state}"
    return f"{_MARK[mark.mark]}{mark.milestone.label}", mark.mark


def timeline_text(show: RunOfShow, width: int, skipped: frozenset[str] = frozenset()) -> Text:
    """The milestones as one line that fits `width`: the past is dropped first, then the far future.

    `skipped` milestones (stages a rollback cut off) read ✗ whatever the clock says.
    """
    tokens = [(f"✗{m.milestone.label}", "skipped") if m.milestone.name in skipped
              else milestone_token(m) for m in show.marks]
    styles = {"done": "dim", "now": "bold reverse", "next": "bold underline", "later": "", "skipped": "dim strike",
              "work_done": "bold green", "work_late": "bold red"}
    first, last = 0, len(tokens)
    now_index = next((i for i, m in enumerate(show.marks) if m.mark in ("now", "next")), 0)

    def length(a: int, b: int) -> int:
        return sum(len(t) + 1 for t, _ in tokens[a:b]) + (2 if a > 0 else 0) + (2 if b < len(tokens) else 0)

    while length(first, last) > width and first < now_index:
        first += 1
    while length(first, last) > width and last > now_index + 1:
        last -= 1
    text = Text(no_wrap=True, overflow="ellipsis")
    if first > 0:
        text.append("… ", "dim")
    for token, mark in tokens[first:last]:
        text.append(token, styles[mark])
        text.append(" ")
    if last < len(tokens):
        text.append("…", "dim")
    return text


class RunOfShowHeader(Horizontal):
    """Three rows: label + phase, next milestone, the timeline; the countdown in big digits on the right."""

    DEFAULT_CSS = """
    RunOfShowHeader {
        height: 3;
        background: $panel;
    }
    RunOfShowHeader > #ros-text {
        width: 1fr;
        height: 3;
        padding: 0 1;
    }
    RunOfShowHeader #ros-text > Static {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    RunOfShowHeader > #ros-clock {
        width: auto;
        padding: 0 1 0 0;
        color: $text-primary;
        text-style: bold;
    }
    RunOfShowHeader.-alarm > #ros-clock {
        color: $text-error;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: dict[str, str] = {}
        self._clock = ""

    def compose(self) -> ComposeResult:
        # One Static per row: the countdown row changes every second, the others rarely (fewer bytes on the link).
        with Vertical(id="ros-text"):
            yield Static(id="ros-phase")
            yield Static(id="ros-next")
            yield Static(id="ros-timeline")
        yield Digits("--:--", id="ros-clock")

    def _line(self, part: str, text: Text) -> None:
        if self._lines.get(part) != text.markup:
            self._lines[part] = text.markup
            self.query_one(f"#{part}", Static).update(text, layout=False)

    def show(self, label: Text, phase: str, show: RunOfShow | None, alarm: bool = False, outcome: str | None = None,
             skipped: frozenset[str] = frozenset()) -> None:
        """Update from the current state; repaints only what changed. `outcome` replaces the next-milestone line."""
        self.set_class(alarm, "-alarm")
        width = max(20, self.size.width - 22)
        if show is None:
            upcoming = "T-0 not set: the timeline starts with the canary (or --t0)"
            timeline = Text("")
            clock = "--:--"
        else:
            nxt = show.next
            upcoming = (
                f"next: {nxt.name} in {format_remaining(show.until_next or 0)} ({format_offset(nxt.offset)})"
                if nxt is not None else "all milestones done"
            )
            timeline = timeline_text(show, width, skipped)
            clock = format_countdown(show.elapsed)
        if outcome:
            upcoming = outcome
        self._line("ros-phase", Text.assemble(label, " · ", (phase, "bold")))
        self._line("ros-next", Text(upcoming, no_wrap=True, overflow="ellipsis"))
        self._line("ros-timeline", timeline)
        if clock != self._clock:
            self._clock = clock
            self.query_one("#ros-clock", Digits).update(clock)
