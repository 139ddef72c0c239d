"""The IC's own call on the stage: GO, HOLD or ROLLBACK-call, recorded beside the engine's decision.

Not the rollback key: a ROLLBACK call is the IC saying so on the record; it moves
no traffic (ctrl+r does). Escape records nothing.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class IcCallScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    IcCallScreen {
        align: center middle;
    }
    IcCallScreen > Vertical {
        width: 64;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $accent;
        background: $surface;
    }
    IcCallScreen #call-title { text-style: bold; }
    IcCallScreen #call-hint { color: $text-muted; }
    """

    BINDINGS = [
        Binding("g", "call('GO')", "GO", id="call-go"),
        Binding("h", "call('HOLD')", "HOLD", id="call-hold"),
        Binding("r", "call('ROLLBACK')", "ROLLBACK-call", id="call-rollback"),
        Binding("escape", "call(None)", "Cancel", id="call-cancel"),
    ]

    def __init__(self, where: str, engine: str) -> None:
        super().__init__()
        self.where = where
        self.engine = engine

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Your call on {self.where}", id="call-title")
            yield Static(f"The engine says: {self.engine}. Your call goes in the war-room log beside it.\n"
                         "A ROLLBACK call moves no traffic: ctrl+r rolls back.", id="call-body")
            yield Static("g: GO · h: HOLD · r: ROLLBACK-call · esc: cancel", id="call-hint")

    def action_call(self, call: str | None) -> None:
        self.dismiss(call)
