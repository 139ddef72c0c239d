"""`?`: the keys of every pane and how to read a status without colour."""

from __future__ import annotations

from textual.binding import Binding

from cockpit.screens.text_modal import TextModal

HELP = """\
Release Cockpit — keys

Everywhere
  ctrl+r   ROLLBACK: opens a confirmation; type the version, enter (esc cancels)
  1 … 5    war room · preflight · red team · GO/NO-GO · green-button ritual
  ?        this help            :  or ctrl+p   command palette
  R        the runs in the state database ([state] dsn), read-only
  q        quit (asks while a canary runs; the canary keeps running)

War room
  n        one-line note into the war-room log (enter sends, esc cancels)
  c        your own call: GO / HOLD / ROLLBACK-call, logged beside the engine's (moves no traffic)
  tab      next pane            j / k, arrows   scroll the focused pane

Checklists
  j / k, arrows   move          enter   run the check, or open its result
  space    tick a manual item (initials 2-4 letters, optional note)
           or accept a WARN (a note is required)
  r        re-run               a       run every automated check of the pane
  d        details + evidence files
Green-button ritual
  g        seal the evidence (only when every required item is green)
  t        T-0: start the canary as its own process (after the seal;
           in a DRILL: the drill's canary against the simulated service)

Statuses read without colour
  ✔ PASS   ! WARN   ▲ FAIL   ? UNKNOWN (could not look: never PASS)
  ◷ STALE 42s   the last real value is 42 s old
  ○ TODO   ✔ TICKED (by initials)   ⠋ RUNNING

Read-only (cockpit attach): no rollback key, no notes, no ticks, no runs.

First night (cockpit watch VERSION, read-only)
  j / k    scroll the closed hours      G   back to the newest hour
  hours ✔✔!▲▶···   one mark per hour: its worst status, ▶ now, · to come,
                   ? an hour whose summary never came (back-filled later)
"""


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
        super().__init__(HELP)
