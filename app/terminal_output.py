"""The screen as the terminal has it, so that an update writes only the cells that changed.

Textual's partial update (ChopsUpdate) rewrites every widget line that was
touched, whole: a value that went from 142ms to 143ms resends its row, and a
sparkline that moved on by one sample resends every bar. Over SSH at 03:00 that
is most of the bytes. TerminalShadow keeps what was last written, cell by
cell, and turns each partial update into cursor moves and the changed cells
only. A history that moved one column to the left is shifted in the terminal
itself (delete one character at its left edge, insert one at its right edge:
DCH and ICH, VT102), then only its new bar is written, where the ICH left the
cursor. The changed cells go out one style at a time (a style set once a frame,
by what differs from the last one), with the shortest cursor move to each. A
frame with no changed cell is not written at all.

A full update (the first screen, a resize, a screen switch) is written as
Textual writes it, and becomes the new picture. Lines with wide characters are
never shifted: a half of a double-width cell cannot move alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.strip import SGR_STYLES, Strip

GAP = 3  # unchanged cells between two changes rewritten rather than skipped (a cursor move costs ~8 bytes)
MIN_SHIFT = 6  # changed cells a one-column shift must save before it is worth two moves, a DCH and an ICH
WIDE = ""  # the cell under the right half of a double-width character

Cells = tuple[list[str | None], list[Style | None]]
Shifts = dict[int, list[tuple[int, int]]]  # row → (DCH column, ICH column or -1), in the order they are made


def _explode(strip: Strip) -> Cells:
    """A strip as one character (or WIDE) and one style per cell."""
    chars: list[str | None] = []
    styles: list[Style | None] = []
    for text, style, control in strip._segments:
        if control:
            continue
        if text.isascii():
            chars.extend(text)
            styles.extend([style] * len(text))
            continue
        for char in text:
            width = get_character_cell_size(char)
            if width == 1:
                chars.append(char)
                styles.append(style)
            elif width == 2:
                chars += [char, WIDE]
                styles += [style, style]
            elif chars and chars[-1]:  # a combining mark joins the character before it
                chars[-1] = f"{chars[-1]}{char}"
    return chars, styles


# Rich's attribute bits (Style._attributes) and the SGR that turns each off; bold and dim share 22.
_OFF = {2: "23", 3: "24", 4: "25", 6: "27", 7: "28", 8: "29"}
_BOLD_DIM = 0b11
_UNCOMMON = 0b1111000100000  # blink2, underline2, frame, encircle, overline: set from a reset only


def _colour_codes(colour: Any, color_system: ColorSystem, foreground: bool) -> tuple[str, ...]:
    if colour is None:
        return ("39",) if foreground else ("49",)
    return tuple(colour.downgrade(color_system).get_ansi_codes(foreground))


def _style_change(pen: Style | None, style: Style | None, color_system: ColorSystem) -> str:
    """The shortest SGR from the pen's style to `style`: a reset and the whole style, or only what differs.

    A frame that goes from a bold blue digit to a grey clock needs "bold off, grey" (14 bytes), not
    "reset, grey on the background" (22).
    """
    ansi = "" if style is None else (style._ansi or Strip.render_ansi(style, color_system))
    whole = f"\x1b[0;{ansi}m" if ansi else "\x1b[0m"
    old_on = 0 if pen is None else pen._attributes & pen._set_attributes
    new_on = 0 if style is None else style._attributes & style._set_attributes
    if (old_on | new_on) & _UNCOMMON:
        return whole
    codes: list[str] = []
    off = old_on & ~new_on
    again = 0
    if off & _BOLD_DIM:
        codes.append("22")
        again = new_on & _BOLD_DIM  # 22 turned both off
    codes += [code for bit, code in _OFF.items() if off & (1 << bit)]
    on = (new_on & ~old_on) | again
    codes += [SGR_STYLES[bit] for bit in range(on.bit_length()) if on & (1 << bit)]
    for foreground in (True, False):
        before = _colour_codes(None if pen is None else (pen._color if foreground else pen._bgcolor), color_system, foreground)
        after = _colour_codes(None if style is None else (style._color if foreground else style._bgcolor), color_system, foreground)
        if before != after:
            codes += after
    if not codes:
        return ""
    change = f"\x1b[{';'.join(codes)}m"
    return change if len(change) < len(whole) else whole


def _relative(steps: int, forward: str, back: str) -> str:
    """A relative cursor move (CUD/CUU, CUF/CUB); a count of one is the default and not written."""
    count = abs(steps)
    return f"\x1b[{'' if count == 1 else count}{forward if steps > 0 else back}"


@dataclass(frozen=True)
class _Piece:
    """Changed cells [start, stop) of row y, all in one style, and the text that writes them."""

    y: int
    start: int
    stop: int
    text: str
    style: Style | None


class _Written(CompositorUpdate):
    """A partial update already turned into terminal sequences."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render_segments(self, console: Console) -> str:
        return self.text


