"""The Textual App: wires the engine (checks, the canary's journal and control socket, evidence) to the screens.

The App is a client of the canary process: it follows the run's journal in a
thread (new lines are posted as messages and applied to a CanaryView in one
batch) and sends commands over the run's control socket in workers, so quitting
it never stops a canary. Each kind of background work is an @work method that
posts one typed message (app/messages.py) handled with @on; every failure is a
WorkFailed and becomes a visible status in one handler. The words the screens
show about the run come from app/status_line.py.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.driver import Driver
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from cockpit.app import status_line
from cockpit.app.messages import (
    CanaryLaunched,
    CheckCancelled,
    CheckFailed,
    CheckFinished,
    ConfigLoaded,
    ControlFailed,
    ControlReplied,
    DrillEnded,
    GateRecorded,
    GoLoaded,
    JournalEvents,
    JournalFailed,
    MilestoneWork,
    NoteSaved,
    SealDone,
    TickFailed,
    TickRecorded,
    TicksLoaded,
    WorkFailed,
)
from cockpit.app.status_line import Said, StatusLine
from cockpit.app.terminal_output import TerminalShadow
from cockpit.clock import Clock, SystemClock, iso_utc
from cockpit.engine.checklist_panes import CHECKLISTS
from cockpit.engine.run_of_show import Milestone, RunOfShow, run_of_show
from cockpit.events import Event
from cockpit.format import format_clock, format_weight
from cockpit.run.journal import JOURNAL_NAME
from cockpit.run.journal_tail import JournalTail
from cockpit.screens.base import CockpitScreen
from cockpit.screens.warroom import WarRoomScreen
from cockpit.themes.palette import DEFAULT, LOW_COLOR, register_themes
from cockpit.views.canary import CanaryView
from cockpit.views.face import ScreenFace, face_of

if TYPE_CHECKING:
    from rich.text import Text

    from cockpit.config import CockpitConfig
    from cockpit.engine.checklist import Checklist
    from cockpit.engine.go import GoState
    from cockpit.evidence import EvidenceStore
    from cockpit.results import CheckResult
    from cockpit.screens.tick import TickRequest

CONTROL_SOCKET = "control.sock"  # cockpit.run.control.SOCKET_NAME (imported lazily with its client)
CONTROL_TIMEOUT = 10.0
ROLLBACK_REPLY_WAIT = 3.0  # < CONTROL_TIMEOUT: the run's reply comes before our socket gives up
NOTES_FILE = "warroom_notes.txt"
PANES = ["warroom"] + [key for key, _, _ in CHECKLISTS]
PANE_TITLES = {"warroom": "War room", **{key: title for key, title, _ in CHECKLISTS}}


# After a frame for new data, the next clock tick waits this many periods (see refresh_screens).
LATE_TICK = 1.25


@dataclass
class TuiOptions:
    """What the cockpit shows and may do; built by cockpit.cli.screens from the command line.

    The first screen is drawn from `face`; the validated config itself (`config`, else loaded from
    `config_path` or the built-in defaults) is needed only once that screen is up (CockpitApp.config).
    """

    config: CockpitConfig | None = None
    face: ScreenFace | None = None  # made from `config` when not given
    mode: str = "live"  # live (the IC's cockpit) | attach (read-only viewer) | watch (the first night, read-only) | drill
    version: str | None = None
    config_path: Path | None = None
    evidence_root: Path = Path("evidence")
    t0: float | None = None
    theme: str = DEFAULT
    low_color: bool = False
    operator: str = ""  # initials (--by), sent as "by"; the run also knows the user from the socket
    follow_journal: bool = True
    tick_every: float | None = 1.0  # the countdown/STALE clock; None: no timer (snapshot tests)
    poll_every: float = 0.5  # how often the journal file is looked at
    blink: bool = True  # input cursors blink (off for deterministic snapshots)
    drill_scenario: str | None = None  # drill mode: the scenario T-0 runs against the simulated service
    drill_stage_seconds: float | None = None
    resume_gc: bool = False  # the command paused the cyclic GC for start-up: resume it once the first screen is drawn

    def __post_init__(self) -> None:
        if self.face is None:
            if self.config is None:
                raise ValueError("TuiOptions needs a config or its face")
            self.face = face_of(self.config)

    @property
    def who(self) -> str:
        """A name for records this screen writes itself (notes, the green button): the initials, else the login."""
        if self.operator:
            return self.operator
        import getpass

        try:
            return getpass.getuser()
        except Exception:  # no login name in this environment
            return "ic"

    @property
    def read_only(self) -> bool:
        return self.mode in ("attach", "watch")

    @property
    def run_dir(self) -> Path | None:
        return self.evidence_root / self.version if self.version else None

    @property
    def journal_path(self) -> Path | None:
        return self.run_dir / JOURNAL_NAME if self.run_dir else None

    @property
    def control_path(self) -> Path | None:
        return self.run_dir / CONTROL_SOCKET if self.run_dir else None


def checklist_pane(key: str) -> Screen:
    """A checklist pane's screen; its module is imported when the pane is first opened (faster first screen)."""
    if key == "gonogo":
        from cockpit.screens.gonogo import GoNoGoScreen

        return GoNoGoScreen(key)
    if key == "ritual":
        from cockpit.screens.ritual import RitualScreen

        return RitualScreen(key)
    from cockpit.screens.checklist import ChecklistScreen

    return ChecklistScreen(key)


