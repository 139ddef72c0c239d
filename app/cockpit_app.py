"""The Textual App: wires the engine (checks, the canary's journal and control socket, evidence) to the screens.

The only engine module that imports Textual. The App is a client of the canary
process: it follows the run's journal in a thread (new lines are posted as
messages and applied to a CanaryView in one batch) and sends commands over the
run's control socket in workers, so quitting it never stops a canary. Checks run
in async workers; every worker's failure lands in on_worker_state_changed and
becomes a visible status.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from cockpit.clock import Clock, SystemClock, iso_utc
from cockpit.engine.checklist_panes import CHECKLISTS
from cockpit.run.journal import JOURNAL_NAME
from cockpit.run.journal_tail import JournalTail
from cockpit.engine.run_of_show import Milestone, RunOfShow, run_of_show
from cockpit.format import format_clock, format_duration, format_weight
from cockpit.views.canary import CanaryView
from cockpit.screens.base import CockpitScreen
from cockpit.screens.warroom import WarRoomScreen
from cockpit.views.face import ScreenFace, face_of
from cockpit.themes.palette import DEFAULT, LOW_COLOR, register_themes
from cockpit.events import Event

if TYPE_CHECKING:
    from cockpit.config import CockpitConfig
    from cockpit.engine.checklist import Checklist, Gate
    from cockpit.evidence import EvidenceStore
    from cockpit.results import CheckResult
    from cockpit.screens.tick import TickRequest

CONTROL_SOCKET = "control.sock"  # cockpit.run.control.SOCKET_NAME (imported lazily with its client)
CONTROL_TIMEOUT = 10.0
ROLLBACK_REPLY_WAIT = 3.0  # < CONTROL_TIMEOUT: the run's reply comes before our socket gives up
MESSAGE_S, MESSAGE_ALERT_S = 20.0, 120.0  # how long a word stays in the status bar (clock seconds)
NOTES_FILE = "warroom_notes.txt"
PANES = ["warroom"] + [key for key, _, _ in CHECKLISTS]
PANE_TITLES = {"warroom": "War room", **{key: title for key, title, _ in CHECKLISTS}}


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


class JournalEvents(Message):
    """New journal lines, read by the follower thread (one message per read)."""

    def __init__(self, events: list[dict[str, Any]], reset: bool, chain_error: str | None, bad_lines: int) -> None:
        super().__init__()
        self.events = events
        self.reset = reset
        self.chain_error = chain_error
        self.bad_lines = bad_lines


def checklist_pane(key: str) -> Screen:
    """A checklist pane's screen; its module is imported when the pane is first opened (faster first screen)."""
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
        *(Binding(str(n), f"pane('{key}')", PANE_TITLES[key], show=False, id=f"pane-{n}") for n, key in enumerate(PANES, 1)),
    ]

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
        self.chain_error: str | None = None
        self.bad_lines = 0
        self.message: tuple[str, bool, float] | None = None  # the status bar's latest word: (text, alert, at)
        self._drill_started = False
        self._stop = threading.Event()
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

    def gate(self) -> Gate:
        """Whether GO is allowed, and what blocks it."""
        from cockpit.engine.checklist import go_gate

        return go_gate(self.checklists)

    def add_panes(self) -> None:
        """The war room (the first mode) and the checklist panes."""
        self.add_mode("warroom", WarRoomScreen)
        for key, _, _ in CHECKLISTS:
            self.add_mode(key, partial(checklist_pane, key))

    # ------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        if self._tail is not None:
            self.run_worker(self._follow_journal, name="journal", group="journal", thread=True,
                            exit_on_error=False, exclusive=True)
        if self.options.tick_every:
            self.set_interval(self.options.tick_every, self.refresh_screens)
        self.call_after_refresh(self._after_first_screen)

    def _after_first_screen(self) -> None:
        """What the first screen does not need waits until it is drawn: the config itself, then the ticks, the GC.

        The config loads in a thread (pydantic, ~0.25 s): the screen keeps painting meanwhile.
        """
        self.run_worker(self._load_config, name="config-load", thread=True, exit_on_error=False)

    def _load_config(self) -> str | None:
        """Thread: the validated config (a moment ago in a child process, now in this one); its error, if any."""
        from cockpit.config_file import ConfigError

        try:
            _ = self.config
        except ConfigError as exc:  # changed on disk since the child looked: the command prints it as one line
            return str(exc)
        return None

    def _config_loaded(self, error: str | None) -> None:
        if error is not None:
            self.config_error = error
            self.exit(2)
            return
        if self.options.resume_gc:
            # The command paused the cyclic GC for start-up. What start-up built lives as long as the app:
            # frozen, later collections (every few ms while the journal streams in) no longer walk it.
            gc.freeze()
            gc.enable()
        if self.store is not None:  # a viewer may read the ticks too; only ticking is the IC's
            from cockpit.checks.ticks import read_ticks

            self.run_worker(partial(read_ticks, self.store), name="ticks-load", group="ticks", thread=True,
                            exit_on_error=False)

    def on_unmount(self) -> None:
        self._stop.set()

    def _follow_journal(self) -> None:
        """Thread: read new journal lines and post them; wakes every poll_every, stops on cancel or exit."""
        worker = get_current_worker()
        tail = self._tail
        assert tail is not None
        while not worker.is_cancelled and not self._stop.is_set():
            events = tail.read_new()
            if events or tail.reset:
                self.post_message(JournalEvents(events, tail.reset, tail.chain_error, tail.bad_lines))
            if not tail.behind:
                self._stop.wait(self.options.poll_every)

    def on_journal_events(self, message: JournalEvents) -> None:
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

    def refresh_screens(self) -> None:
        """Repaint the top-most cockpit pane (a modal on top still shows it updating behind)."""
        with self.batch_update():
            for screen in reversed(self.screen_stack):
                if isinstance(screen, CockpitScreen):
                    if screen.is_mounted:
                        screen.show_state()
                    break

    # ------------------------------------------------------------ what the screens show

    def mode_label(self) -> Text:
        if self.options.mode == "drill":
            label = Text(" DRILL ", style="bold reverse")
        elif self.options.read_only:
            label = Text(" READ-ONLY ", style="bold reverse")
        else:
            label = Text(" LIVE " if self.view.live else " IDLE ", style="bold reverse")
        return label + Text(f" {self.view.version or self.options.version or 'no version'}")

    def status_mode(self) -> str:
        if self.options.mode == "drill":
            return "DRILL"
        if self.options.read_only:
            return "READ-ONLY"
        return "LIVE" if self.view.live else "IDLE"

    def phase_text(self) -> str:
        view = self.view
        if view.night is not None and (view.night.rollback is not None or view.result == "promoted"):
            return view.night.headline()  # after T+90 the night is the news; its rollback is never a stage's
        stage = f"stage {view.stage} ({format_weight(view.weight)})" if view.stage is not None else ""
        if view.phase == "rolling_back":
            return f"ROLLING BACK at {stage or format_weight(view.weight)}"
        if view.phase == "rollback_failed":
            return f"ROLLBACK FAILED at {stage}"
        if view.phase == "rolled_back" and view.result is None:
            return f"ROLLED BACK at {stage}: the canary is finishing"
        if view.result is not None:
            return {"promoted": "PROMOTED to 100%", "rolled_back": "ROLLED BACK"}.get(view.result, view.result.upper())
        if view.phase == "holding":
            return f"{stage.capitalize()} · HOLD"
        if view.started:
            return f"{stage.capitalize()} · running" if stage else "canary starting"
        show = self.run_of_show(self.clock.now())
        if show is not None and show.current is not None:
            return show.current.name
        return "before T-0: walk the checklists (2-5)"

    def outcome_text(self) -> str | None:
        """Instead of "next milestone" once the canary cannot go on: what happened and what is left."""
        view = self.view
        if view.phase == "rolling_back":
            return "rolling back: traffic returns to the stable track; watch the rollback timing below"
        if view.phase in ("rolled_back", "rollback_failed", "aborted"):
            done = "ROLLBACK FAILED: act by hand now" if view.phase == "rollback_failed" else "no further stages"
            return f"canary {view.phase.replace('_', ' ')}: {done}"
        return None

    def skipped_milestones(self) -> frozenset[str]:
        """Milestones a rollback cut off: the later stages and the first night."""
        view = self.view
        if view.phase not in ("rolling_back", "rolled_back", "rollback_failed", "aborted") or view.stage is None:
            return frozenset()
        later = range(view.stage + 1, len(view.plan or self.face.stages) + 1)
        return frozenset(m.name for m in self._milestones()
                         if any(m.name.startswith(f"Stage {i} (") for i in later) or m.name == "First-night monitoring")

    def run_of_show(self, now: float) -> RunOfShow | None:
        t0 = self.view.started_at if self.view.started_at is not None else self.options.t0
        return None if t0 is None else run_of_show(self._milestones(), t0, now)

    def _milestones(self) -> list[Any]:
        """The configured run-of-show; without one, the stage times of the plan the run actually follows."""
        if self.face.custom_milestones or not self.view.plan:
            return self.milestones
        from types import SimpleNamespace

        plan = [SimpleNamespace(weight=s.get("weight"), hold=s.get("hold")) for s in self.view.plan]
        if any(not isinstance(p.weight, (int, float)) or not isinstance(p.hold, (int, float)) for p in plan):
            return self.milestones
        from cockpit.engine.run_of_show import default_milestones

        return default_milestones(plan)

    def plan_weights(self) -> list[float]:
        return self.face.stage_weights()

    def alarm(self) -> bool:
        decision = self.view.decision
        night = self.view.night
        return self.view.phase in ("rolling_back", "rollback_failed") or (night is not None and night.alarm) or (
            decision is not None and "rollback" in decision.action and self.view.live)

    def stale_limit(self) -> float:
        """Seconds without a new sample before a signal reads STALE: the night's own cadence once it runs."""
        night = self.view.night
        if night is not None and night.running and night.every:
            return max(10.0, 2.5 * float(night.every))
        return self.stale_after

    def running(self) -> bool:
        """A canary or a first night is writing this journal: it should not go quiet."""
        night = self.view.night
        return self.view.live or (night is not None and night.running)

    def show_status(self, screen: Screen) -> None:
        from cockpit.widgets.status_bar import StatusBar

        now = self.clock.now()
        alert = False
        if self.chain_error:
            info, alert = f"JOURNAL CHAIN BROKEN ({self.chain_error}): what is shown may have been altered", True
        elif self.message is not None and now - self.message[2] < (MESSAGE_ALERT_S if self.message[1] else MESSAGE_S):
            info, alert = self.message[:2]
        elif self.view.last_event_at is not None:
            age = now - self.view.last_event_at
            quiet = age > self.stale_limit() and self.running()
            night = self.view.night is not None and self.view.night.running
            process = "the first-night process" if night else "the canary process"
            info = f"journal {format_duration(age, 'age')} ago" + (f" — {process} is quiet" if quiet else "")
            alert = quiet
        elif self.options.version is None:
            info = "no release version: checks cannot run"
        else:
            info = "no canary journal yet"
        if self.options.mode != "watch":
            info += "  ·  1-5 panes"
        for bar in screen.query(StatusBar):
            bar.show(self.status_mode(), info, format_clock(now, zone=True), rollback_key=not self.options.read_only,
                     alert=alert)

    def say(self, text: str, alert: bool = False, toast: bool | None = None) -> None:
        """Put a word in the status bar (and, for alerts, one toast at a time: they cover part of the screen)."""
        self.message = (text, alert, self.clock.now())
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
        from cockpit.run.control import control_request

        self.run_worker(partial(control_request, self.options.control_path, request, CONTROL_TIMEOUT),
                        name=f"control|{label}", group="control", thread=True, exit_on_error=False)

    def send_note(self, text: str) -> None:
        if self.options.read_only:
            return
        control = self.options.control_path
        if control is not None and control.exists():
            self.send_control({"command": "note", "text": text}, "note")
        elif self.store is not None:
            line = f"{iso_utc(self.clock.now())} {self.options.who}: {text}"
            self.run_worker(partial(self.store.append_line, NOTES_FILE, line), name=f"note|{text}", group="evidence",
                            thread=True, exit_on_error=False)
        else:
            self._local_line(f"note ({self.options.who}): {text} — not saved: no release version")

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
        self.run_worker(self._run_check(item.spec), name=f"check|{key}|{check_id}", group="checks",
                        exit_on_error=False)
        self.refresh_screens()

    async def _run_check(self, spec: Any) -> CheckResult:
        from cockpit.checks.runner import CheckContext, close_sources, run_check

        assert self.store is not None and self.options.version is not None
        config = self.config
        ctx = CheckContext(config=config, version=self.options.version, evidence=self.store, clock=self.clock,
                           redactor=config.redactor())
        try:
            return await run_check(spec, ctx)
        finally:
            await close_sources(ctx)

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
        if not item.tickable:
            self.say(f"{item.title}: only manual items and WARN results are ticked (enter runs the check)")
            return
        from cockpit.screens.tick import TickScreen

        prompt = getattr(item.spec, "prompt", "") or item.spec.description or ""
        if not item.manual and item.result is not None:
            prompt = f"Accept this WARN: {item.result.summary}"
        self.push_screen(
            TickScreen(item.title, prompt, partial(checklist.check_tick, check_id), note_required=not item.manual),
            callback=partial(self._record_tick, key, check_id),
        )

    def _record_tick(self, key: str, check_id: str, request: TickRequest | None) -> None:
        if request is None or self.store is None:
            return
        from cockpit.checks.ticks import record_tick

        self.run_worker(partial(record_tick, self.store, check_id, request.initials, request.note, True, self.clock),
                        name=f"tick|{key}|{check_id}", group="ticks", thread=True, exit_on_error=False)

    def open_detail(self, key: str, check_id: str) -> None:
        item = self.checklists[key].item(check_id)
        if item is not None:
            from cockpit.screens.detail import DetailScreen, detail_lines

            self.push_screen(DetailScreen(detail_lines(item, str(self.store.dir) if self.store else None)))

    def ask_seal(self) -> None:
        if self.options.read_only or self.store is None:
            return
        gate = self.gate()
        if not gate.open:
            self.say(f"NO GO: {len(gate.blocking)} required item(s) not green — {gate.blocking[0]}", alert=True)
            return
        from cockpit.screens.confirm import ConfirmScreen

        body = (f"Every file in {self.store.dir} is hashed into manifest.sha256;\n"
                "a later change to any of them shows in `cockpit evidence verify`. T-0 is then enabled.")
        self.push_screen(ConfirmScreen(f"GO: seal the evidence for {self.options.version}?", body),
                         callback=lambda yes: self._seal() if yes else None)

    def _seal(self) -> None:
        assert self.store is not None
        lines = [f"green button pressed by {self.options.who} at {iso_utc(self.clock.now())}"]
        lines += [f"{c.title}: {c.counts()[0]}/{c.counts()[1]} required items green" for c in self.checklists.values()]
        record = "\n".join(lines) + "\n"
        store = self.store

        def seal() -> dict[str, str]:
            store.write_text(f"green_button_{store.version}.txt", record)
            return store.seal()

        self.run_worker(seal, name="seal", group="evidence", thread=True, exit_on_error=False)

    def can_start_canary(self) -> str | None:
        """None when T-0 may start; else why not, in words."""
        if self.options.read_only:
            return "read-only"
        if self.options.mode == "drill":  # a rehearsal: the checklists cannot pass against nothing real
            return "this drill's canary has already run: start the cockpit again for another" if (
                self.view.started or self._drill_started) else None
        if self.sealed is None:
            return "GO first: the green button seals the evidence and enables T-0"
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
            gate = self.gate()
            unchecked = "" if gate.open else f"\nThe checklists are not green ({len(gate.blocking)} items): fine for a drill."
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
        import subprocess
        import sys

        assert self.options.config_path is not None and self.options.version is not None
        argv = [sys.executable, "-m", "cockpit", "canary", self.options.version, "--detach",
                "--config", str(self.options.config_path.resolve()),
                "--evidence-dir", str(self.options.evidence_root.resolve())]
        self.say("starting the canary process…")
        self.run_worker(partial(subprocess.run, argv, capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL),
                        name="start", group="canary", thread=True, exit_on_error=False)

    def _start_drill(self) -> None:
        """Run the drill session (simulator + real canary engine) in this process; its journal feeds the screen."""
        self._drill_started = True
        self.say(f"DRILL: starting the simulated service and the canary ({self.options.drill_scenario or 'healthy'})…")
        self.run_worker(self._run_drill(), name="drill", group="drill", exit_on_error=False, exclusive=True)

    async def _run_drill(self) -> Any:
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
                               version=self.options.version)
        if self.options.drill_stage_seconds:
            options.stage_seconds = self.options.drill_stage_seconds
        async with DrillSession(options) as drill:
            return await drill.run(events=FaultSink(), say=say)

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
        self.run_worker(partial(self.store.write_text, name, text), name=f"summary|{key}", group="evidence",
                        thread=True, exit_on_error=False)

    # ------------------------------------------------------------ the one place worker outcomes land

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        kind, _, rest = (worker.name or "").partition("|")
        if event.state == WorkerState.SUCCESS:
            self._worker_done(kind, rest, worker.result)
        elif event.state == WorkerState.ERROR:
            self._worker_failed(kind, rest, worker.error)
        elif event.state == WorkerState.CANCELLED and kind == "check":
            key, _, check_id = rest.partition("|")
            self.checklists[key].fail(check_id, "cancelled")
            self.refresh_screens()

    def _worker_done(self, kind: str, rest: str, result: Any) -> None:
        if kind == "check":
            key, _, _ = rest.partition("|")
            self.checklists[key].record(result)
            self._write_phase_summary(key)
        elif kind == "tick":
            key, _, check_id = rest.partition("|")
            checklist = self.checklists[key]
            checklist.apply_tick(result)
            item = checklist.item(check_id)
            self.say(f"ticked: {item.title if item else check_id} by {result.initials}")
            if item is not None and item.manual:
                self.run_item(key, check_id)  # the manual check reads the tick back: its result is the evidence
        elif kind == "config-load":
            self._config_loaded(result)
        elif kind == "ticks-load":
            for tick in result.latest().values():
                for checklist in self.checklists.values():
                    checklist.apply_tick(tick)
        elif kind == "control":
            ok = bool(result.get("ok")) if isinstance(result, dict) else False
            said = (result.get("message") or "") if ok else (result.get("error") or "no reason given")
            self.say(f"{rest} {'accepted' if ok else 'REFUSED'} by the canary: {said}".rstrip(": "), alert=not ok)
        elif kind == "note":
            self._local_line(f"note ({self.options.who}): {rest} — saved to {NOTES_FILE} (no canary running)")
        elif kind == "start":
            lines = [line for line in (result.stdout or "").splitlines() if line.strip()]
            if result.returncode == 0:
                self.say(f"canary started: {lines[0] if lines else 'detached'}")
            else:
                errors = [line for line in (result.stderr or "").splitlines() if line.strip()]
                self.say(f"canary did NOT start (exit {result.returncode}): {(errors or lines or ['no output'])[-1]}",
                         alert=True)
        elif kind == "drill":
            self.say(f"DRILL over: {str(getattr(result, 'result', '?')).replace('_', ' ').upper()}"
                     f" — evidence in {self.options.run_dir}")
        elif kind == "seal":
            self.sealed = f"{len(result)} files in manifest.sha256 at {format_clock(self.clock.now(), zone=True)}"
            self.say(f"GO: evidence sealed — {self.sealed}")
        self.refresh_screens()

    def _worker_failed(self, kind: str, rest: str, error: BaseException | None) -> None:
        reason = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        if kind == "check":
            key, _, check_id = rest.partition("|")
            self.checklists[key].fail(check_id, reason)
            self.say(f"check {check_id} could not run: {reason}", alert=True)
        elif kind == "control":
            self.say(f"{rest} NOT sent: {error}", alert=True)
        elif kind == "journal":
            self.say(f"journal follower stopped: {reason} — the screen no longer updates", alert=True)
        elif kind == "tick":
            self.say(f"tick NOT recorded: {reason}", alert=True)
        else:
            self.say(f"{kind or 'worker'} failed: {reason}", alert=True)
        self.refresh_screens()

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