class TerminalShadow:
    """What the terminal shows, cell by cell; `frame` makes an update write only what differs from it."""

    def __init__(self) -> None:
        self.width = 0
        self._cursor: tuple[int, int] | None = None  # where the terminal's cursor is in a frame (None: not known)
        self.chars: list[list[str | None]] = []
        self.styles: list[list[Style | None]] = []

    def forget(self) -> None:
        """The terminal's content is unknown (resized, suspended): the next update is written whole."""
        self.chars, self.styles = [], []

    def frame(self, update: Any, console: Console) -> Any:
        """The update to write instead of `update`: a smaller one, the same, or None when nothing changed."""
        if isinstance(update, LayoutUpdate):
            self._record_layout(update)
            return update
        if isinstance(update, ChopsUpdate) and self.chars:
            text = self._chops(update, console)
            return _Written(text) if text else None
        self.forget()  # something we do not follow (inline, a new kind): start again at the next full update
        return update

    # ---------------------------------------------------------------- full updates

    def _record_layout(self, update: LayoutUpdate) -> None:
        region = update.region
        if region.x != 0 or region.y != 0:
            self.forget()
            return
        width = region.width
        self.width = width
        self.chars = [[None] * width for _ in range(region.height)]
        self.styles = [[None] * width for _ in range(region.height)]
        for y, line in enumerate(update.strips):
            x = 0
            for strip in line:
                x = self._put(y, x, *_explode(strip))

    def _put(self, y: int, x: int, chars: list[str | None], styles: list[Style | None]) -> int:
        end = min(self.width, x + len(chars))
        self.chars[y][x:end] = chars[: end - x]
        self.styles[y][x:end] = styles[: end - x]
        return end

    # ---------------------------------------------------------------- partial updates

    def _chops(self, update: ChopsUpdate, console: Console) -> str:
        color_system = console._color_system or ColorSystem.TRUECOLOR
        out: list[str] = []
        pieces: list[_Piece] = []
        shifts: Shifts = {}
        self._cursor = None  # Textual's own writes between frames may have moved it
        height = len(self.chars)
        for y, x1, x2 in update.spans:
            if y >= height:
                continue
            new_chars = list(self.chars[y])
            new_styles = list(self.styles[y])
            lo, hi = self.width, 0
            # What Textual would write on this line (ChopsUpdate.render_segments), cell by cell.
            for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
                if strip is None or x > x2 or end <= x1:
                    continue
                if not (x2 > x >= x1 and end <= x2):
                    strip = strip.crop(0, min(end, x2) - x)
                chars, styles = _explode(strip)
                stop = min(self.width, x + len(chars))
                new_chars[x:stop] = chars[: stop - x]
                new_styles[x:stop] = styles[: stop - x]
                lo, hi = min(lo, x), max(hi, stop)
            if lo < hi:
                self._line(y, lo, hi, new_chars, new_styles, shifts, pieces)
        self._write(pieces, shifts, out, color_system)
        return "".join(out)

    def _line(self, y: int, lo: int, hi: int, new_chars: list[str | None], new_styles: list[Style | None],
              shifts: Shifts, pieces: list[_Piece]) -> None:
        """Shift what moved (in the shadow, into `shifts`), and add the changed cells to `pieces` for _write."""
        old_chars, old_styles = self.chars[y], self.styles[y]
        if old_chars[lo:hi] == new_chars[lo:hi] and old_styles[lo:hi] == new_styles[lo:hi]:
            return
        self._shift(y, lo, hi, new_chars, new_styles, shifts)
        # `is not` first: a strip's cells share Style objects, and a Style's != is a Python call per cell
        changed = [x for x in range(lo, hi) if old_chars[x] != new_chars[x]
                   or (old_styles[x] is not new_styles[x] and old_styles[x] != new_styles[x])]
        for start, stop in self._runs(changed, new_chars, new_styles):
            text = "".join((c or " ") if c != WIDE else "" for c in new_chars[start:stop])
            pieces.append(_Piece(y, start, stop, text, new_styles[start]))
        self.chars[y] = new_chars
        self.styles[y] = new_styles

    def _write(self, pieces: list[_Piece], shifts: Shifts, out: list[str], color_system: ColorSystem) -> None:
        """The changed cells, one style at a time: a style is set once per frame, not once per piece of text.

        Textual sets and resets the style around every piece of text (some 25 bytes); eight rows that each
        change a value and a bar, in two styles, would set a style sixteen times; written grouped, twice.
        The order of writes within a frame does not show (the frame is drawn at once). A row's shifts are
        written just before its first piece at or right of them (the pieces were computed for the shifted
        row; those left of them do not move): usually the new bar, at the column where the ICH left the cursor.
        """
        groups: dict[Style | None, list[_Piece]] = {}
        for piece in pieces:
            groups.setdefault(piece.style, []).append(piece)
        pen: Style | None = None
        for style, group in groups.items():
            for piece in sorted(group, key=lambda p: (p.y, p.start)):
                row_shifts = shifts.get(piece.y)
                if row_shifts and piece.stop > row_shifts[0][0]:  # _shift walks the row left to right
                    self._write_shifts(piece.y, shifts.pop(piece.y), out)
                if style is not None and style._link:  # a hyperlink: written whole, as Textual writes it
                    if pen is not None:
                        out.append("\x1b[0m")
                        pen = None
                    self._move(piece.y, piece.start, out)
                    out.append(Strip.render_style(style, piece.text, color_system))
                    self._cursor = None
                    continue
                self._move(piece.y, piece.start, out)
                if style != pen:
                    out.append(_style_change(pen, style, color_system))
                    pen = style
                out.append(piece.text)
                # At the right edge the cursor stays on the last column, waiting to wrap: not known.
                self._cursor = (piece.y, piece.stop) if piece.stop < self.width else None
        for y, row_shifts in shifts.items():  # a shift whose cells all came out as they were (none so far)
            self._write_shifts(y, row_shifts, out)
        if pen is not None:
            out.append("\x1b[0m")

    def _write_shifts(self, y: int, row_shifts: list[tuple[int, int]], out: list[str]) -> None:
        for start, back in row_shifts:
            self._move(y, start, out)
            out.append("\x1b[P")  # DCH: the line from start moves left by one
            if back >= 0:
                self._move(y, back, out)
                out.append("\x1b[@")  # ICH: the rest past it moves back

    def _shift(self, y: int, lo: int, hi: int, new_chars: list[str | None], new_styles: list[Style | None],
               shifts: Shifts) -> None:
        """Shift runs of cells that moved one column left (DCH + ICH, written by _write); the shadow follows."""
        old_chars, old_styles = self.chars[y], self.styles[y]
        width = self.width
        x = lo
        while x < hi - 1:
            start = x
            while (x < hi - 1 and old_chars[x + 1] is not None and new_chars[x] == old_chars[x + 1]
                   and (new_styles[x] is old_styles[x + 1] or new_styles[x] == old_styles[x + 1])):
                x += 1
            if x > start:
                saved = sum(1 for i in range(start, x) if new_chars[i] != old_chars[i]
                            or (new_styles[i] is not old_styles[i] and new_styles[i] != old_styles[i]))
                # [start, x) now equals the old [start + 1, x + 1); cell x takes the new value afterwards
                if saved >= MIN_SHIFT and WIDE not in old_chars[start:width] and None not in old_chars[start:width]:
                    shifts.setdefault(y, []).append((start, x if x + 1 < width else -1))
                    del old_chars[start]
                    del old_styles[start]
                    old_chars.insert(x, None)
                    old_styles.insert(x, None)
            x += 1

    def _move(self, y: int, x: int, out: list[str]) -> None:
        """The cursor to row y, column x by the shortest sequence: absolute, or relative to where it is."""
        here = self._cursor
        if here != (y, x):
            moves = [f"\x1b[{y + 1};{x + 1}H"]
            if here is not None:
                dy = y - here[0]
                vertical = "" if dy == 0 else _relative(dy, "B", "A")
                dx = x - here[1]
                across = ["\r"] if x == 0 else [f"\x1b[{x + 1}G"]
                if dx:
                    across.append("\b" if dx == -1 else _relative(dx, "C", "D"))  # BS: one byte, not three
                moves += [vertical + a for a in across] if dx else [vertical]
            out.append(min(moves, key=len))
        self._cursor = (y, x)

    @staticmethod
    def _runs(changed: list[int], chars: list[str | None], styles: list[Style | None]) -> list[tuple[int, int]]:
        """Changed cells as runs [start, stop) of one style, near ones joined; a run never splits a wide character.

        Unchanged cells between two changes are rewritten only when they share the changes' style: the
        run is then written with one style setting.
        """
        runs: list[list[int]] = []
        for x in changed:
            if runs and x - runs[-1][1] <= GAP and all(styles[i] is styles[x] or styles[i] == styles[x]
                                                        for i in range(runs[-1][0], x)):
                runs[-1][1] = x + 1
            else:
                runs.append([x, x + 1])
        for run in runs:
            if chars[run[0]] == WIDE and run[0] > 0:
                run[0] -= 1
            if run[1] < len(chars) and chars[run[1]] == WIDE:
                run[1] += 1
        return [(a, b) for a, b in runs]
