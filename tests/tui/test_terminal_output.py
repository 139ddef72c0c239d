"""The changed-cells writer (app/terminal_output.py): what the terminal shows is what Textual's own update shows.

Both byte streams are played into a terminal emulator (pyte) and the screens compared, cell by cell, with
their colours; the writer must also send fewer bytes, and nothing for a frame that changed nothing.
"""

from __future__ import annotations

import random
import re

import pyte
import pytest
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from cockpit.app.terminal_output import TerminalShadow

W, H = 40, 6
BARS = "▁▂▃▄▅▆▇█"
STYLES = [Style(color="color(117)"), Style(color="color(203)", bold=True), Style(bgcolor="color(236)"), None]


def console() -> Console:
    return Console(color_system="256", force_terminal=True, width=W, height=H)


def play(stream: str) -> list[list[tuple[str, str, str, bool]]]:
    screen = pyte.Screen(W, H)
    pyte.Stream(screen).feed(stream)
    return [[(c.data, c.fg, c.bg, c.bold) for c in (screen.buffer[y][x] for x in range(W))] for y in range(H)]


def line(cells: list[tuple[str, Style | None]]) -> Strip:
    return Strip([Segment(char, style) for char, style in cells])


def full(rows: list[list[tuple[str, Style | None]]]) -> LayoutUpdate:
    return LayoutUpdate([[line(row)] for row in rows], Region(0, 0, W, H))


def partial(rows: list[list[tuple[str, Style | None]]], dirty: list[int]) -> ChopsUpdate:
    chops = [{0: line(row) if y in dirty else None} for y, row in enumerate(rows)]
    return ChopsUpdate(chops, [(y, 0, W) for y in sorted(dirty)], [[W] for _ in rows])


def random_row(rng: random.Random) -> list[tuple[str, Style | None]]:
    row: list[tuple[str, Style | None]] = []
    while len(row) < W:
        if rng.random() < 0.05 and len(row) < W - 1:
            style = rng.choice(STYLES)
            row += [("語", style), ("", style)]  # a wide character and the cell under its right half
        else:
            row.append((rng.choice("ab 12ms" + BARS), rng.choice(STYLES)))
    return row[:W] if row[W - 1][0] != "" or len(row) == W else row[: W - 1] + [(" ", None)]


def next_frame(rng: random.Random, rows: list[list[tuple[str, Style | None]]]) -> tuple[list, list[int]]:
    """A sparkline that moves on by one sample, a value that changes, or a line that stays as it was."""
    rows = [list(r) for r in rows]
    dirty = rng.sample(range(H), rng.randint(1, H))
    for y in dirty:
        kind = rng.random()
        if kind < 0.5:  # the history moves one column left, its new bar on the right
            a, b = sorted(rng.sample(range(W + 1), 2))
            if b - a >= 2 and all(c != "" for c, _ in rows[y][a:]) and "語" not in "".join(c for c, _ in rows[y][a:]):
                style = rows[y][a][1]
                rows[y][a:b] = rows[y][a + 1:b] + [(rng.choice(BARS), style)]
        elif kind < 0.8:
            x = rng.randrange(W)
            if rows[y][x][0] != "" and rows[y][x][0] != "語":
                rows[y][x] = (rng.choice("0123456789"), rows[y][x][1])
    return rows, dirty


@pytest.mark.parametrize("seed", range(30))
def test_the_terminal_shows_what_textual_would_have_shown(seed: int) -> None:
    rng = random.Random(seed)
    con = console()
    rows = [random_row(rng) for _ in range(H)]
    shadow = TerminalShadow()
    first = full(rows)
    theirs = first.render_segments(con)
    ours = shadow.frame(first, con).render_segments(con)
    assert ours == theirs  # a full update is written as Textual writes it
    sent_theirs = sent_ours = 0
    for _ in range(12):
        rows, dirty = next_frame(rng, rows)
        update = partial(rows, dirty)
        theirs_part = update.render_segments(con)
        written = shadow.frame(update, con)
        ours_part = written.render_segments(con) if written is not None else ""
        theirs += theirs_part
        ours += ours_part
        sent_theirs += len(theirs_part.encode())
        sent_ours += len(ours_part.encode())
    assert play(ours) == play(theirs)
    assert sent_ours < sent_theirs


