"""`?`: the keys of every pane and how to read a status without colour.

Laid out for an 80-column pane: the keys in a column of their own, each description wrapping under
itself (never back under the keys), so a line that does not fit still reads as one entry.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from cockpit.screens.text_modal import TextModal

KEY_W = 15  # the widest key entry ("j / k, arrows") and a space

SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Everywhere", [
        ("ctrl+r", "ROLLBACK: opens a confirmation; type the version, enter (esc cancels)"),
        ("1 … 5", "war room · preflight · red team · GO/NO-GO · green-button ritual"),
        ("?", "this help"),
        (": or ctrl+p", "command palette"),
        ("R", "the runs in the state database ([state] dsn), read-only"),
        ("q", "quit (asks while a canary runs; the canary keeps running)"),
    ]),
    ("War room", [
        ("n", "one-line note into the war-room log (enter sends, esc cancels)"),
        ("c", "your own call: GO / HOLD / ROLLBACK-call, logged beside the engine's (moves no traffic)"),
        ("tab", "next pane"),
        ("j / k, arrows", "scroll the focused pane"),
    ]),
    ("Checklists", [
        ("j / k, arrows", "move"),
        ("enter", "run the check, or open its result"),
        ("space", "tick a manual item (initials 2-4 letters, optional note), or accept a WARN (a note is required)"),
        ("r", "re-run"),
        ("a", "run every automated check of the pane"),
        ("d", "details + evidence files"),
    ]),
    ("Green-button ritual", [
        ("g", "seal the evidence (only when every required item is green)"),
        ("t", "T-0: start the canary as its own process (after the seal; in a DRILL: the drill's canary against"
              " the simulated service)"),
    ]),
    ("Statuses read without colour", [
        ("✔  !  ▲", "PASS, WARN, FAIL"),
        ("? UNKNOWN", "could not look: never PASS"),
        ("◷ STALE 42s", "the last real value is 42 s old"),
        ("○  ✔  ⠋", "TODO, TICKED (by initials), RUNNING"),
    ]),
    ("Read-only (cockpit attach)", [
        ("", "no rollback key, no notes, no ticks, no runs"),
    ]),
    ("First night (cockpit watch VERSION, read-only)", [
        ("j / k", "scroll the closed hours"),
        ("G", "back to the newest hour"),
        ("hours ✔✔!▲▶···", "one mark per hour: its worst status, ▶ now, · to come, ? an hour whose summary never"
                          " came (back-filled later)"),
    ]),
]


def help_text() -> RenderableType:
    """The sections as key / description grids under bold headings."""
    parts: list[RenderableType] = [Text.assemble(("Release Cockpit — keys", "bold"), "   (j / k scroll, esc closes)")]
    for title, rows in SECTIONS:
        parts.append(Text(""))
        parts.append(Text(title, style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=KEY_W, no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for keys, what in rows:
            grid.add_row(Text(keys, style="bold"), Text(what))
        parts.append(grid)
    return Group(*parts)


def plain_help() -> str:
    """The help as plain lines (tests, and anyone grepping for a key)."""
    return "\n".join(f"{keys}  {what}" for _, rows in SECTIONS for keys, what in rows)


class HelpScreen(TextModal):
    DEFAULT_CSS = """
    HelpScreen > VerticalScroll {
        width: 84;
        max-width: 100%;
        height: 90%;
    }
    """

    BINDINGS = [Binding("question_mark", "close", "Close", show=False)]

    def __init__(self) -> None:
        super().__init__(plain_help())

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_text())