class CockpitApp(App[int]):
    TITLE = "Release Cockpit"
    # The war room is the first mode: its screen is built and resumed once (no blank default screen first).
    DEFAULT_MODE = "warroom"

    BINDINGS = [
        Binding("question_mark", "help", "Help", id="help", tooltip="Keys and how to read the statuses"),
        Binding("colon", "command_palette", "Commands", id="palette", show=False),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit the cockpit (a running canary keeps running)"),
        Binding("R", "runs", "Runs", id="runs", show=False, tooltip="The runs in the state database ([state] dsn), read-only"),
        *(Binding(str(n), f"pane('{key}')", PANE_TITLES[key], show=False, id=f"pane-{n}") for n, key in enumerate(PANES, 1)),
    ]

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, but on Linux one whose input thread sleeps until a key (app/input_driver.py)."""
        driver = super().get_driver_class()
        if driver.__name__ == "LinuxDriver" and driver.__module__ == "textual.drivers.linux_driver":
            from cockpit.app.input_driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver

    def __init__(self, options: TuiOptions, clock: Clock | None = None, view: CanaryView | None = None) -> None:
        super().__init__(ansi_color=True if options.low_color else None)
        self.options = options
        self.clock: Clock = clock or SystemClock()
        self.view = view or CanaryView()
        assert options.face is not None  # TuiOptions makes it
        self.face: ScreenFace = options.face
        self.milestones = [Milestone(name, offset, short) for name, offset, short in self.face.milestones]
        self.stale_after = max(10.0, 2.5 * self.face.evaluate_every)
        self.config_error: str | None = None  # the config failed to load after the first screen: the command says so
        self.sealed: str | None = None
        self.go: GoState | None = None  # the engine's GO state, read from the evidence by the loader
        self._results_lock = threading.Lock()  # results_<phase>.json is read, merged and written by one thread at a time
        self.chain_error: str | None = None
        self.bad_lines = 0
        self.said: Said | None = None  # the status bar's latest word
        self._drill_started = False
        self.drill_environment: Any = None  # drill mode: the simulated service, Prometheus, database (made with the config)
        self.milestone_work: frozenset[str] = frozenset()  # pre-T-0 work whose evidence exists
        self._plan_milestones: tuple[tuple[tuple[Any, Any], ...] | None, list[Any]] = (None, [])
        self._stop = threading.Event()
        self._clock: Timer | None = None  # the next clock tick; every frame schedules it again (refresh_screens)
        self._terminal = TerminalShadow()
        self._status_bars: weakref.WeakKeyDictionary[Screen, list[Any]] = weakref.WeakKeyDictionary()
        self._config_lock = threading.Lock()
        register_themes(self)
        self.theme = LOW_COLOR if options.low_color else options.theme
        self.add_panes()
        self._tail = self._read_journal_so_far()

    def _read_journal_so_far(self) -> JournalTail | None:
        """Fold the journal as it stands into the view before the first screen is composed.

        The first screen then shows the run's state as it is (no empty screen repainted a moment later);
        the follower thread goes on from where this read stopped.
        """
        if not (self.options.follow_journal and self.options.journal_path is not None):
            return None
        tail = JournalTail(self.options.journal_path)
        # One chunk (1 MB, the whole journal of a canary): a 24 h journal goes on in the follower thread,
        # and its first screen comes while the rest streams in.
        self.view.apply_all(tail.read_new())
        self.chain_error, self.bad_lines = tail.chain_error, tail.bad_lines
        return tail

    @property
    def config(self) -> CockpitConfig:
        """The validated config: as given, else loaded in this process when first needed (after the first screen)."""
        with self._config_lock:  # the loading thread, or the screen needing it first
            if self.options.config is None and self.options.mode == "drill":
                # The drill's checks run against its own service, Prometheus and database: their config.
                from cockpit.drill.environment import DrillEnvironment

                self.drill_environment = DrillEnvironment(self.options.drill_scenario, self.options.evidence_root)
                self.options.config = self.drill_environment.config()
            if self.options.config is None:
                from cockpit.config import load_config

                self.options.config = load_config(self.options.config_path)
            return self.options.config

    @cached_property
    def checklists(self) -> dict[str, Checklist]:
        from cockpit.engine.checklist import build_checklists

        return build_checklists(self.config)

    @cached_property
    def store(self) -> EvidenceStore | None:
        """The release's evidence folder (None without a version), redacting every secret in the config."""
        if not self.options.version:
            return None
        from cockpit.evidence import EvidenceStore

        return EvidenceStore(self.options.evidence_root, self.options.version, self.config.redactor())

    def gate(self) -> GoState | None:
        """The engine's GO state as last read from the evidence (None: not read yet, or no release version)."""
        return self.go

    def add_panes(self) -> None:
        """The war room (the first mode) and the checklist panes."""
        self.add_mode("warroom", WarRoomScreen)
        for key, _, _ in CHECKLISTS:
            self.add_mode(key, partial(checklist_pane, key))

    # ------------------------------------------------------------ lifecycle

    def _display(self, screen: Screen, renderable: Any) -> None:
        """Write only the cells that changed since the last frame (app/terminal_output.py); skip empty frames.

        Only when Textual is about to write to a real terminal: a headless or batched frame writes nothing, so the
        shadow must not take it for written.
        """
        if (renderable is not None and self._running and not self._closed and not self.is_headless
                and self._driver is not None and not self._batch_count and not self.is_inline):
            renderable = self._terminal.frame(renderable, self.console)
            if renderable is None:
                self.post_display_hook()
                return
        super()._display(screen, renderable)

    def on_resize(self) -> None:
        self._terminal.forget()  # the terminal may have reflowed what it showed: the next frame is written whole

    def on_mount(self) -> None:
        if self._tail is not None:
            self._follow_journal()
        if self.options.tick_every:
            self._clock = self.set_timer(self.options.tick_every, self._clock_tick)
        self.call_after_refresh(self._validate_config)

    def on_unmount(self) -> None:
        self._stop.set()
        if self.drill_environment is not None:  # PostgreSQL and pgBouncer are daemons: stop them now
            self.drill_environment.close()

    def _report(self, message: Message) -> None:
        """Post a worker's outcome, unless the worker was cancelled meanwhile (the App is closing)."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    @work(name="config-load", group="config", exclusive=True, thread=True, exit_on_error=False,
          description="validate the config in this process")
    def _validate_config(self) -> None:
        """Thread, once the first screen is drawn: the validated config (a moment ago in a child process).

        What the first screen does not need waits until it is drawn: the config itself, then the ticks, the GC.
        pydantic takes ~0.25 s: the screen keeps painting meanwhile.
        """
        from cockpit.config_file import ConfigError

        try:
            _ = self.config
        except ConfigError as exc:  # changed on disk since the child looked: the command prints it as one line
            self._report(ConfigLoaded(str(exc)))
            return
        if self.drill_environment is not None:  # the simulated service now; the database starts in the background
            self.drill_environment.start()
        self._report(ConfigLoaded(None))

    @on(ConfigLoaded)
    def _config_loaded(self, message: ConfigLoaded) -> None:
        if message.error is not None:
            self.config_error = message.error
            self.exit(2)
            return
        if self.drill_environment is not None:  # from the loop's thread: Prometheus dies with this process
            self.drill_environment.launch_prometheus()
        if self.options.resume_gc:
            # The command paused the cyclic GC for start-up. What start-up built lives as long as the app:
            # frozen, later collections (every few ms while the journal streams in) no longer walk it.
            gc.freeze()
            gc.enable()
        if self.store is not None:  # a viewer may read the ticks too; only ticking is the IC's
            self._read_ticks()
            self._read_milestone_work()
            self.reload_go()
        self.refresh_screens()

    def reload_go(self) -> None:
        """Ask the engine's GO again (after anything that changes the evidence it reads)."""
        if self.store is not None and self.options.mode != "drill":
            self._load_go()

    @work(name="go-load", group="go", thread=True, exit_on_error=False, description="read the GO state")
    def _load_go(self) -> None:
        """Thread: the one loader reads the release's evidence and the engine decides GO."""
        from cockpit.checks.go_loader import load_go

        assert self.store is not None
        self._report(GoLoaded(load_go(self.config, self.store)))

    @on(GoLoaded)
    def _go_loaded(self, message: GoLoaded) -> None:
        self.go = message.state
        self.refresh_screens()

    @work(name="ticks-load", group="ticks", thread=True, exit_on_error=False, description="read ticks.jsonl")
    def _read_ticks(self) -> None:
        """Thread: the ticks recorded so far (by this screen before, or by `cockpit tick`)."""
        from cockpit.checks.ticks import read_ticks

        assert self.store is not None
        self._report(TicksLoaded(read_ticks(self.store)))

    @on(TicksLoaded)
    def _ticks_loaded(self, message: TicksLoaded) -> None:
        for tick in message.ticks.latest().values():
            for checklist in self.checklists.values():
                checklist.apply_tick(tick)
        self.refresh_screens()

    @work(name="journal", group="journal", exclusive=True, thread=True, exit_on_error=False,
          description="follow the run's journal")
    def _follow_journal(self) -> None:
        """Thread: read new journal lines and post them; wakes every poll_every, stops on cancel or exit."""
        worker = get_current_worker()
        tail = self._tail
        assert tail is not None
        try:
            while not worker.is_cancelled and not self._stop.is_set():
                events = tail.read_new()
                if events or tail.reset:
                    self.post_message(JournalEvents(events, tail.reset, tail.chain_error, tail.bad_lines))
                if not tail.behind:
                    self._stop.wait(self.options.poll_every)
        except Exception as exc:  # noqa: BLE001 - the screen must say it stopped updating
            self.post_message(JournalFailed(exc))

    @on(JournalEvents)
    def _journal_events(self, message: JournalEvents) -> None:
        if message.reset:
            self.view = CanaryView(history=self.view.history, log_lines=self.view.log_lines)
        self.view.apply_all(message.events)
        self.chain_error = message.chain_error
        self.bad_lines = message.bad_lines
        self.refresh_screens()

    def feed(self, events: list[dict[str, Any]]) -> None:
        """Apply events directly (a drill in this process, tests) and repaint."""
        self.view.apply_all(events)
        self.refresh_screens()

    def _clock_tick(self) -> None:
        self.refresh_screens(tick=True)

    def refresh_screens(self, tick: bool = False) -> None:
        """Repaint the top-most cockpit pane (a modal on top still shows it updating behind).

        The frame draws the clocks too, so the clock's next tick comes a period after it. After a frame for
        new data, a little more: samples come about once a period, and a tick just before each would draw
        every second twice (twice the bytes and CPU). Once data stops, the clocks run a quarter period late once.
        """
        with self.batch_update():
            for screen in reversed(self.screen_stack):
                if isinstance(screen, CockpitScreen):
                    if screen.is_mounted:
                        screen.show_state()
                    break
        if self._clock is not None and self.options.tick_every:
            # Always stopped, even from its own tick: a tick already queued when new data came would
            # otherwise start a second chain of ticks beside the new one, and each such race one more.
            self._clock.stop()
            self._clock = self.set_timer(self.options.tick_every * (1 if tick else LATE_TICK), self._clock_tick)

    # ------------------------------------------------------------ what the screens show

    def mode_label(self) -> Text:
        """The header's mode badge and the release."""
        return status_line.mode_label(self.options.mode, self.options.read_only, self.view, self.options.version)

    def phase_text(self) -> str:
        """Where the release stands, in a few words."""
        return status_line.phase_text(self.view, self.run_of_show(self.clock.now()))

    def outcome_text(self) -> str | None:
        """Instead of "next milestone" once the canary cannot go on: what happened and what is left."""
        return status_line.outcome_text(self.view)

    def skipped_milestones(self) -> frozenset[str]:
        """Milestones a rollback cut off: the later stages and the first night."""
        stage_count = len(self.view.plan or self.face.stages)
        return status_line.skipped_milestones(self.view, (m.name for m in self._milestones()), stage_count)

    def run_of_show(self, now: float) -> RunOfShow | None:
        t0 = self.view.started_at if self.view.started_at is not None else self.options.t0
        return None if t0 is None else run_of_show(self._milestones(), t0, now, self.milestone_work)

    @work(name="milestones", group="milestones", exclusive=True, thread=True, exit_on_error=False,
          description="look for the milestones' evidence")
    def _read_milestone_work(self) -> None:
        """Thread: which pre-T-0 work has its evidence file (preflight.txt, micro_blast_<v>.log, …)."""
        self._report(MilestoneWork(self._milestone_evidence()))

    def _milestone_evidence(self) -> frozenset[str]:
        """The pre-T-0 work whose evidence file exists (file I/O: call it from a thread)."""
        from cockpit.engine.run_of_show import evidence_names

        assert self.store is not None
        folder = self.store.dir
        return frozenset(work for work, name in evidence_names(self.store.version).items() if (folder / name).exists())

    @on(MilestoneWork)
    def _milestone_work(self, message: MilestoneWork) -> None:
        if message.done != self.milestone_work:
            self.milestone_work = message.done
            self.refresh_screens()

    def _milestones(self) -> list[Any]:
        """The configured run-of-show; without one, the stage times of the plan the run actually follows."""
        if self.face.custom_milestones or not self.view.plan:
            return self.milestones
        key = tuple((s.get("weight"), s.get("hold")) for s in self.view.plan)
        if key != self._plan_milestones[0]:  # built again only when the plan changed: this runs thrice a tick
            self._plan_milestones = (key, self._milestones_of(key))
        return self._plan_milestones[1]

    def _milestones_of(self, plan: tuple[tuple[Any, Any], ...]) -> list[Any]:
        from types import SimpleNamespace

        stages = [SimpleNamespace(weight=weight, hold=hold) for weight, hold in plan]
        if any(not isinstance(p.weight, (int, float)) or not isinstance(p.hold, (int, float)) for p in stages):
            return self.milestones
        from cockpit.engine.run_of_show import default_milestones

        return default_milestones(stages)

    def plan_weights(self) -> list[float]:
        return self.face.stage_weights()

    def alarm(self) -> bool:
        """The header turns red."""
        return status_line.alarm(self.view)

    def stale_limit(self) -> float:
        """Seconds without a new sample before a signal reads STALE."""
        return status_line.stale_limit(self.view, self.stale_after)

    def status(self) -> StatusLine:
        """What the status bar shows now."""
        return status_line.status_line(self.view, mode=self.options.mode, read_only=self.options.read_only,
                                       version=self.options.version, now=self.clock.now(), said=self.said,
                                       chain_error=self.chain_error, stale_after=self.stale_after)

    def show_status(self, screen: Screen) -> None:
        """Put the status line on the screen's status bar."""
        from cockpit.widgets.status_bar import StatusBar

        line = self.status()
        bars = self._status_bars.get(screen)
        # Looked up once per screen (this runs on every tick), again if a bar was replaced: never a stale one.
        if bars is None or not all(bar.is_attached for bar in bars):
            bars = self._status_bars[screen] = list(screen.query(StatusBar))
        for bar in bars:
            bar.show(line.mode, line.info, line.clock, rollback_key=line.rollback_key, alert=line.alert)

    def say(self, text: str, alert: bool = False, toast: bool | None = None) -> None:
        """Put a word in the status bar (and, for alerts, one toast at a time: they cover part of the screen)."""
        self.said = Said(text, alert, self.clock.now())
        if alert if toast is None else toast:
            self.clear_notifications()
            self.notify(text, severity="error", timeout=6)
        self.refresh_screens()

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rollback", "note", "operator") and self.options.read_only:
            return False  # a viewer has no rollback key at all
        if action == "pane" and self.options.mode == "watch":
            return False  # the first-night view is one screen
        return True

    def action_pane(self, key: str) -> None:
        if key in PANES and self.current_mode != key:
            self.switch_mode(key)

    def action_runs(self) -> None:
        from cockpit.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def action_help(self) -> None:
        from cockpit.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.view.live and not self.options.read_only:
            from cockpit.screens.confirm import ConfirmScreen

            pid = f" (pid {self.view.pid})" if self.view.pid else ""
            body = (f"The canary {self.view.version or ''} keeps running{pid}: quitting closes this screen only.\n"
                    f"Come back with `cockpit tui … {self.view.version or ''}` or watch with `cockpit attach`.")
            self.push_screen(ConfirmScreen("Quit the cockpit while the canary runs?", body),
                             callback=lambda yes: self.exit(0) if yes else None)
            return
        self.exit(0)

    def action_note(self) -> None:
        if self.options.read_only:
            return
        self.action_pane("warroom")
        self.call_after_refresh(lambda: self.screen.run_action("note"))

    def action_rollback(self) -> None:
        """ctrl+r: a modal that wants the version typed; never a one-key rollback."""
        from cockpit.screens.rollback import RollbackConfirmScreen

        if self.options.read_only or isinstance(self.screen, RollbackConfirmScreen):
            return
        version = self.view.version or self.options.version
        control = self.options.control_path
        if version is None or control is None:
            self.say("nothing to roll back: the cockpit was started without a release version", alert=True)
            return
        if not self.view.live and not control.exists():
            self.say(f"nothing to roll back: no live canary for {version} (no {control.name})", alert=True)
            return
        view = self.view
        where = f"stage {view.stage} ({format_weight(view.weight)})" if view.stage is not None else "no stage yet"
        verdict = " ".join(view.decision.verdict[:2]) if view.decision else "no decision yet"
        situation = f"Now: {where} · engine says {verdict}.\nTraffic goes back to the stable track."
        self.push_screen(RollbackConfirmScreen(version, situation), callback=self._rollback_confirmed)

    def _rollback_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            self.say("rollback cancelled: nothing was sent")
            return
        self.say("rollback requested: waiting for the canary process…")
        # wait: the run answers once its rollback command ran, or after this many seconds (within our timeout);
        # the journal shows the progress either way.
        self.send_control({"command": "rollback", "reason": "IC confirmed rollback in the cockpit",
                           "wait": ROLLBACK_REPLY_WAIT}, "rollback")

    def operator_command(self, command: str) -> None:
        """hold / resume / promote from the command palette; resume and promote ask first."""
        if self.options.read_only:
            return
        request = {"command": command, "reason": f"IC {command} from the cockpit"}
        if command == "hold":
            self.send_control(request, command)
            return
        from cockpit.screens.confirm import ConfirmScreen

        what = {"resume": "End the hold and let the stage finish?",
                "promote": "End this stage now and go to the next weight?"}[command]
        self.push_screen(ConfirmScreen(f"{command.capitalize()} the canary?", what),
                         callback=lambda yes: self.send_control(request, command) if yes else None)

    # ------------------------------------------------------------ control socket

    def send_control(self, request: dict[str, Any], label: str) -> None:
        if self.options.control_path is None:
            self.say(f"{label} not sent: no release version", alert=True)
            return
        if self.options.operator:  # initials from --by; the run records the user from the socket itself
            request = {**request, "by": self.options.operator}
        self._request_control(self.options.control_path, request, label)

    @work(name="control", group="control", thread=True, exit_on_error=False,
          description="send a command to the live run")
    def _request_control(self, path: Path, request: dict[str, Any], label: str) -> None:
        """Thread: one request over the run's control socket; ControlReplied, or ControlFailed."""
        from cockpit.run.control import control_request

        try:
            reply = control_request(path, request, CONTROL_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - ControlError (one line) or worse: either is shown
            self._report(ControlFailed(label, exc))
            return
        self._report(ControlReplied(label, reply))

    @on(ControlReplied)
    def _control_replied(self, message: ControlReplied) -> None:
        text, alert = status_line.control_reply_line(message.label, message.reply)
        self.say(text, alert=alert)

    def send_note(self, text: str) -> None:
        if self.options.read_only:
            return
        control = self.options.control_path
        if control is not None and control.exists():
            self.send_control({"command": "note", "text": text}, "note")
        elif self.store is not None:
            self._save_note(f"{iso_utc(self.clock.now())} {self.options.who}: {text}", text)
        else:
            self._local_line(f"note ({self.options.who}): {text} — not saved: no release version")

    def send_ic_call(self, call: str) -> None:
        """The IC's own call to the live run (journaled as ic_call); without one there is nothing to call on."""
        if self.options.read_only:
            return
        control = self.options.control_path
        if control is None or not control.exists():
            self.say(f"IC call {call} not recorded: no live canary to record it beside", alert=True)
            return
        self.send_control({"command": "note", "call": call}, f"IC call {call}")

    @work(name="note", group="evidence", thread=True, exit_on_error=False, description="save a note")
    def _save_note(self, line: str, text: str) -> None:
        """Thread: no canary to journal it, so the note goes to warroom_notes.txt in the evidence."""
        assert self.store is not None
        self.store.append_line(NOTES_FILE, line)
        self._report(NoteSaved(text))

    @on(NoteSaved)
    def _note_saved(self, message: NoteSaved) -> None:
        self._local_line(f"note ({self.options.who}): {message.text} — saved to {NOTES_FILE} (no canary running)")
        self.refresh_screens()

    def _local_line(self, text: str) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, WarRoomScreen):
                screen.add_local_line(f"{format_clock(self.clock.now())} {text}")

    # ------------------------------------------------------------ checklists

    def run_item(self, key: str, check_id: str) -> None:
        if self.options.read_only:
            return
        if self.store is None:
            self.say("checks need a release version for their evidence: start with `cockpit tui --config FILE VERSION`",
                     alert=True)
            return
        checklist = self.checklists[key]
        item = checklist.item(check_id)
        if item is None or item.running:
            return
        checklist.start(check_id, self.clock.now())
        self._run_check(key, check_id, item.spec)
        self.refresh_screens()

    @work(name="check", group="checks", exit_on_error=False, description="run a checklist item's check")
    async def _run_check(self, key: str, check_id: str, spec: Any) -> None:
        """A check, concurrently with the others: CheckFinished, CheckFailed (it could not run) or CheckCancelled."""
        try:
            result = await self._check_result(spec)
        except asyncio.CancelledError:
            self.post_message(CheckCancelled(key, check_id))
            raise
        except Exception as exc:  # noqa: BLE001 - the item shows it could not run, never a silent spinner
            self._report(CheckFailed(key, check_id, exc))
            return
        self._report(CheckFinished(key, check_id, result))

    async def _check_result(self, spec: Any) -> CheckResult:
        from cockpit.checks.runner import CheckContext, close_sources, run_check

        assert self.store is not None and self.options.version is not None
        config = self.config
        ctx = CheckContext(config=config, version=self.options.version, evidence=self.store, clock=self.clock,
                           redactor=config.redactor())
        try:
            if self.drill_environment is not None:
                from cockpit.drill.environment import run_drill_check

                return await run_drill_check(self.drill_environment, spec, ctx, self.say)
            return await run_check(spec, ctx)
        finally:
            await close_sources(ctx)

    @on(CheckFinished)
    def _check_finished(self, message: CheckFinished) -> None:
        self.checklists[message.key].record(message.result)
        self._write_phase_summary(message.key)
        if message.result.phase == "blast":  # its evidence marks the T-9 milestone
            self._read_milestone_work()
        if message.result.phase != "gonogo" and self.store is not None:
            self._record_result(message.result)
        self.refresh_screens()

    @work(name="results", group="evidence", thread=True, exit_on_error=False, description="record a check's result")
    def _record_result(self, result: CheckResult) -> None:
        """Thread: the result merged into results_<phase>.json (what GO reads), then GO asked again."""
        from cockpit.checks.gate_records import write_phase_results
        from cockpit.checks.go_loader import load_go

        assert self.store is not None
        with self._results_lock:
            write_phase_results(self.store, result.phase, [result])
        self._report(GoLoaded(load_go(self.config, self.store)))

    @on(CheckCancelled)
    def _check_cancelled(self, message: CheckCancelled) -> None:
        self.checklists[message.key].fail(message.check_id, "cancelled")
        self.refresh_screens()

    @on(CheckFailed)
    def _check_failed(self, message: CheckFailed) -> None:
        self.checklists[message.key].fail(message.check_id, message.reason)  # the alert: _work_failed

    def ask_tick(self, key: str, check_id: str) -> None:
        if self.options.read_only:
            return
        if self.store is None:
            self.say("ticks are evidence: start the cockpit with a release version", alert=True)
            return
        checklist = self.checklists[key]
        item = checklist.item(check_id)
        if item is None:
            return
        from cockpit.screens.tick import TickScreen

        if item.acceptable and item.result is not None:
            prompt = f"Accept this {item.result.status.value} (shows as ACCEPTED, never PASS): {item.result.summary}"
            self.push_screen(
                TickScreen(item.title, prompt, partial(checklist.check_tick, check_id), note_required=True,
                           verb="Accept"),
                callback=partial(self._accept_answered, key, check_id),
            )
            return
        if item.computed:
            source = getattr(item.spec, "source", "")
            self.say(f"{item.title} is computed from the {source} evidence: it cannot be ticked (enter re-computes it)")
            return
        if not item.tickable:
            self.say(f"{item.title}: only manual items are ticked; a WARN or UNKNOWN result can be accepted")
            return
        prompt = getattr(item.spec, "prompt", "") or item.spec.description or ""
        self.push_screen(
            TickScreen(item.title, prompt, partial(checklist.check_tick, check_id), note_required=False),
            callback=partial(self._tick_answered, key, check_id),
        )

    def _accept_answered(self, key: str, check_id: str, request: TickRequest | None) -> None:
        item = self.checklists[key].item(check_id)
        if request is None or self.store is None or item is None or item.result is None:
            return
        self._record_acceptance(check_id, item.result, request)

    @work(name="accept", group="ticks", thread=True, exit_on_error=False, description="record an acceptance")
    def _record_acceptance(self, check_id: str, result: CheckResult, request: TickRequest) -> None:
        """Thread: the acceptance appended to acceptances.jsonl, then GO asked again."""
        from cockpit.checks.gate_records import record_acceptance
        from cockpit.engine.go import RecordedResult

        assert self.store is not None
        recorded = RecordedResult(result.id, result.title, result.status, result.summary, result.started_at)
        accepted = record_acceptance(self.store, check_id, recorded, request.initials, request.note, self.clock)
        self._report(GateRecorded(f"ACCEPTED: {check_id} {result.status.value} by {accepted.by}", check_id, accepted))

    def ask_signoff(self) -> None:
        """The GO/NO-GO pane's sign-off modal: role, GO or NO-GO, initials, note."""
        if self.options.read_only or self.store is None:
            return
        if not self.config.roles:
            self.say("no sign-off roles configured ([[roles]] in cockpit.toml)")
            return
        from cockpit.screens.signoff import SignoffScreen

        roles = [(r.id, r.title) for r in self.config.roles]
        self.push_screen(SignoffScreen(roles), callback=self._signoff_answered)

    def _signoff_answered(self, request: Any) -> None:
        if request is not None and self.store is not None:
            self._record_signoff(request)

    @work(name="signoff", group="ticks", thread=True, exit_on_error=False, description="record a sign-off")
    def _record_signoff(self, request: Any) -> None:
        """Thread: the signature appended to signoffs.jsonl, then GO asked again."""
        from cockpit.checks.gate_records import record_signoff

        assert self.store is not None
        signed = record_signoff(self.store, request.role, request.go, request.initials, request.note, self.clock)
        self._report(GateRecorded(f"{request.title} signed {'GO' if signed.go else 'NO-GO'} by {signed.by}"))

    @on(GateRecorded)
    def _gate_recorded(self, message: GateRecorded) -> None:
        if message.acceptance is not None:
            for checklist in self.checklists.values():
                checklist.apply_acceptance(message.acceptance)
        self.say(message.line)
        self.reload_go()
        self.refresh_screens()

    def _tick_answered(self, key: str, check_id: str, request: TickRequest | None) -> None:
        if request is None or self.store is None:
            return
        self._record_tick(key, check_id, request)

    @work(name="tick", group="ticks", thread=True, exit_on_error=False, description="record a tick")
    def _record_tick(self, key: str, check_id: str, request: TickRequest) -> None:
        """Thread: the tick appended to ticks.jsonl (the evidence); TickRecorded, or TickFailed."""
        from cockpit.checks.ticks import record_tick

        assert self.store is not None
        try:
            tick = record_tick(self.store, check_id, request.initials, request.note, True, self.clock)
        except Exception as exc:  # noqa: BLE001 - a tick that is not in the evidence must not look recorded
            self._report(TickFailed(exc))
            return
        self._report(TickRecorded(key, check_id, tick))

    @on(TickRecorded)
    def _tick_recorded(self, message: TickRecorded) -> None:
        key, check_id = message.key, message.check_id
        checklist = self.checklists[key]
        checklist.apply_tick(message.tick)
        item = checklist.item(check_id)
        self.say(f"ticked: {item.title if item else check_id} by {message.tick.initials}")
        if item is not None and item.manual:
            self.run_item(key, check_id)  # the manual check reads the tick back: its result is the evidence
        self.reload_go()
        self.refresh_screens()

    def open_detail(self, key: str, check_id: str) -> None:
        item = self.checklists[key].item(check_id)
        if item is not None:
            from cockpit.runbooks import runbook_for_check
            from cockpit.screens.detail import DetailScreen, detail_lines

            runbook = runbook_for_check(item.spec)
            self.push_screen(DetailScreen(detail_lines(item, str(self.store.dir) if self.store else None, runbook),
                                          runbook=runbook))

    # ------------------------------------------------------------ runbooks

    def rollback_failed(self) -> bool:
        """The canary's (or the night's) rollback command failed: the traffic must be moved by hand."""
        night = self.view.night
        night_failed = night is not None and night.rollback is not None and night.rollback.done and not night.rollback.ok
        return self.view.phase == "rollback_failed" or night_failed

    def action_runbook(self, name: str) -> None:
        """Open runbook `name` (the team's [runbooks] dir first, then the shipped ones) over the cockpit."""
        from cockpit.errors import CockpitError
        from cockpit.runbooks import load_runbook, runbooks_folder
        from cockpit.screens.runbook import RunbookScreen

        if isinstance(self.screen, RunbookScreen):
            return
        try:
            folder = runbooks_folder(self.config, self.options.config_path) if self.options.config_path else None
            runbook = load_runbook(name, folder)
        except CockpitError as exc:
            self.say(str(exc), alert=True)
            return
        self.push_screen(RunbookScreen(runbook))

    def ask_seal(self) -> None:
        if self.options.read_only or self.store is None:
            return
        gate = self.gate()
        if gate is None:
            self.say("GO: still reading the evidence, try again in a moment")
            return
        if not gate.ready_to_seal:
            self.say(f"NO GO: {len(gate.missing)} item(s) missing — {gate.missing[0]}", alert=True)
            return
        from cockpit.checks.ticks import validate_initials

        try:
            validate_initials(self.options.operator)
        except ValueError:
            self.say("the seal is signed with initials: start the cockpit with --by AB", alert=True)
            return
        from cockpit.screens.confirm import ConfirmScreen

        body = (f"Every file in {self.store.dir} is hashed into manifest.sha256;\n"
                "a later change to any of them shows in `cockpit evidence verify`. T-0 is then enabled.")
        self.push_screen(ConfirmScreen(f"GO: seal the evidence for {self.options.version}?", body),
                         callback=lambda yes: self._seal() if yes else None)

    def _seal(self) -> None:
        assert self.store is not None
        lines = [f"{c.title}: {c.counts()[0]}/{c.counts()[1]} required items green" for c in self.checklists.values()]
        self._write_seal(lines)

    @work(name="seal", group="evidence", thread=True, exit_on_error=False, description="seal the evidence")
    def _write_seal(self, lines: list[str]) -> None:
        """Thread: the green button (cockpit seal's own function): the folder sealed, signed by initials and time."""
        from cockpit.checks.gate_records import press_green_button

        store = self.store
        assert store is not None
        seal = press_green_button(store, self.options.operator, lines=lines, clock=self.clock)
        self._report(SealDone(store.read_manifest() or seal.files))

    @on(SealDone)
    def _sealed(self, message: SealDone) -> None:
        self.sealed = f"{len(message.files)} files in manifest.sha256 at {format_clock(self.clock.now(), zone=True)}"
        self.say(f"GO: evidence sealed — {self.sealed}")
        self._read_milestone_work()
        self.reload_go()

    def can_start_canary(self) -> str | None:
        """None when T-0 may start; else why not, in words."""
        if self.options.read_only:
            return "read-only"
        if self.options.mode == "drill":  # a rehearsal is exempt from GO and labelled DRILL everywhere
            return "this drill's canary has already run: start the cockpit again for another" if (
                self.view.started or self._drill_started) else None
        if self.go is None:
            return "GO first: the GO state is still being read from the evidence"
        if not self.go.go:
            return f"NO-GO: {len(self.go.missing)} item(s) missing — {self.go.missing[0]}"
        if self.view.started:
            return "this release's canary has already started"
        if self.options.config_path is None:
            return "no cockpit.toml: the canary process needs one (the drill starts its own)"
        return None

    def ask_start_canary(self) -> None:
        why_not = self.can_start_canary()
        if why_not is not None:
            self.say(f"cannot start the canary: {why_not}", alert=True)
            return
        from cockpit.screens.confirm import ConfirmScreen

        if self.options.mode == "drill":
            unchecked = "\nA drill is exempt from the GO gate: it is labelled DRILL everywhere."
            body = (f"DRILL: scenario {self.options.drill_scenario or 'healthy'} against the simulated service,"
                    f" time compressed.{unchecked}\nThe rollback key works on the drill's canary.")
            self.push_screen(ConfirmScreen("T-0: start the DRILL canary?", body),
                             callback=lambda yes: self._start_drill() if yes else None)
            return
        body = ("The canary runs as its own process (its journal and control socket in the evidence folder);\n"
                "quitting this screen or losing SSH does not stop it.")
        self.push_screen(ConfirmScreen(f"T-0: start the canary for {self.options.version}?", body),
                         callback=lambda yes: self._start_canary() if yes else None)

    def _start_canary(self) -> None:
        """`cockpit canary VERSION --detach`: the runner's own command starts and detaches the process."""
        import sys

        assert self.options.config_path is not None and self.options.version is not None
        argv = [sys.executable, "-m", "cockpit", "canary", self.options.version, "--detach",
                "--config", str(self.options.config_path.resolve()),
                "--evidence-dir", str(self.options.evidence_root.resolve())]
        self.say("starting the canary process…")
        self._launch_canary(argv)

    @work(name="start", group="canary", thread=True, exit_on_error=False, description="start the canary process")
    def _launch_canary(self, argv: list[str]) -> None:
        """Thread: run the command that starts and detaches the canary; CanaryLaunched with its answer."""
        import subprocess

        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self._report(CanaryLaunched(done.returncode, done.stdout or "", done.stderr or ""))

    @on(CanaryLaunched)
    def _canary_launched(self, message: CanaryLaunched) -> None:
        text, alert = status_line.canary_launch_line(message.returncode, message.stdout, message.stderr)
        self.say(text, alert=alert)

    def _start_drill(self) -> None:
        """Run the drill session (simulator + real canary engine) in this process; its journal feeds the screen."""
        self._drill_started = True
        self.say(f"DRILL: starting the simulated service and the canary ({self.options.drill_scenario or 'healthy'})…")
        self._run_drill()

    @work(name="drill", group="drill", exclusive=True, exit_on_error=False, description="run the drill")
    async def _run_drill(self) -> None:
        """The drill session in this process; DrillEnded with its canary's result."""
        from cockpit.drill.scenario import load_scenario
        from cockpit.drill.session import DrillOptions, DrillSession

        app = self

        class FaultSink:
            """The drill's fault events are not journaled: they reach the screen from here."""

            def emit(self, record: dict[str, Any]) -> None:
                if record.get("event") == Event.DRILL_FAULT:
                    app.feed([record])

        def say(text: str, loud: bool = False) -> None:
            if loud:  # the journal carries the story; the status bar gets the loud lines, without toasts
                app.say(f"DRILL: {text}", alert=True, toast=False)

        options = DrillOptions(load_scenario(self.options.drill_scenario), evidence_dir=self.options.evidence_root,
                               version=self.options.version, environment=self.drill_environment)
        if self.options.drill_stage_seconds:
            options.stage_seconds = self.options.drill_stage_seconds
        async with DrillSession(options) as drill:
            outcome = await drill.run(events=FaultSink(), say=say)
        self._report(DrillEnded(str(getattr(outcome, "result", "?")), self.options.run_dir))

    @on(DrillEnded)
    def _drill_ended(self, message: DrillEnded) -> None:
        self.say(status_line.drill_over_line(message.result, message.run_dir))

    def _write_phase_summary(self, key: str) -> None:
        """When every item of a pane has a result, write its summary file (preflight.txt, redteam_<v>.txt)."""
        from cockpit.checks.runner import PHASE_SUMMARY_FILE, summary_text

        checklist = self.checklists[key]
        if self.store is None or key not in PHASE_SUMMARY_FILE:
            return
        items = [i for i in checklist.items if i.spec.phase == key]
        if not items or any(i.result is None or i.running for i in items):
            return
        results = [i.result for i in items if i.result is not None]
        name = PHASE_SUMMARY_FILE[key].replace("{version}", self.store.version)
        text = summary_text(checklist.title, self.store.version, results)
        self._write_summary(name, text)

    @work(name="summary", group="evidence", thread=True, exit_on_error=False, description="write a phase summary")
    def _write_summary(self, name: str, text: str) -> None:
        """Thread: the pane's summary file; nothing to report unless it fails."""
        assert self.store is not None
        self.store.write_text(name, text)
        self._report(MilestoneWork(self._milestone_evidence()))  # preflight.txt, redteam_<v>.txt: T-10 and T-5
    # ------------------------------------------------------------ the one place failures land

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker raised what it did not catch itself: a WorkFailed named after its kind of work."""
        if event.state == WorkerState.ERROR:
            self.post_message(WorkFailed(event.worker.name or "worker", event.worker.error))

    @on(WorkFailed)
    def _work_failed(self, message: WorkFailed) -> None:
        """Every failure of background work becomes a visible alert, never silence."""
        self.say(message.line, alert=True)

    # ------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.options.mode == "watch":
            return
        for number, key in enumerate(PANES, 1):
            yield SystemCommand(f"Go to {PANE_TITLES[key]}", f"pane {number}", partial(self.action_pane, key))
        if self.options.read_only:
            return
        yield SystemCommand("Roll back the canary", "asks you to type the version (ctrl+r)", self.action_rollback)
        yield SystemCommand("Hold the canary", "extend the current stage", partial(self.operator_command, "hold"))
        yield SystemCommand("Resume the canary", "end a hold (asks)", partial(self.operator_command, "resume"))
        yield SystemCommand("Promote: end this stage now", "go to the next weight (asks)",
                            partial(self.operator_command, "promote"))
        yield SystemCommand("Write a note", "one line into the war-room log (n)", self.action_note)
        yield SystemCommand("Seal the evidence (green button)", "GO: only when every required item is green",
                            self.ask_seal)
        yield SystemCommand("Start the canary (T-0)", "after GO: starts the canary as its own process",
                            self.ask_start_canary)


class WatchApp(CockpitApp):
    """`cockpit watch VERSION`: the first-night screen alone, read-only, fed by the same journal follower."""

    DEFAULT_MODE = "night"

    def add_panes(self) -> None:
        from cockpit.screens.night import NightScreen

        self.add_mode("night", NightScreen)
