"""The run-of-show header: what phase the release is in, the next milestone, and the big T± clock."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.renderables.digits import DIGITS, DIGITS3X3_BOLD, Digits
from textual.strip import Strip
from textual.widget import Widget

from cockpit.engine.run_of_show import MilestoneMark, RunOfShow
from cockpit.format import format_countdown, format_offset, format_remaining
from cockpit.widgets.part_styles import PartStyles

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


def big_digits(text: str) -> tuple[str, str, str]:
    """`text` in Textual's 3x3 bold digits (as its Digits widget draws them): three rows of equal width."""
    rows: tuple[list[str], list[str], list[str]] = ([], [], [])
    for character in text.translate(Digits.REPLACEMENTS):
        position = DIGITS.index(character) * 3 if character in DIGITS else -1
        for row, piece in zip(rows, (" ", " ", character) if position < 0 else
                              (DIGITS3X3_BOLD[position + i].ljust(3) for i in range(3))):
            row.append(piece)
    top, middle, bottom = ("".join(row) for row in rows)
    return top, middle, bottom


class RunOfShowHeader(Widget):
    """Three rows: label + phase, next milestone, the timeline; the countdown in big digits on the right.

    One widget that draws its rows (not a column of Statics beside a Digits): the countdown changes every
    second, and a row is repainted only when its text or its slice of the digits changed.
    """

    COMPONENT_CLASSES = {"run-of-show--clock", "run-of-show--alarm"}

    DEFAULT_CSS = """
    RunOfShowHeader {
        height: 3;
        background: $panel;
    }
    RunOfShowHeader > .run-of-show--clock { color: $text-primary; text-style: bold; }
    RunOfShowHeader > .run-of-show--alarm { color: $text-error; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._texts: list[Text] = [Text(), Text(), Text()]
        self._clock = big_digits("--:--")
        self._alarm = False
        self._part_styles = PartStyles(self)
        self._frame: tuple[int, Style, Style] = (0, Style(), Style())
        # Per row, its text as last drawn: the digits change every second, the text beside them seldom.
        self._drawn: dict[int, tuple[Text, int, Style, list[Segment]]] = {}

    def show(self, label: Text, phase: str, show: RunOfShow | None, alarm: bool = False, outcome: str | None = None,
             skipped: frozenset[str] = frozenset()) -> None:
        """Update from the current state; repaints only the rows that changed. `outcome` replaces the next-milestone line."""
        full_width = self.size.width
        width = max(20, full_width - 22)
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
        texts = [Text.assemble(label, " · ", (phase, "bold")), Text(upcoming), timeline]
        digits = big_digits(clock)
        resized = len(digits[0]) != len(self._clock[0])
        # An unchanged row keeps its Text: render_line knows it by identity and reuses its segments.
        kept = [old if new == old else new for new, old in zip(texts, self._texts)]
        changed = [Region(0, y, full_width, 1) for y in range(3)
                   if resized or alarm != self._alarm or digits[y] != self._clock[y] or kept[y] is not self._texts[y]]
        if changed:
            self.refresh(*changed)  # one refresh call: each one walks the widget's regions
        self._texts, self._clock, self._alarm = kept, digits, alarm

    def render_lines(self, crop: Region) -> list[Strip]:
        styles = self._part_styles.now()  # once a repaint, not once a row
        self._frame = (self.size.width, styles[""], styles["alarm" if self._alarm else "clock"])
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width, base, clock_style = self._frame
        if not 0 <= y < 3:
            return Strip.blank(width, base)
        digits = self._clock[y]
        room = max(0, width - len(digits) - 3)  # a space left of the text, one between, one right of the digits
        source = self._texts[y]
        drawn = self._drawn.get(y)
        if drawn is not None and drawn[0] is source and drawn[1] == room and drawn[2] == base:
            text_segments = drawn[3]
        else:
            text = source.copy()
            text.truncate(room, overflow="ellipsis", pad=True)
            text_segments = list(Segment.apply_style(text.render(self.app.console, end=""), base))
            self._drawn[y] = (source, room, base, text_segments)
        segments = [Segment(" ", base), *text_segments, Segment(" ", base), Segment(digits, clock_style),
                    Segment(" ", base)]
        return Strip(segments).adjust_cell_length(width, base)
