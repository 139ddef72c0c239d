"""The war-room screen: run-of-show, stage bar, golden signals, decision, war-room log, note input."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Input

from cockpit.screens.base import ROLL_BACK_BY_HAND_BINDING, ROLLBACK_BINDING, CockpitScreen
from cockpit.widgets.decision_panel import DecisionPanel
from cockpit.widgets.note_input import NoteInput
from cockpit.widgets.run_of_show import RunOfShowHeader
from cockpit.widgets.signal_table import SignalTable
from cockpit.widgets.stage_bar import StageBar
from cockpit.widgets.status_bar import StatusBar
from cockpit.widgets.warroom_log import WarRoomLog


class WarRoomScreen(CockpitScreen):
    DEFAULT_CSS = """
    WarRoomScreen {
        layout: vertical;
    }
    WarRoomScreen > #bottom {
        height: 1fr;
        min-height: 4;
    }
    """

    # Nothing focused until tab: focusing restyles every row (a slower first screen). "" and not None:
    # None would inherit the App's "*" and focus the signal table.
    AUTO_FOCUS = ""

    BINDINGS = [
        ROLLBACK_BINDING,
        Binding("n", "note", "Note", id="note", tooltip="Write a one-line note into the war-room log"),
        # Out of the footer (80 columns are spoken for); `?` lists it.
        Binding("c", "ic_call", "IC call", id="ic-call", show=False,
                tooltip="Record your own call (GO / HOLD / ROLLBACK-call) beside the engine's; moves no traffic"),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
        Binding("tab", "app.focus_next", "Next pane", show=False),
        ROLL_BACK_BY_HAND_BINDING,
    ]

    def compose(self) -> ComposeResult:
        # Kept, not queried: show_state runs on every tick and each query walks the DOM.
        self._header = RunOfShowHeader(id="ros")
        self._stages = StageBar(id="stages")
        self._signals = SignalTable(self.cockpit.face.signal_map(), id="signals")
        self._decision = DecisionPanel(id="decision")
        self._log = WarRoomLog(id="log")
        yield self._header
        yield self._stages
        yield self._signals
        with Horizontal(id="bottom"):
            yield self._decision
            yield self._log
        yield StatusBar(id="status")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("note", "ic_call"):
            return not self.cockpit.options.read_only
        return super().check_action(action, parameters)

    def show_state(self) -> None:
        app = self.cockpit
        view, now = app.view, app.clock.now()
        self._header.show(app.mode_label(), app.phase_text(), app.run_of_show(now), alarm=app.alarm(),
                                             outcome=app.outcome_text(), skipped=app.skipped_milestones())
        self._stages.show(view, app.plan_weights(), now, app.face.max_holds)
        self._signals.show(view, now, app.stale_limit())
        self._decision.show(view, now, app.stale_after)
        self._log.sync(view)
        super().show_state()

    async def action_note(self) -> None:
        if self.cockpit.options.read_only:
            return
        if not self.query(NoteInput):
            # Mounted on the first `n`, not with the screen: an Input costs a first screen ~50 ms of CPU.
            note = NoteInput(id="note")
            note.cursor_blink = self.cockpit.options.blink
            await self.mount(note, before=self.query_one(StatusBar))
        self.query_one(NoteInput).open()

    def action_ic_call(self) -> None:
        from cockpit.screens.ic_call import IcCallScreen

        if self.cockpit.options.read_only:
            return
        view = self.cockpit.view
        where = f"stage {view.stage}" if view.stage else "the run"
        engine = view.decision.verdict[1] if view.decision is not None else "no decision yet"
        self.app.push_screen(IcCallScreen(where, engine), callback=lambda call: self.cockpit.send_ic_call(call) if call else None)

    def action_scroll(self, lines: int) -> None:
        target = self.focused if self.focused is not None else self.query_one(WarRoomLog)
        if lines > 0:
            target.scroll_down(animate=False)
        else:
            target.scroll_up(animate=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, NoteInput):
            return
        event.stop()
        text = event.value.strip()
        event.input.action_close()
        if text:
            self.cockpit.send_note(text)

    def add_local_line(self, text: str) -> None:
        self.query_one(WarRoomLog).add_local(text)