def test_a_history_that_moved_on_is_shifted_not_redrawn() -> None:
    con = console()
    style = STYLES[0]
    history = [(BARS[i % 8], style) for i in range(30)]
    row = [("p", None), ("9", None), (" ", None)] + history + [(" ", None)] * (W - 33)
    rows = [row] + [[(" ", None)] * W for _ in range(H - 1)]
    shadow = TerminalShadow()
    stream = shadow.frame(full(rows), con).render_segments(con)
    moved = [list(r) for r in rows]
    moved[0][3:33] = history[1:] + [(BARS[0], style)]
    text = shadow.frame(partial(moved, [0]), con).render_segments(con)
    assert "\x1b[P" in text and "\x1b[@" in text  # DCH at its left edge, ICH at its right
    assert len(text.encode()) < 60  # two moves, DCH, ICH and one bar; not thirty bars
    assert re.search(r"\x1b\[@(\x1b\[[0-9;]*m)?▁", text)  # the new bar where the ICH left the cursor: no move
    assert play(stream + text) == play(stream + partial(moved, [0]).render_segments(con))


def test_a_frame_that_changed_nothing_writes_nothing() -> None:
    con = console()
    rows = [random_row(random.Random(1)) for _ in range(H)]
    shadow = TerminalShadow()
    shadow.frame(full(rows), con)
    assert shadow.frame(partial(rows, [0, 3]), con) is None


def test_after_forget_an_update_is_written_as_textual_writes_it() -> None:
    con = console()
    rows = [random_row(random.Random(2)) for _ in range(H)]
    shadow = TerminalShadow()
    shadow.frame(full(rows), con)
    shadow.forget()
    update = partial(rows, [1])
    assert shadow.frame(update, con) is update


def test_a_style_change_says_only_what_differs() -> None:
    con = console()
    digit = Style(color="color(117)", bgcolor="color(234)", bold=True)
    clock = Style(color="color(251)", bgcolor="color(234)")
    rows = [[("1", digit), ("2", clock)] + [(" ", None)] * (W - 2)] + [[(" ", None)] * W for _ in range(H - 1)]
    shadow = TerminalShadow()
    stream = shadow.frame(full(rows), con).render_segments(con)
    moved = [[("3", digit), ("4", clock)] + [(" ", None)] * (W - 2)] + rows[1:]
    text = shadow.frame(partial(moved, [0]), con).render_segments(con)
    assert "\x1b[22;38;5;251m" in text  # bold off and the new colour; the background stays
    assert play(stream + text) == play(stream + partial(moved, [0]).render_segments(con))


def test_a_style_is_set_once_per_frame_and_moves_are_short() -> None:
    """Values in two styles changing on every row: two style settings, not one per row, and the same screen."""
    con = console()
    value, bar = STYLES[0], STYLES[1]
    rows = [[("1", value), (" ", None), ("▁", bar)] + [(" ", None)] * (W - 3) for _ in range(H)]
    shadow = TerminalShadow()
    stream = shadow.frame(full(rows), con).render_segments(con)
    moved = [[("2", value), (" ", None), ("▂", bar)] + [(" ", None)] * (W - 3) for _ in range(H)]
    text = shadow.frame(partial(moved, list(range(H))), con).render_segments(con)
    assert len(re.findall(r"\x1b\[[0-9;]*m", text)) == 3  # each style set once, and the pen reset at the end
    assert "\x1b[B\r" in text  # the next row's first column: down and back, not a full position
    assert play(stream + text) == play(stream + partial(moved, list(range(H))).render_segments(con))


def test_a_move_one_column_left_is_a_backspace() -> None:
    """A digit changing at the same column of each row: down and one back is ESC[B and BS, not ESC[B ESC[D."""
    con = console()
    rows = [[(" ", None)] * 5 + [("1", STYLES[0])] + [(" ", None)] * (W - 6) for _ in range(H)]
    shadow = TerminalShadow()
    stream = shadow.frame(full(rows), con).render_segments(con)
    moved = [[(" ", None)] * 5 + [("2", STYLES[0])] + [(" ", None)] * (W - 6) for _ in range(H)]
    text = shadow.frame(partial(moved, list(range(H))), con).render_segments(con)
    assert "\x1b[B\b2" in text and "\x1b[D" not in text
    assert play(stream + text) == play(stream + partial(moved, list(range(H))).render_segments(con))
