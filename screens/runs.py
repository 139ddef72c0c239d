"""`R`: the runs in the state database over the current pane, read-only — what `cockpit runs` prints, kept fresh.

The screen's worker (a thread: psycopg is blocking) follows the database with
cockpit.run.runs_feed.RunsFeed, which reads again on each committed journal
record (LISTEN/NOTIFY) or every few seconds, and posts each read here as a
message; the table only draws. The note over the table says plainly when
there is nothing to read: no `[state] dsn` in the config, or the database
unreachable (then the last runs read stay, marked STALE with their time), so
an empty table is only ever "no runs yet".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from cockpit.format import format_clock
from cockpit.views.runs import NO_RUNS, run_cells, state_kind
from cockpit.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from cockpit.app.cockpit_app import CockpitApp

NO_DSN = ("? no [state] dsn configured: the runs pane reads the state database "
          "(add [state] dsn = \"postgresql://…\" and run `cockpit state init`)")


class RunsRead(Message):
    """One read of the runs (or why there is none), from the screen's worker."""

    def __init__(self, snapshot: Any = None, problem: str | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot  # a cockpit.run.runs_feed.RunsSnapshot, None with `problem`
        self.problem = problem  # nothing can be read at all (no [state] dsn, a bad config)


def runs_note(snapshot: Any, now: float) -> tuple[str, str]:
    """(note, kind) over the table: what the rows are, or why they cannot be trusted."""
    rows = snapshot.rows
    if snapshot.error is not None:
        if rows is None:
            return f"? the state database cannot be reached: {snapshot.error}", "unknown"
        age = max(0.0, now - (snapshot.read_at or now))
        return (f"◷ STALE: the runs as of {format_clock(snapshot.read_at, zone=True)} ({age:.0f}s ago); "
                f"the state database stopped answering: {snapshot.error}"), "stale"
    if not rows:
        return f"✔ {NO_RUNS} (read {format_clock(snapshot.read_at, zone=True)})", "ok"
    count = f"{len(rows)} run{'s' if len(rows) != 1 else ''}"
    return (f"✔ {count} · read {format_clock(snapshot.read_at, zone=True)} · again on each journal record, "
            "else every 5s"), "ok"


class RunsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    RunsScreen {
        align: center middle;
    }
    RunsScreen > Vertical {
        width: 100%;
        height: 100%;
        background: $surface;
    }
    RunsScreen #runs-title {
        height: 1;
        padding: 0 1;
        text-style: bold;
        background: $panel;
    }
    """

    BINDINGS = [
        Binding("escape,q,R", "close", "Close", id="runs-close", tooltip="Back to the pane underneath"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
    ]

    AUTO_FOCUS = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("RUNS in the state database · read-only", id="runs-title")
            yield RunsTable(id="runs")
            yield Footer()

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    def on_mount(self) -> None:
        self._follow_runs()

    @work(name="runs", group="runs", exclusive=True, thread=True, exit_on_error=False,
          description="follow the runs in the state database")
    def _follow_runs(self) -> None:
        """Thread: the feed's loop until the screen closes; every read (or failure) becomes a RunsRead."""
        worker = get_current_worker()
        try:
            config = self.cockpit.config
        except Exception as exc:  # noqa: BLE001 - the pane says why it cannot read, never a blank table
            self.post_message(RunsRead(problem=f"? the config cannot be read: {exc}"))
            return
        if config.state is None:
            self.post_message(RunsRead(problem=NO_DSN))
            return
        from cockpit.run.runs_feed import RunsFeed

        feed = RunsFeed(config.state, config.redactor())
        feed.follow(lambda snapshot: self.post_message(RunsRead(snapshot)), lambda: worker.is_cancelled)

    @on(RunsRead)
    def _runs_read(self, message: RunsRead) -> None:
        table = self.query_one(RunsTable)
        if message.problem is not None:
            table.show(message.problem, "unknown", [])
            return
        snapshot = message.snapshot
        note, kind = runs_note(snapshot, self.cockpit.clock.now())
        rows = snapshot.rows or ()
        table.show(note, kind, [(run_cells(row), state_kind(row)) for row in rows],
                   [run_cells(row, compact=True) for row in rows])

    def action_close(self) -> None:
        self.workers.cancel_group(self, "runs")
        self.dismiss(None)

    def action_scroll(self, lines: int) -> None:
        table = self.query_one(RunsTable)
        if lines > 0:
            table.scroll_down(animate=False)
        else:
            table.scroll_up(animate=False)
