"""The canary runner: stages, the evaluation loop, traffic shifts, rollback, the journal and the control socket.

Every `evaluate_every` seconds of a stage: sample the signals, evaluate the
triggers, `decide`, journal the sample and the decision, then act:
CONTINUE waits, HOLD starts a hold (hold_until = now + hold_extension, the
stage's end moved to at least that), PROCEED ends the stage and shifts traffic
to the next weight (after the last stage: promoted), ROLLBACK and
IMMEDIATE_ROLLBACK run the rollback at once. After a rollback the signals are
sampled for `recovery_window` to record when they came back within limits.

Everything that happens is a journal record first (append-only, fsync'd,
hash-chained); the run's state is rebuilt from the journal, so a cockpit
killed at any point and started again with the same command resumes the same
run: the same stage and its end, no record lost or repeated, and never a
second traffic shift for a stage whose shift is journaled as done. A finished
run is not run again.

Operator commands (rollback, hold, resume, promote, note) arrive on the
control socket and are applied at once: a rollback interrupts whatever the
stage was doing (a running shift command is killed).

Without a traffic adapter the runner does not pretend: it journals
traffic_shifted ok=false "no [traffic] configured" and ends the run as
aborted, unless `dry_traffic` (drills, `--dry-traffic`) asks it to watch the
signals without moving any traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from cockpit.clock import Clock, iso_utc
from cockpit.config import CockpitConfig
from cockpit.run.journal import JOURNAL_NAME, Journal, JournalError
from cockpit.engine.model import Action, Decision, Reason, SignalReading, SignalState
from cockpit.run.lock import RunLock, RunLockHeld
from cockpit.run.state import RunState, StageState
from cockpit.engine.sampling import evaluate_triggers, sample_signals, signals_json, triggers_json
from cockpit.run.stage_evidence import (
    db_health_text,
    logs_text,
    pgbouncer_text,
    stage_file,
    summary_text,
)
from cockpit.engine.traffic import (
    AttemptRecord,
    TrafficAdapter,
    rollback_evidence,
    rollback_fields,
    traffic_from_config,
)
from cockpit.evidence import EvidenceStore
from cockpit.format import format_duration, format_weight
from cockpit.run.warroom_log import cells_from_readings, event_line, warroom_line

WARROOM_FILE = "warroom_log.txt"
RESULTS = ("promoted", "rolled_back", "aborted")
NO_TRAFFIC = "no [traffic] configured"
_ROLLBACKS = (Action.ROLLBACK, Action.IMMEDIATE_ROLLBACK)
_RECOVERED = (SignalState.PASS, SignalState.WARN)


# How long webhooks may take to flush once the run is over.
NOTIFY_CLOSE_TIMEOUT = 10.0


class CanaryError(Exception):
    """The run cannot start or continue (lock held, journal changed, socket unusable): one line."""


class EventSink(Protocol):
    """Receives every journal record as it is written (the --events stream, a TUI in the same process)."""

    def emit(self, record: dict[str, Any]) -> None: ...


class JsonLinesSink:
    """One JSON object per line to a stream; a stream that went away (closed terminal) is dropped, not fatal."""

    def __init__(self, stream: TextIO, close: bool = False) -> None:
        self.stream = stream
        self._close = close
        self.broken = False

    def emit(self, record: dict[str, Any]) -> None:
        if self.broken:
            return
        import json

        try:
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            self.broken = True

    def close(self) -> None:
        if self._close:
            with contextlib.suppress(OSError):
                self.stream.close()


Say = Callable[[str, bool], None]  # (text, loud): progress for the person running it


@dataclass
class Ending:
    """How the stages ended: promoted, a rollback to run, or aborted without one."""

    kind: str  # "promoted" | "rollback" | "aborted"
    reasons: list[dict[str, Any]] = field(default_factory=list)
    decided_at: float | None = None
    action: str = Action.ROLLBACK.value
    decided_perf: float | None = None  # perf_counter() when decided: decision→command in real time
    error: str | None = None


@dataclass
class CanaryOutcome:
    result: str  # "promoted" | "rolled_back" | "aborted"
    version: str
    stage: int
    weight: float
    reasons: list[dict[str, Any]]
    rollback: dict[str, Any] | None  # the rollback_done record: ok, attempts, timings
    recovered_at: float | None
    journal: Path
    resumed: bool = False
    already_finished: bool = False  # the journal already held canary_done: nothing was run
    error: str | None = None

    @property
    def exit_code(self) -> int:
        """0 promoted; 1 rolled back or aborted (the canary did not reach 100 % and pass)."""
        return 0 if self.result == "promoted" else 1


class CanaryRun:
    """One release's canary run in this process. Use `run_canary`."""

    def __init__(
        self,
        config: CockpitConfig,
        version: str,
        *,
        source: Any,
        clock: Clock,
        store: EvidenceStore,
        events: EventSink | None,
        traffic: TrafficAdapter | None,
        baseline: dict[str, float | None] | None,
        signal_board: Any,
        trigger_board: Any,
        dry_traffic: bool,
        drill: bool,
        control: bool,
        recovery_window: float | None,
        say: Say | None,
        notifier: Any = None,
    ) -> None:
        self.config = config
        self.notifier = notifier
        self.canary = config.canary
        self.version = version
        self.source = source
        self.clock = clock
        self.store = store
        self.sink = events
        self.traffic = traffic
        self.baseline = baseline
        self.signal_board = signal_board
        self.trigger_board = trigger_board
        self.dry_traffic = dry_traffic or drill
        self.drill = drill
        self.control = control
        self.evaluate_every = max(0.001, float(self.canary.evaluate_every))
        self.recovery_window = float(self.canary.recovery_window if recovery_window is None else recovery_window)
        self.labels = {name: (s.short or name) for name, s in config.signals.items()}
        self._say = say or (lambda text, loud=False: None)
        self.journal_path = store.dir / JOURNAL_NAME
        self.journal: Journal | None = None
        self.state = RunState()
        self.plan: list[dict[str, float]] = []
        self.phase = "starting"  # starting, shifting, stage, rolling_back, recovering, finishing, done
        self.shifting: tuple[int, float] | None = None
        self.server: Any = None
        self._wake = asyncio.Event()
        self._promote_by: str | None = None
        self._operator_rollback: asyncio.Future[Ending] | None = None
        self._rollback_finished: asyncio.Future[dict[str, Any]] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._lock = RunLock(store.dir)

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> CanaryOutcome:
        self.store.dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        resumed = False
        try:
            try:
                self.journal = Journal(self.journal_path)
            except JournalError as exc:
                raise CanaryError(str(exc)) from None
            self.state = RunState.replay(self.journal.records)
            if self.state.done is not None:
                return self._outcome(resumed=False, already_finished=True)
            resumed = self.state.started
            self._prepare()
            loop = asyncio.get_running_loop()
            self._operator_rollback = loop.create_future()
            self._rollback_finished = loop.create_future()
            if self.notifier is not None:
                self.notifier.on_failure = self._notify_failed
                self.notifier.start()
            if self.control:
                await self._start_control()
            try:
                await self._drive(resumed)
            finally:
                self.phase = "done"
                if self.server is not None:
                    await self.server.close()
                await self._finish_background()
                if self.notifier is not None:
                    # Only after canary_done: flushing webhooks never delays a decision or a rollback.
                    await self.notifier.aclose(NOTIFY_CLOSE_TIMEOUT)
        finally:
            if self.journal is not None:
                self.journal.close()
                with contextlib.suppress(Exception):
                    self.store.record(JOURNAL_NAME)
            self._lock.release()
        return self._outcome(resumed=resumed, already_finished=False)

    def _acquire_lock(self) -> None:
        try:
            self._lock.acquire()
        except RunLockHeld as held:
            raise CanaryError(
                f"the canary run for {self.version} is already live (pid {held.holder}): command it with `cockpit ctl {self.version} …`"
            ) from None

    def _prepare(self) -> None:
        """Boards and the traffic adapter, built from config unless the caller brought them."""
        if self.baseline is None:
            try:
                from cockpit.checks.baseline import load_baseline

                self.baseline = load_baseline(self.store)
            except Exception as exc:  # no baseline: relative limits say so themselves
                self.say(f"baseline not loaded: {exc}", loud=True)
        if self.signal_board is None:
            from cockpit.engine.signals import SignalBoard

            self.signal_board = SignalBoard(self.config, self.source, self.clock, self.baseline)
        if self.trigger_board is None:
            from cockpit.engine.triggers import TriggerBoard

            self.trigger_board = TriggerBoard(self.config, self.source, self.clock)
        if self.traffic is None:
            self.traffic = traffic_from_config(
                self.config.traffic, clock=self.clock, redactor=self.config.redactor(), on_attempt=self._on_attempt
            )
        elif getattr(self.traffic, "on_attempt", False) is None:
            self.traffic.on_attempt = self._on_attempt  # type: ignore[attr-defined]

    async def _start_control(self) -> None:
        from cockpit.run.control import ControlError, ControlServer, socket_path

        try:
            self.server = ControlServer(socket_path(self.store.dir), self._on_command, group=self.canary.control_group)
            await self.server.start()
        except ControlError as exc:
            raise CanaryError(str(exc)) from None

    async def _finish_background(self) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=60)
            for task in list(self._background):
                task.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ journal

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        """Journal a record (fsync'd), fold it into the state, pass it to the event sink."""
        assert self.journal is not None
        record = self.journal.append(event, self.clock.now(), **self._scrubbed(fields))
        self.state.apply(record)
        if self.sink is not None:
            try:
                self.sink.emit(record)
            except Exception as exc:  # a broken viewer never stops the run
                self.say(f"event sink failed: {exc}", loud=True)
        if self.notifier is not None:
            self.notifier.emit(record)  # queues; never blocks or raises
        return record

    def _notify_failed(self, fields: dict[str, Any]) -> None:
        """A webhook gave up: journal it while the journal is open, else say it loudly."""
        try:
            if self.journal is not None and self.phase != "done":
                self.emit("notify_failed", **fields)
                return
        except Exception:
            pass
        self.say(f"notification to {fields.get('target')} failed: {fields.get('error')}", loud=True)

    def _scrubbed(self, value: Any) -> Any:
        """No secret reaches the journal: every text passes the store's redactor (DSN passwords, tokens)."""
        if isinstance(value, str):
            return self.store.redactor.scrub(value)
        if isinstance(value, dict):
            return {k: self._scrubbed(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._scrubbed(v) for v in value]
        return value

    def say(self, text: str, loud: bool = False) -> None:
        try:
            self._say(text, loud)
        except Exception:
            pass

    # ------------------------------------------------------------------ the run

    async def _drive(self, resumed: bool) -> None:
        planned = [{"weight": float(s.weight), "hold": float(s.hold)} for s in self.canary.stages]
        common = {"version": self.version, "pid": os.getpid(), "dry_traffic": self.dry_traffic,
                  "traffic": self.traffic.describe() if self.traffic is not None else None}
        if not resumed:
            # The baseline the relative limits judge against, kept with the run it judged.
            self.emit("run_started", plan=planned, drill=self.drill, baseline=self.baseline, **common)
            self.say(
                f"canary {self.version}: stages {' → '.join(format_weight(s['weight']) for s in planned)}, "
                f"evaluating every {format_duration(self.evaluate_every)}; journal {self.journal_path}"
            )
        else:
            where = self.state.stage
            torn = self.journal.torn_bytes if self.journal else 0
            self.emit("run_started", plan=self.state.plan, drill=self.state.drill, resumed=True, stage=where,
                      torn_bytes=torn, **common)
            self.say(f"canary {self.version}: resumed from the journal at stage {where} (record {self.state.last_seq})", loud=True)
            if torn:
                self.say(f"the journal's last line was torn by a crash ({torn} bytes, never acted on): ignored", loud=True)
            if self.state.plan != planned:
                self.say("the configuration's stages differ from this run's; the run keeps the plan it started with", loud=True)
            self._restore_boards()
            self._rewrite_warroom()
        self.plan = self.state.plan
        if self.state.rollback_started is not None:
            started = self.state.rollback_started
            await self._roll_back(
                Ending("rollback", list(started.get("reasons") or []), started.get("decided_at"), str(started.get("action") or "rollback"))
            )
            return
        ending = await self._supervise()
        if ending.kind == "promoted":
            self._finish_promoted()
        elif ending.kind == "aborted":
            self._finish_aborted(ending)
        else:
            await self._roll_back(ending)

    async def _supervise(self) -> Ending:
        """Run the stages; an operator's rollback interrupts them at once."""
        assert self._operator_rollback is not None
        main = asyncio.create_task(self._advance_guarded())
        try:
            await asyncio.wait({main, self._operator_rollback}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            main.cancel()
            with contextlib.suppress(BaseException):
                await main
            raise
        if main.done():
            return main.result()
        main.cancel()
        try:
            await main
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            self.say(f"stage loop ended with {type(exc).__name__}: {exc}", loud=True)
        return self._operator_rollback.result()

    async def _advance_guarded(self) -> Ending:
        try:
            return await self._advance()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The engine itself failed: nobody is watching the signals any more, so roll back.
            traceback.print_exc(file=sys.stderr)
            self.phase = "rolling_back"
            message = f"the canary engine failed ({type(exc).__name__}: {exc}): rolling back to be safe"
            return Ending("rollback", [Reason("stage", "engine", message).as_dict()], self.clock.now(), decided_perf=time.perf_counter())

    async def _advance(self) -> Ending:
        while True:
            stage = self.state.next_stage()
            if stage > len(self.plan):
                self.phase = "finishing"
                return Ending("promoted")
            weight = float(self.plan[stage - 1]["weight"])
            hold = float(self.plan[stage - 1]["hold"])
            if self.state.stage != stage:
                self.phase = "shifting"
                self.shifting = (stage, weight)
                if stage not in self.state.shifted:
                    ending = await self._shift(stage, weight)
                    if ending is not None:
                        return ending
                self.emit("stage_started", stage=stage, weight=weight, hold=hold, ends_at=self.clock.now() + hold)
                self.shifting = None
                self.say(f"stage {stage}/{len(self.plan)} ({format_weight(weight)}) started for {format_duration(hold)}")
            self.phase = "stage"
            ending = await self._run_stage(stage)
            if ending is not None:
                return ending

    async def _shift(self, stage: int, weight: float) -> Ending | None:
        """Move traffic to the stage's weight; an Ending when the run cannot go on."""
        if self.traffic is None:
            error = NO_TRAFFIC + (" (dry traffic: the weight was not moved)" if self.dry_traffic else "")
            self.emit("traffic_shifted", stage=stage, weight=weight, ok=False, attempts=0, duration_s=0.0, error=error,
                      dry=self.dry_traffic)
            self._write_rollout(stage, weight, f"result:    NOT SHIFTED ({error})\n")
            if self.dry_traffic:
                self.say(f"{error}: stage {stage} ({format_weight(weight)}) watched without moving traffic", loud=True)
                return None
            self.say(f"{NO_TRAFFIC}: the canary cannot move traffic; aborting (use --dry-traffic to watch only)", loud=True)
            self.phase = "finishing"
            return Ending("aborted", [Reason("traffic", "traffic", NO_TRAFFIC).as_dict()], error=NO_TRAFFIC)
        self.say(f"shifting traffic to {format_weight(weight)} ({stage}/{len(self.plan)})")
        try:
            result = await self.traffic.shift(weight, self.version, stage)
        except asyncio.CancelledError:
            self.emit("traffic_shifted", stage=stage, weight=weight, ok=False, attempts=0, duration_s=0.0,
                      error="interrupted: a rollback was ordered while the shift ran")
            raise
        self.emit("traffic_shifted", stage=stage, weight=weight, ok=result.ok, attempts=result.attempt_count,
                  duration_s=round(result.duration_s, 3), error=result.error, target=result.target)
        self._write_rollout(stage, weight, result.as_text())
        if result.ok:
            self.say(f"traffic at {format_weight(weight)} ({result.attempt_count} attempt(s), {result.duration_s:.2f}s)")
            return None
        message = f"traffic shift to {format_weight(weight)} FAILED: {result.error}"
        self.say(f"{message}: rolling back", loud=True)
        self._warroom_event(stage, weight, f"TRAFFIC SHIFT TO {format_weight(weight)} FAILED: {result.error}")
        self.phase = "rolling_back"
        return Ending("rollback", [Reason("traffic", "traffic", message).as_dict()], self.clock.now(),
                      decided_perf=time.perf_counter())

    async def _run_stage(self, stage: int) -> Ending | None:
        """Evaluate until the stage passes (None) or must roll back (an Ending)."""
        while True:
            current = self._stage(stage)
            now = self.clock.now()
            if self._promote_by is None:
                left = current.ends_at - now
                await self._pause(self.evaluate_every if left <= 0 else min(self.evaluate_every, left))
            if self._promote_by is not None:
                by, self._promote_by = self._promote_by, None
                self._pass_stage(stage, by=by)
                return None
            decision, decided_perf, converted = await self._evaluate(stage)
            if decision.action in _ROLLBACKS:
                self.phase = "rolling_back"
                return Ending("rollback", [r.as_dict() for r in decision.reasons], decision.at, decision.action.value, decided_perf)
            if decision.action == Action.HOLD and not converted:
                self._start_hold(stage, decision)
            elif decision.action == Action.PROCEED:
                self._pass_stage(stage)
                return None

    def _stage(self, stage: int) -> StageState:
        current = self.state.stages.get(stage)
        assert current is not None, f"stage {stage} was never started"
        return current

    async def _pause(self, seconds: float) -> None:
        """Wait on the clock, or less if an operator's command needs the loop now."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            self._wake.clear()

    # ------------------------------------------------------------------ one evaluation

    async def _evaluate(self, stage: int) -> tuple[Decision, float, bool]:
        from cockpit.engine.decision import StageContext, decide, is_blind

        current = self._stage(stage)
        signals, triggers = await asyncio.gather(
            sample_signals(self.signal_board, self.config, self.clock, current.started_at, current.ends_at),
            evaluate_triggers(self.trigger_board, self.config, self.clock),
        )
        consecutive = self.state.consecutive_blind + 1 if is_blind(signals, triggers) else 0
        context = StageContext.from_canary(
            self.canary,
            now=self.clock.now(),
            stage_started_at=current.started_at,
            stage_ends_at=current.ends_at,
            holds_used=current.holds_used,
            consecutive_blind=consecutive,
            is_last_stage=stage == len(self.plan),
            hold_until=current.hold_until,
        )
        decision = decide(signals, triggers, context)
        decided_perf = time.perf_counter()
        converted = False
        held = self.state.operator_hold
        if held is not None and decision.action not in _ROLLBACKS:
            # The operator holds the stage: it never proceeds until `resume`; limits still roll back.
            by = str(held.get("by") or "operator")
            why = f": {held['reason']}" if held.get("reason") else ""
            converted = decision.action != Action.HOLD
            decision = Decision(
                Action.HOLD,
                decision.at,
                decision.reasons + [Reason("operator", by, f"held by {by}{why}: the stage waits for `resume`")],
            )
        weight = current.weight
        self.emit("sample", stage=stage, weight=weight, signals=signals_json(signals), triggers=triggers_json(triggers),
                  consecutive_blind=consecutive, board=self._board_snapshot())
        self.emit("decision", stage=stage, weight=weight, action=decision.action.value,
                  reasons=[r.as_dict() for r in decision.reasons], at=decision.at,
                  **({"operator_hold": True} if held is not None else {}))
        self._warroom_minute(stage, weight, signals, decision.action.value)
        return decision, decided_perf, converted

    def _board_snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = {}
        for key, board in (("signals", self.signal_board), ("triggers", self.trigger_board)):
            taker = getattr(board, "snapshot", None)
            if taker is not None:
                try:
                    snapshot[key] = taker()
                except Exception:
                    pass
        return snapshot

    def _restore_boards(self) -> None:
        """Put the boards' timers and histories back from the journal's samples."""
        samples = [r for r in (self.journal.records if self.journal else []) if r.get("event") == "sample"]
        if not samples:
            return
        board = samples[-1].get("board") or {}
        for key, target in (("signals", self.signal_board), ("triggers", self.trigger_board)):
            restorer = getattr(target, "restore", None)
            if restorer is not None and isinstance(board.get(key), dict):
                try:
                    restorer(board[key])
                except Exception as exc:
                    self.say(f"could not restore the {key} timers: {exc}", loud=True)
        history: dict[str, list[list[float | None]]] = {}
        for record in samples[-240:]:
            for name, data in (record.get("signals") or {}).items():
                judged = data.get("state") not in ("BLIND", "INSUFFICIENT")
                history.setdefault(name, []).append([float(record["ts"]), data.get("value") if judged else None])
        restorer = getattr(self.signal_board, "restore", None)
        if restorer is not None and history:
            with contextlib.suppress(Exception):
                restorer({"history": history})

    # ------------------------------------------------------------------ acting

    def _start_hold(self, stage: int, decision: Decision) -> None:
        current = self._stage(stage)
        now = self.clock.now()
        if not current.starts_hold(now, self.canary.max_holds):
            return  # a hold in force (a further HOLD adds nothing), or every hold spent (the decision waits for the IC)
        until = now + float(self.canary.hold_extension)
        holds_used = current.holds_used + 1
        self.emit("hold", stage=stage, weight=current.weight, until=until, ends_at=max(current.ends_at, until),
                  holds_used=holds_used, reasons=[r.as_dict() for r in decision.reasons])
        why = next((r.message for r in decision.reasons if r.source != "stage"), "")
        self.say(f"HOLD {holds_used}/{self.canary.max_holds} at stage {stage}: {why}", loud=True)
        self._warroom_event(stage, current.weight, f"HOLD {holds_used}/{self.canary.max_holds} for {format_duration(self.canary.hold_extension)}: {why}")

    def _pass_stage(self, stage: int, by: str | None = None) -> None:
        weight = self._stage(stage).weight
        self.emit("stage_passed", stage=stage, weight=weight, **({"by": by} if by else {}))
        self.say(f"stage {stage} ({format_weight(weight)}) passed" + (f" (promoted by {by})" if by else ""))
        self._write_stage_files(stage, weight)

    def _finish_promoted(self) -> None:
        stage = len(self.plan)
        weight = self.state.weight_of(stage)
        self.phase = "finishing"
        self._warroom_event(stage, weight, f"PROMOTED: {self.version} at {format_weight(weight)}, every stage passed")
        self.emit("canary_done", result="promoted", stage=stage, weight=weight)
        self.say(f"canary {self.version}: PROMOTED ({len(self.plan)} stages passed)")

    def _finish_aborted(self, ending: Ending) -> None:
        stage = max(1, self.state.next_stage())
        weight = self.state.weight_of(stage)
        self._warroom_event(stage, weight, f"ABORTED: {ending.error}")
        self.emit("canary_done", result="aborted", stage=stage, weight=weight, reasons=ending.reasons, error=ending.error)
        self.say(f"canary {self.version}: ABORTED: {ending.error}", loud=True)

    def _where(self) -> tuple[int, float]:
        if self.shifting is not None:
            return self.shifting
        stage = self.state.stage or 1
        return stage, self.state.weight_of(stage)

    async def _roll_back(self, ending: Ending) -> None:
        self.phase = "rolling_back"
        if self.state.rollback_started is None:
            stage, weight = self._where()
            try:
                self.emit("rollback_started", stage=stage, weight=weight, reasons=ending.reasons,
                          decided_at=ending.decided_at, fired_at=self._fired_at(stage, ending), action=ending.action)
            except Exception as exc:
                # An unwritable journal (disk full, read-only mount) must not keep the traffic on a bad canary.
                await self._roll_back_unjournaled(stage, weight, exc)
                raise
            why = "; ".join(str(r.get("message", "")) for r in ending.reasons[:2])
            self.say(f"ROLLBACK at stage {stage} ({format_weight(weight)}): {why}", loud=True)
            self._warroom_event(stage, weight, f"{ending.action.replace('_', ' ').upper()}: {why}")
        started = self.state.rollback_started
        assert started is not None
        stage, weight = int(started["stage"]), float(started["weight"])
        decided_at = started.get("decided_at")
        if self.state.rollback_done is None:
            await self._run_rollback(stage, weight, decided_at, ending.decided_perf)
        done = self.state.rollback_done or {}
        if self._rollback_finished is not None and not self._rollback_finished.done():
            self._rollback_finished.set_result(done)
        await self._watch_recovery(stage, weight)
        ok = bool(done.get("ok")) or (self.traffic is None and self.dry_traffic)
        result = "rolled_back" if ok else "aborted"
        error = None if ok else f"the rollback command failed: {done.get('error')}: traffic may still reach the canary"
        self.phase = "finishing"
        recovered = self.state.recovered_at
        if self.store.path(self._rollback_file).exists():
            with contextlib.suppress(Exception):
                self.store.append_line(self._rollback_file, "signals recovered: " + (
                    f"{iso_utc(recovered)}" if recovered is not None
                    else f"not within {format_duration(self.recovery_window)} of the rollback"))
        self._warroom_event(stage, weight, "ROLLED BACK" if ok else f"ROLLBACK FAILED: {error}")
        self.emit("canary_done", result=result, stage=stage, weight=weight, reasons=list(started.get("reasons") or []),
                  recovered_at=self.state.recovered_at, error=error)
        self._write_stage_files(stage, weight)
        if ok:
            self.say(f"canary {self.version}: ROLLED BACK at stage {stage} ({format_weight(weight)})", loud=True)
        else:
            self.say(f"canary {self.version}: {error} — ROLL BACK BY HAND", loud=True)

    async def _roll_back_unjournaled(self, stage: int, weight: float, error: BaseException) -> None:
        """Run the rollback command although the decision could not be journaled; say so loudly."""
        self.say(f"JOURNAL NOT WRITABLE ({error}): rolling back stage {stage} ({format_weight(weight)}) anyway", loud=True)
        if self.traffic is None:
            self.say("no traffic adapter: ROLL BACK BY HAND", loud=True)
            return
        result = await self.traffic.rollback(self.version, stage, weight)
        if result.ok:
            self.say(f"rollback command done ({result.attempt_count} attempt(s)); the journal does not record it", loud=True)
        else:
            self.say(f"rollback command FAILED: {result.error} — ROLL BACK BY HAND", loud=True)

    @property
    def _rollback_file(self) -> str:
        return f"rollback_{self.version}.txt"

    def _fired_at(self, stage: int, ending: Ending) -> float | None:
        """When what caused the rollback was first seen bad: the start of its unbroken run of bad samples."""
        names = {str(r.get("name")) for r in ending.reasons if r.get("source") in ("signal", "trigger", "alert", "blind")}
        if not names:
            return ending.decided_at
        first: float | None = None
        samples = [r for r in (self.journal.records if self.journal else []) if r.get("event") == "sample"
                   and r.get("stage") == stage and r.get("phase") != "recovery"]
        for record in reversed(samples):
            signals, triggers = record.get("signals") or {}, record.get("triggers") or {}
            bad = any(signals.get(n, {}).get("state") in ("BREACHING", "FAIL", "BLIND") for n in names) or any(
                triggers.get(n, {}).get("firing") or triggers.get(n, {}).get("error") for n in names)
            if not bad:
                break
            first = float(record["ts"])
            since = [t.get("since") for n, t in triggers.items() if n in names and isinstance(t.get("since"), (int, float))]
            if since:
                first = min([first, *since])
        return first if first is not None else ending.decided_at

    async def _run_rollback(self, stage: int, weight: float, decided_at: float | None, decided_perf: float | None) -> None:
        if self.traffic is None:
            error = NO_TRAFFIC + (": dry traffic, nothing was shifted and nothing is rolled back" if self.dry_traffic else "")
            self.emit("rollback_done", stage=stage, weight=weight, ok=False, attempts=0, decided_at=decided_at,
                      command_started_at=None, command_ended_at=None, decision_to_command_ms=None, error=error,
                      dry=self.dry_traffic)
            return
        result = await self.traffic.rollback(self.version, stage, weight)
        done = rollback_fields(result, decided_at, decided_perf)
        self.emit("rollback_done", stage=stage, weight=weight, **done)
        started = self.state.rollback_started or {}
        fired_at = started.get("fired_at")
        why = "; ".join(str(r.get("message", "")) for r in (started.get("reasons") or [])[:4])
        title = f"Rollback — {self.version} stage {stage} ({format_weight(weight)})"
        first_seen = iso_utc(fired_at) if fired_at is not None else "?"
        self._write_evidence(self._rollback_file, rollback_evidence(title, why, result, done, first_seen))
        if result.ok:
            self.say(f"rollback command done ({result.attempt_count} attempt(s), {result.duration_s:.2f}s)", loud=True)
        else:
            self.say(f"ROLLBACK COMMAND FAILED: {result.error}", loud=True)

    async def _watch_recovery(self, stage: int, weight: float) -> None:
        """Sample for up to recovery_window after the rollback; record when every signal is within limits."""
        self.phase = "recovering"
        done = self.state.rollback_done
        if self.state.recovered_at is not None or done is None or self.recovery_window <= 0:
            return
        rolled_back_at = float(done["ts"])
        deadline = rolled_back_at + self.recovery_window
        current = self.state.stages.get(stage)
        started_at = current.started_at if current else rolled_back_at
        ends_at = current.ends_at if current else rolled_back_at
        while self.clock.now() < deadline:
            await self._pause(min(self.evaluate_every, deadline - self.clock.now()))
            signals = await sample_signals(self.signal_board, self.config, self.clock, started_at, ends_at)
            self.emit("sample", stage=stage, weight=weight, phase="recovery", signals=signals_json(signals),
                      triggers={}, board=self._board_snapshot())
            self._warroom_minute(stage, weight, signals, Action.ROLLBACK.value)
            acting = [s for s in signals if not s.dry_run]
            if acting and all(s.state in _RECOVERED for s in acting):
                at = self.clock.now()
                self.emit("signals_recovered", stage=stage, weight=weight, at=at, after_s=round(at - rolled_back_at, 3))
                self.say(f"signals recovered {format_duration(at - rolled_back_at)} after the rollback")
                return
        self.say(f"signals did not all recover within {format_duration(self.recovery_window)} after the rollback", loud=True)

    # ------------------------------------------------------------------ evidence

    def _write_evidence(self, name: str, text: str) -> None:
        try:
            self.store.write_text(name, text)
        except Exception as exc:  # evidence never stops a canary
            self.say(f"evidence {name} not written: {exc}", loud=True)

    def _write_rollout(self, stage: int, weight: float, body: str) -> None:
        header = [
            f"# Rollout — {self.version} stage {stage} ({format_weight(weight)})",
            f"when:      {iso_utc(self.clock.now())}",
            f"weight:    {format_weight(weight)}",
        ]
        self._write_evidence(stage_file("rollout", weight), "\n".join(header) + "\n" + body)

    def _write_stage_files(self, stage: int, weight: float) -> None:
        records = self.journal.records if self.journal else []
        self._write_evidence(stage_file("logs", weight), logs_text(records, self.version, stage, weight))
        self._write_evidence(stage_file("summary", weight), summary_text(records, self.version, stage, weight, self.labels))
        with contextlib.suppress(Exception):
            self.store.record(JOURNAL_NAME)  # the manifest follows the journal stage by stage
        self._spawn(self._write_database_files(stage, weight, self.clock.now()))

    async def _write_database_files(self, stage: int, weight: float, at: float) -> None:
        for kind, collect in (("db_health", db_health_text), ("pgbouncer", pgbouncer_text)):
            try:
                text = await collect(self.config, self.version, stage, weight, at)
            except Exception as exc:
                text = f"not collected: {type(exc).__name__}: {exc}\n"
            self._write_evidence(stage_file(kind, weight), text)

    def _warroom_minute(self, stage: int, weight: float, signals: list[SignalReading], action: str) -> None:
        """The war-room line, once per clock minute since T-0."""
        t0 = self.state.t0 if self.state.t0 is not None else self.clock.now()
        now = self.clock.now()
        minute = int(max(0.0, now - t0) // 60)
        if minute == self.state.last_warroom_minute:
            return
        line = warroom_line(at=now, t0=t0, stage=stage, weight=weight, signals=cells_from_readings(signals, self.labels), decision=action)
        self.emit("warroom", stage=stage, weight=weight, line=line, minute=minute)
        self._append_warroom(line)

    def _warroom_event(self, stage: int, weight: float, text: str) -> None:
        t0 = self.state.t0 if self.state.t0 is not None else self.clock.now()
        line = event_line(at=self.clock.now(), t0=t0, stage=stage, weight=weight, text=text)
        self.emit("warroom", stage=stage, weight=weight, line=line)
        self._append_warroom(line)

    def _append_warroom(self, line: str) -> None:
        try:
            self.store.append_line(WARROOM_FILE, line)
        except Exception as exc:
            self.say(f"{WARROOM_FILE} not written: {exc}", loud=True)

    def _rewrite_warroom(self) -> None:
        # The journal is the record: after a crash the log file is rebuilt from it, never doubled.
        lines = [str(r.get("line", "")) for r in (self.journal.records if self.journal else []) if r.get("event") == "warroom"]
        if lines:
            self._write_evidence(WARROOM_FILE, "\n".join(lines) + "\n")

    # ------------------------------------------------------------------ traffic attempts, loudly

    def _on_attempt(self, action: str, record: AttemptRecord, allowed: int) -> None:
        if record.ok:
            return
        detail = record.detail
        tail = (record.stderr or record.stdout).strip().splitlines()
        if tail:
            detail += f": {tail[-1][:200]}"
        retry = "retrying" if record.attempt < allowed else "no retries left"
        self.say(f"TRAFFIC {action.upper()} FAILED (attempt {record.attempt}/{allowed}): {detail} — {retry}", loud=True)

    # ------------------------------------------------------------------ operator commands

    def status(self) -> dict[str, Any]:
        current = self.state.current
        now = self.clock.now()
        last = self.state.last_decision
        held = self.state.operator_hold
        return {
            "version": self.version,
            "pid": os.getpid(),
            "phase": self.phase,
            "now": now,
            "t0": self.state.t0,
            "stage": current.stage if current else 0,
            "stages": len(self.plan),
            "weight": current.weight if current else 0.0,
            "stage_started_at": current.started_at if current else None,
            "ends_at": current.ends_at if current else None,
            "time_left_s": round(max(0.0, current.ends_at - now), 3) if current else None,
            "holds_used": current.holds_used if current else 0,
            "max_holds": self.canary.max_holds,
            "held_by": held.get("by") if held else None,
            "last_decision": {
                "action": last.get("action"),
                "at": last.get("at", last.get("ts")),
                "reasons": [r.get("message") for r in (last.get("reasons") or [])[:6]],
            } if last else None,
            "drill": self.drill,
            "dry_traffic": self.dry_traffic,
            "seq": self.journal.last_seq if self.journal else 0,
            "journal": str(self.journal_path),
        }

    def _promote_refusal(self, stage: int) -> str | None:
        last = self.state.last_sample
        if last is None or last.get("stage") != stage or last.get("phase") == "recovery":
            return "no evaluation in this stage yet: wait for the first sample before promoting"
        bad = [f"{n} {d.get('state')}" for n, d in (last.get("signals") or {}).items()
               if not d.get("dry_run") and d.get("state") in ("FAIL", "BREACHING", "BLIND")]
        active = [n for n, d in (last.get("triggers") or {}).items()
                  if not d.get("dry_run") and d.get("active") and d.get("action") in ("rollback", "hold")]
        if bad or active:
            return f"refused: {', '.join(bad + active)}: a promotion never rests on a failing, blind or firing signal"
        return None

    async def _on_command(self, request: dict[str, Any], peer: Any) -> dict[str, Any]:
        command = request["command"]
        who = peer.user + (f" ({str(request['by'])[:40]})" if request.get("by") else "")
        text = " ".join(str(request.get("reason") or request.get("text") or "").split())[:500]
        if command == "status":
            return {"ok": True, "status": self.status()}
        if self.phase in ("finishing", "done"):
            return {"ok": False, "error": f"the run is finished ({self.phase}): nothing to {command}"}
        stage, weight = self._where()
        if command == "note":
            if not text:
                return {"ok": False, "error": "a note needs text"}
            self.emit("note", stage=stage, weight=weight, text=text, by=who)
            self._warroom_event(stage, weight, f"NOTE {who}: {text}")
            return {"ok": True, "message": "note recorded"}
        if self.phase in ("rolling_back", "recovering"):
            if command == "rollback":
                return await self._rollback_reply("already rolling back", request)
            return {"ok": False, "error": f"the run is rolling back: {command} is not possible now"}
        if command == "rollback":
            return await self._operator_rollback_now(stage, weight, who, text or "manual rollback", request)
        if command == "hold":
            return self._operator_hold(stage, weight, who, text)
        if command == "resume":
            if self.state.operator_hold is None:
                return {"ok": False, "error": "the stage is not held by an operator"}
            self.emit("operator", stage=stage, weight=weight, command="resume", by=who, reason=text)
            self._warroom_event(stage, weight, f"RESUME by {who}" + (f": {text}" if text else ""))
            self._wake.set()
            return {"ok": True, "message": f"resumed stage {stage}"}
        if command == "promote":
            if self.phase != "stage":
                return {"ok": False, "error": f"no stage is running ({self.phase}): try again in a moment"}
            refusal = self._promote_refusal(stage)
            if refusal:
                return {"ok": False, "error": refusal}
            self.emit("operator", stage=stage, weight=weight, command="promote", by=who, reason=text)
            self._warroom_event(stage, weight, f"PROMOTE NOW by {who}" + (f": {text}" if text else ""))
            self._promote_by = who
            self._wake.set()
            return {"ok": True, "message": f"stage {stage} ({format_weight(weight)}) ends now; moving on"}
        return {"ok": False, "error": f"unknown command {command!r}"}

    def _operator_hold(self, stage: int, weight: float, who: str, text: str) -> dict[str, Any]:
        held = self.state.operator_hold
        if held is not None:
            return {"ok": True, "message": f"already held by {held.get('by')}"}
        self.emit("operator", stage=stage, weight=weight, command="hold", by=who, reason=text)
        current = self.state.stages.get(stage)
        message = f"held by {who}" + (f": {text}" if text else "") + ": the stage waits for `resume`"
        self.emit("hold", stage=stage, weight=weight, until=None, holds_used=current.holds_used if current else 0,
                  reasons=[Reason("operator", who, message).as_dict()], by=who)
        self._warroom_event(stage, weight, f"HOLD by {who}" + (f": {text}" if text else ""))
        self.say(f"stage {stage} {message}", loud=True)
        return {"ok": True, "message": f"stage {stage} held: it will not proceed until `resume` (limits still roll back)"}

    async def _operator_rollback_now(self, stage: int, weight: float, who: str, reason: str, request: dict[str, Any]) -> dict[str, Any]:
        now, perf = self.clock.now(), time.perf_counter()
        reasons = [Reason("operator", who, f"manual rollback by {who}: {reason}").as_dict()]
        self.emit("operator", stage=stage, weight=weight, command="rollback", by=who, reason=reason)
        self.emit("decision", stage=stage, weight=weight, action=Action.ROLLBACK.value, reasons=reasons, at=now, operator=True)
        self.phase = "rolling_back"
        if self._operator_rollback is not None and not self._operator_rollback.done():
            self._operator_rollback.set_result(Ending("rollback", reasons, now, Action.ROLLBACK.value, perf))
        return await self._rollback_reply("rollback started", request)

    async def _rollback_reply(self, message: str, request: dict[str, Any]) -> dict[str, Any]:
        """Answer once the rollback command has run (or after `wait` seconds, saying it still runs)."""
        wait = request.get("wait", 30)
        wait = float(wait) if isinstance(wait, (int, float)) and not isinstance(wait, bool) else 30.0
        if self._rollback_finished is None:
            return {"ok": True, "message": message}
        try:
            done = await asyncio.wait_for(asyncio.shield(self._rollback_finished), timeout=max(0.0, wait))
        except (asyncio.TimeoutError, TimeoutError):
            return {"ok": True, "message": f"{message}; the rollback command is still running"}
        keys = ("ok", "attempts", "decided_at", "command_started_at", "command_ended_at", "decision_to_command_ms", "error")
        rollback = {k: done.get(k) for k in keys}
        if done.get("ok"):
            return {"ok": True, "message": f"{message}; rollback done", "rollback": rollback}
        return {"ok": False, "error": f"rollback FAILED: {done.get('error')}", "rollback": rollback}

    # ------------------------------------------------------------------ the result

    def _outcome(self, resumed: bool, already_finished: bool) -> CanaryOutcome:
        done = self.state.done or {}
        return CanaryOutcome(
            result=str(done.get("result") or "aborted"),
            version=self.version,
            stage=int(done.get("stage") or self.state.stage),
            weight=float(done.get("weight") or self.state.weight_of(self.state.stage)),
            reasons=list(done.get("reasons") or []),
            rollback=self.state.rollback_done,
            recovered_at=self.state.recovered_at,
            journal=self.journal_path,
            resumed=resumed,
            already_finished=already_finished,
            error=done.get("error") or (None if done else "the run ended without a result"),
        )


async def run_canary(
    config: CockpitConfig,
    version: str,
    *,
    source: Any,
    clock: Clock,
    store: EvidenceStore,
    events: EventSink | None,
    traffic: TrafficAdapter | None = None,
    baseline: dict[str, float | None] | None = None,
    signal_board: Any = None,
    trigger_board: Any = None,
    dry_traffic: bool = False,
    drill: bool = False,
    control: bool = True,
    recovery_window: float | None = None,
    say: Say | None = None,
    notifier: Any = None,
) -> CanaryOutcome:
    """Run (or resume, or report the result of) the canary for `version`; see the module docstring.

    source: Prometheus-like (`query`, optionally `alerts`) for the default boards.
    traffic: None builds the adapter from [traffic] (None again if nothing is configured).
    baseline: None loads baseline_<v>.json from the evidence folder if there is one.
    signal_board/trigger_board: injected boards (drills, the TUI, tests); default from config.
    dry_traffic: watch without moving traffic when no adapter exists (drill implies it).
    control: listen on <evidence>/<version>/control.sock for operator commands.
    recovery_window: seconds to watch the signals after a rollback (default [canary] recovery_window).
    say: progress lines for a person (text, loud).
    notifier: a cockpit.run.notify.Notifier; every journaled event is offered to it (it filters and queues).
    Raises CanaryError (one line) when the run cannot start: already live, journal changed, socket unusable.
    """
    run = CanaryRun(
        config,
        version,
        source=source,
        clock=clock,
        store=store,
        events=events,
        traffic=traffic,
        baseline=baseline,
        signal_board=signal_board,
        trigger_board=trigger_board,
        dry_traffic=dry_traffic,
        drill=drill,
        control=control,
        recovery_window=recovery_window,
        say=say,
        notifier=notifier,
    )
    return await run.run()
