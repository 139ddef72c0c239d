"""A checklist pane (preflight, red team, GO/NO-GO, green-button ritual) walked by keyboard."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from cockpit.engine.checklist import Checklist
from cockpit.screens.base import ROLLBACK_BINDING, CockpitScreen
from cockpit.widgets.checklist_table import ChecklistTable
from cockpit.widgets.status_bar import StatusBar

SPIN_EVERY = 0.125


class ChecklistScreen(CockpitScreen):
    DEFAULT_CSS = """
    ChecklistScreen > #cl-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-style: bold;
    }
    """

    BINDINGS = [
        ROLLBACK_BINDING,
        Binding("enter", "run_or_detail", "Run/detail", id="run", tooltip="Run the check, or open its result"),
        Binding("space", "tick", "Tick", id="tick", tooltip="Tick a manual item (initials, optional note)"),
        Binding("r", "rerun", "Re-run", id="rerun"),
        Binding("a", "run_all", "Run all", id="run-all"),
        Binding("d", "detail", "Detail", show=False),
    ]

    def __init__(self, key: str) -> None:
        super().__init__(name=key)
        self.key = key
        self._frame = 0
        self._spinner: Timer | None = None

    @property
    def checklist(self) -> Checklist:
        return self.cockpit.checklists[self.key]

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="cl-title")
        yield from self.compose_extra()
        yield ChecklistTable(id="items")
        yield StatusBar(id="status")
        yield Footer()

    def compose_extra(self) -> ComposeResult:
        return iter(())

    def _title(self) -> str:
        green, required = self.checklist.counts()
        mode = "  (read-only)" if self.cockpit.options.read_only else ""
        return f"{self.checklist.title}: {green}/{required} required items green{mode}"

    def on_mount(self) -> None:
        self.query_one(ChecklistTable).focus()
        self.watch(self.app, "theme", lambda _: self._restyle(), init=False)
        self.show_state()

    def _restyle(self) -> None:
        self.query_one(ChecklistTable).restyle()
        self.show_state()

    def on_resize(self) -> None:
        self.show_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.cockpit.options.read_only and action in ("tick", "rerun", "run_all"):
            return False  # a viewer looks; enter still opens a result
        return True

    def show_state(self) -> None:
        now = self.cockpit.clock.now()
        self.query_one("#cl-title", Static).update(self._title())
        self.query_one(ChecklistTable).show(self.checklist, now, self._frame)
        running = any(item.running for item in self.checklist.items)
        if running and self._spinner is None:
            self._spinner = self.set_interval(SPIN_EVERY, self._spin)
        elif not running and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        super().show_state()

    def _spin(self) -> None:
        self._frame += 1
        self.query_one(ChecklistTable).show(self.checklist, self.cockpit.clock.now(), self._frame)

    # ------------------------------------------------------------ actions

    def _current(self) -> str | None:
        return self.query_one(ChecklistTable).current_id

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # mouse clicks select rows too: same as enter
        self.action_run_or_detail()

    def action_run_or_detail(self) -> None:
        check_id = self._current()
        if check_id is None:
            return
        item = self.checklist.item(check_id)
        if item is None or item.running:
            return
        if item.result is not None or item.error or item.tick is not None or self.cockpit.options.read_only:
            self.action_detail()
        elif item.manual:
            self.action_tick()
        else:
            self.cockpit.run_item(self.key, check_id)

    def action_detail(self) -> None:
        check_id = self._current()
        if check_id is not None:
            self.cockpit.open_detail(self.key, check_id)

    def action_rerun(self) -> None:
        check_id = self._current()
        if check_id is not None:
            self.cockpit.run_item(self.key, check_id)

    def action_run_all(self) -> None:
        for item in self.checklist.items:
            if not item.manual and not item.running:
                self.cockpit.run_item(self.key, item.id)

    def action_tick(self) -> None:
        check_id = self._current()
        if check_id is not None:
            self.cockpit.ask_tick(self.key, check_id)
