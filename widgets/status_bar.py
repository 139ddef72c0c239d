"""The status bar: mode (LIVE / DRILL / READ-ONLY), the release, journal freshness, the rollback key, the time."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from cockpit.widgets.state_classes import set_state_classes

MODES = ("-live", "-drill", "-readonly", "-idle")


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
    }
    StatusBar > #sb-mode {
        width: auto;
        padding: 0 1;
        text-style: bold;
        background: $primary;
        color: $text;
    }
    StatusBar.-drill > #sb-mode { background: $warning; color: $background; }
    StatusBar.-readonly > #sb-mode { background: $secondary; color: $background; }
    StatusBar > #sb-info {
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusBar.-alert > #sb-info { color: $text-error; text-style: bold; }
    StatusBar > #sb-rollback {
        width: auto;
        padding: 0 1;
        text-style: bold;
        background: $error;
        color: $text;
    }
    StatusBar > #sb-clock {
        width: 11;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._texts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        self._parts = {part: Static(text, id=part) for part, text in
                       (("sb-mode", ""), ("sb-info", ""), ("sb-rollback", "^r ROLLBACK"), ("sb-clock", ""))}
        yield from self._parts.values()

    def _set(self, part: str, text: str) -> None:
        if self._texts.get(part) != text:
            self._texts[part] = text
            # the info cell is 1fr and the clock fixed: only the mode word can change width
            self._parts[part].update(text, layout=part == "sb-mode")

    def show(self, mode: str, info: str, clock: str, *, rollback_key: bool, alert: bool = False) -> None:
        """mode is LIVE / DRILL / READ-ONLY / IDLE; the rollback key shows whenever it exists."""
        css = {"LIVE": "-live", "DRILL": "-drill", "READ-ONLY": "-readonly"}.get(mode, "-idle")
        set_state_classes(self, (*MODES, "-alert"), [css] + (["-alert"] if alert else []))
        self._set("sb-mode", mode)
        self._set("sb-info", info)
        self._set("sb-clock", clock)
        if self._parts["sb-rollback"].display != rollback_key:
            self._parts["sb-rollback"].display = rollback_key
