"""The war-room log: the one-line-a-minute entries, events and the IC's notes (bounded)."""

from __future__ import annotations

from textual.widgets import Log

from cockpit.views.canary import CanaryView

MAX_LINES = 1000


class WarRoomLog(Log):
    DEFAULT_CSS = """
    WarRoomLog {
        width: 1fr;
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;  /* long lines scroll with left/right; no row lost to a bar */
    }
    WarRoomLog:focus {
        background-tint: $foreground 5%;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, id=id)
        self._view_id: int | None = None
        self._shown = 0
        self._reordered = 0

    def sync(self, view: CanaryView) -> None:
        """Append the lines logged since the last sync (all of them for a new view)."""
        if id(view) != self._view_id or view.log_reordered != self._reordered:
            # a new view, or a late line went in among the ones shown: written again, in time order
            self._view_id = id(view)
            self._reordered = view.log_reordered
            self._shown = max(0, view.log_total - len(view.log))
            self.clear()
        new = view.log_total - self._shown
        if new <= 0:
            return
        lines = list(view.log)[-min(new, len(view.log)):]
        self._shown = view.log_total
        self.write_lines([line.render() for line in lines])

    def add_local(self, text: str) -> None:
        """A line that is not (yet) in the journal, e.g. a note kept while no canary runs."""
        self.write_line(text)
