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

Before the first shift the run probes its signals and triggers
(cockpit.engine.probe): a signal that cannot be judged stops the start before
any traffic moves (ProbeStopped, exit 2), a trigger whose metrics do not exist
is said loudly and journaled (`signals_probed`). A resumed run that already
shifted does not probe again. From the first shift on the boards are bound to
the run: no window reaches back before it (the run is judged on its own data).

Without a traffic adapter the runner does not pretend: it journals
traffic_shifted ok=false "no [traffic] configured" and ends the run as
aborted, unless `dry_traffic` (drills, `--dry-traffic`) asks it to watch the
signals without moving any traffic.

This module holds the stage loop and its decisions; the lock, journal and
notifier are JournaledRun's (run/base.py), the rollback and recovery watch
run/canary_rollback.py, the operator's commands run/canary_operator.py, the
evidence files and war-room log run/canary_evidence.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.clock import Clock
from cockpit.config import CockpitConfig
from cockpit.engine.model import Action, Decision, Reason
from cockpit.engine.sampling import EvaluationAnswers, evaluate_triggers, sample_signals, signals_json, triggers_json
from cockpit.engine.traffic import AttemptRecord, TrafficAdapter, traffic_from_config
from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.evidence import EvidenceStore
from cockpit.format import format_duration, format_weight
from cockpit.run.base import JournaledRun, Say
from cockpit.run.canary_evidence import CanaryEvidence
from cockpit.run.canary_operator import OperatorDesk
from cockpit.run.canary_rollback import NO_TRAFFIC, CanaryRollback, Ending
from cockpit.run.sinks import EventSink
from cockpit.run.state import RunState, StageState

_ROLLBACKS = (Action.ROLLBACK, Action.IMMEDIATE_ROLLBACK)


# How long webhooks may take to flush once the run is over.
NOTIFY_CLOSE_TIMEOUT = 10.0


class CanaryError(CockpitError):
    """The run cannot start or continue (lock held, journal changed, socket unusable): one line."""


class ProbeStopped(CanaryError):
    """The probe found signals (or, strict, triggers) that cannot be judged: the run did not start."""


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


class CanaryRun(CanaryRollback, JournaledRun):
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
        ic: str | None = None,
        override: dict[str, Any] | None = None,
        probe: bool = True,
        strict_probe: bool = False,
        holding: Any = None,
    ) -> None:
        super().__init__(version, clock=clock, store=store, sink=events, notifier=notifier, say=say, holding=holding)
        self.ic = ic
        self.override = override  # started without GO: journaled right after run_started
        self.probe = probe
        self.strict_probe = strict_probe
        self.probe_report: Any = None
        self.config = config
        self.canary = config.canary
        self.source = source
        self.answers = EvaluationAnswers(source)  # the boards' source: one evaluation asks a query once
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
        self.state = RunState()
        self.plan: list[dict[str, float]] = []
        self.phase = "starting"  # starting, shifting, stage, rolling_back, recovering, finishing, done
        self.shifting: tuple[int, float] | None = None
        self.server: Any = None
        self.evidence = CanaryEvidence(self)
        self.operator = OperatorDesk(self)
        self.wake = asyncio.Event()  # an operator's command needs the stage loop now
        self.promote_by: str | None = None
        self.operator_rollback: asyncio.Future[Ending] | None = None
        self.rollback_finished: asyncio.Future[dict[str, Any]] | None = None

    # ------------------------------------------------------------------ JournaledRun

    def refuse(self, message: str) -> Exception:
        """A CanaryError: the run cannot start or go on."""
        return CanaryError(message)

    def lock_held(self, holder: str) -> str:
        """The canary is already live in another process: command it there."""
        return f"the canary run for {self.version} is already live (pid {holder}): command it with `cockpit ctl {self.version} …`"

    def fold(self, record: dict[str, Any]) -> None:
        """The run acts on the state a restart would rebuild: every record it writes is folded in."""
        self.state.apply(record)

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> CanaryOutcome:
        """Run, resume or report the canary (see the module docstring)."""
        resumed = False
        with self.journal_open() as journal:
            self.state = RunState.replay(journal.records)
            if self.state.done is not None:
                return self._outcome(resumed=False, already_finished=True)
            resumed = self.state.started
            self._prepare()
            if not self.state.shifted:
                await self._probe()
            loop = asyncio.get_running_loop()
            self.operator_rollback = loop.create_future()
            self.rollback_finished = loop.create_future()
            if self.notifier is not None:
                self.take_notifier_failures()
                self.notifier.start()
            if self.control:
                await self._start_control()
            if self.holding is not None:
                self.holding.open_inbox(self)  # `cockpit ctl --from-state` through the database
            try:
                await self._drive(resumed)
            finally:
                self.phase = "done"
                self.stop_writing()
                if self.holding is not None:
                    await self.holding.close_inbox()
                if self.server is not None:
                    await self.server.close()
                await self.finish_background()
                if self.notifier is not None:
                    # Only after canary_done: flushing webhooks never delays a decision or a rollback.
                    await self.notifier.aclose(NOTIFY_CLOSE_TIMEOUT)
        return self._outcome(resumed=resumed, already_finished=False)

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

            self.signal_board = SignalBoard(self.config, self.answers, self.clock, self.baseline)
        if self.trigger_board is None:
            from cockpit.engine.triggers import TriggerBoard

            self.trigger_board = TriggerBoard(self.config, self.answers, self.clock)
        if self.traffic is None:
            self.traffic = traffic_from_config(
                self.config.traffic, clock=self.clock, redactor=self.config.redactor(), on_attempt=self._on_attempt
            )
        elif getattr(self.traffic, "on_attempt", False) is None:
            self.traffic.on_attempt = self._on_attempt  # type: ignore[attr-defined]

    async def _probe(self) -> None:
        """Probe the signals and triggers before any traffic moves; ProbeStopped when one cannot be judged."""
        if not self.probe or self.drill or self.source is None:
            return  # drills and injected boards have no Prometheus to ask
        from cockpit.engine.probe import probe

        self.say(f"probing {len(self.config.enabled_signals())} signal(s) and "
                 f"{sum(1 for t in self.config.triggers if t.enabled)} trigger(s) before any traffic moves")
        report = await probe(self.config, self.source, baseline=self.baseline, version=self.version)
        stops = report.stopping(self.strict_probe)
        for finding in stops:
            self.say(f"CANNOT START: {finding.line()}", loud=True)
        if stops:
            strict = " (--strict: dark triggers stop it too)" if self.strict_probe and report.dark_triggers else ""
            raise ProbeStopped(f"canary {self.version} not started, no traffic moved: {len(stops)} signal(s)/trigger(s) "
                               f"above cannot be judged{strict}")
        for finding in report.dark_triggers:
            self.say(f"TRIGGER CAN NEVER FIRE: {finding.line()}", loud=True)
        self.probe_report = report

    def _journal_probe(self) -> None:
        """The probe's result, kept with the run it let start (the dark triggers above all)."""
        report = self.probe_report
        if report is None:
            return
        self.emit(Event.SIGNALS_PROBED, signals=report.signals, triggers=report.triggers,
                  dark_triggers=[f.as_dict() for f in report.dark_triggers], strict=self.strict_probe)
        if report.dark_triggers:
            names = ", ".join(f.name for f in report.dark_triggers)
            self.evidence.warroom_event(1, self.plan[0]["weight"] if self.plan else 0.0,
                                        f"{len(report.dark_triggers)} TRIGGER(S) CAN NEVER FIRE (metrics missing): {names}")

    def _bind_boards(self) -> None:
        """From the run's first shift on, no window reaches back before it: the run is judged on its own data.

        Not in a drill: its simulated service starts with the drill, so it has no earlier run's data to keep out.
        """
        if self.drill or not self.state.stages:
            return
        since = min(stage.started_at for stage in self.state.stages.values())
        for board in (self.signal_board, self.trigger_board):
            binder = getattr(board, "bound_to", None)
            if binder is not None:
                binder(since)

    async def _start_control(self) -> None:
        from cockpit.run.control import ControlError, ControlServer, socket_path

        try:
            self.server = ControlServer(socket_path(self.store.dir), self.operator.on_command, group=self.canary.control_group)
            await self.server.start()
        except ControlError as exc:
            raise CanaryError(str(exc)) from None

    # ------------------------------------------------------------------ the run

    async def _drive(self, resumed: bool) -> None:
        planned = [{"weight": float(s.weight), "hold": float(s.hold)} for s in self.canary.stages]
        common = {"version": self.version, "pid": os.getpid(), "dry_traffic": self.dry_traffic,
                  "traffic": self.traffic.describe() if self.traffic is not None else None}
        if self.ic:
            common["ic"] = self.ic  # who commands this run; a resume may name another IC
        if not resumed:
            # The baseline the relative limits judge against, kept with the run it judged.
            self.emit(Event.RUN_STARTED, plan=planned, drill=self.drill, baseline=self.baseline, **common)
            self.say(
                f"canary {self.version}: stages {' → '.join(format_weight(s['weight']) for s in planned)}, "
                f"evaluating every {format_duration(self.evaluate_every)}; journal {self.journal_path}"
            )
        else:
            where = self.state.stage
            torn = self.journal.torn_bytes if self.journal else 0
            self.emit(Event.RUN_STARTED, plan=self.state.plan, drill=self.state.drill, resumed=True, stage=where,
                      torn_bytes=torn, **common)
            self.say(f"canary {self.version}: resumed from the journal at stage {where} (record {self.state.last_seq})", loud=True)
            if torn:
                self.say(f"the journal's last line was torn by a crash ({torn} bytes, never acted on): ignored", loud=True)
            if self.state.plan != planned:
                self.say("the configuration's stages differ from this run's; the run keeps the plan it started with", loud=True)
            self._restore_boards()
            self.evidence.rewrite_warroom()
        if self.holding is not None:  # a standby that took the run over says so, in the war room too
            stage = self.state.stage or 1
            weight = self.state.weight_of(stage)
            taken = self.holding.announce(self, stage, weight)
            if taken is not None:
                self.evidence.warroom_event(stage, weight, taken)
        if self.override is not None:
            self.emit(Event.GO_OVERRIDE, version=self.version, **self.override)
            self.say(f"STARTED WITHOUT GO by {self.override.get('by')}: {self.override.get('reason')}", loud=True)
        self.plan = self.state.plan
        self._journal_probe()
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
        assert self.operator_rollback is not None
        main = asyncio.create_task(self._advance_guarded())
        try:
            await asyncio.wait({main, self.operator_rollback}, return_when=asyncio.FIRST_COMPLETED)
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
        return self.operator_rollback.result()

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
        self._bind_boards()  # a resumed run keeps the bound of its first shift
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
                self.emit(Event.STAGE_STARTED, stage=stage, weight=weight, hold=hold, ends_at=self.clock.now() + hold)
                self._bind_boards()
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
            self.emit(Event.TRAFFIC_SHIFTED, stage=stage, weight=weight, ok=False, attempts=0, duration_s=0.0, error=error,
                      dry=self.dry_traffic)
            self.evidence.write_rollout(stage, weight, f"result:    NOT SHIFTED ({error})\n")
            if self.dry_traffic:
                self.say(f"{error}: stage {stage} ({format_weight(weight)}) watched without moving traffic", loud=True)
                return None
            self.say(f"{NO_TRAFFIC}: the canary cannot move traffic; aborting (use --dry-traffic to watch only)", loud=True)
            self.phase = "finishing"
            return Ending("aborted", [Reason("traffic", "traffic", NO_TRAFFIC).as_dict()], error=NO_TRAFFIC)
        self.say(f"shifting traffic to {format_weight(weight)} ({stage}/{len(self.plan)})")
        await self.fence_traffic("shift", stage, weight)
        try:
            result = await self.traffic.shift(weight, self.version, stage)
        except asyncio.CancelledError:
            self.emit(Event.TRAFFIC_SHIFTED, stage=stage, weight=weight, ok=False, attempts=0, duration_s=0.0,
                      error="interrupted: a rollback was ordered while the shift ran")
            raise
        self.emit(Event.TRAFFIC_SHIFTED, stage=stage, weight=weight, ok=result.ok, attempts=result.attempt_count,
                  duration_s=round(result.duration_s, 3), error=result.error, target=result.target,
                  read_back=result.read_back_text,
                  read_back_weight=(result.read_back.value if result.read_back else None))
        self.evidence.write_rollout(stage, weight, result.as_text())
        if result.ok:
            self.say(f"traffic at {format_weight(weight)} ({result.attempt_count} attempt(s), {result.duration_s:.2f}s); "
                     f"{result.read_back_text}")
            if result.read_back is not None:  # the weight the traffic system itself reports, on the war room's record
                self.evidence.warroom_event(stage, weight, f"TRAFFIC AT {format_weight(weight)}: {result.read_back_text}")
            return None
        message = f"traffic shift to {format_weight(weight)} FAILED: {result.error}"
        self.say(f"{message}: rolling back", loud=True)
        self.evidence.warroom_event(stage, weight, f"TRAFFIC SHIFT TO {format_weight(weight)} FAILED: {result.error}")
        self.phase = "rolling_back"
        return Ending("rollback", [Reason("traffic", "traffic", message).as_dict()], self.clock.now(),
                      decided_perf=time.perf_counter())

    async def _run_stage(self, stage: int) -> Ending | None:
        """Evaluate until the stage passes (None) or must roll back (an Ending)."""
        while True:
            current = self._stage(stage)
            now = self.clock.now()
            if self.promote_by is None:
                left = current.ends_at - now
                await self._pause(self.evaluate_every if left <= 0 else min(self.evaluate_every, left))
            if self.promote_by is not None:
                by, self.promote_by = self.promote_by, None
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
        waker = asyncio.ensure_future(self.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            self.wake.clear()

    # ------------------------------------------------------------------ one evaluation

    async def _evaluate(self, stage: int) -> tuple[Decision, float, bool]:
        from cockpit.engine.decision import StageContext, decide, is_blind

        current = self._stage(stage)
        with self.answers.evaluation():
            signals, triggers = await asyncio.gather(
                sample_signals(self.signal_board, self.config, self.clock, current.started_at, current.ends_at),
                evaluate_triggers(self.trigger_board, self.config, self.clock),
            )
        now = self.clock.now()
        consecutive, blind_since = self.state.blind_streak(is_blind(signals, triggers), now)
        context = StageContext.from_canary(
            self.canary,
            now=now,
            blind_since=blind_since,
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
        self.emit(Event.SAMPLE, stage=stage, weight=weight, signals=signals_json(signals), triggers=triggers_json(triggers),
                  consecutive_blind=consecutive, **({"blind_since": blind_since} if blind_since is not None else {}),
                  board=self._board_snapshot())
        self.emit(Event.DECISION, stage=stage, weight=weight, action=decision.action.value,
                  reasons=[r.as_dict() for r in decision.reasons], at=decision.at,
                  **({"operator_hold": True} if held is not None else {}))
        self.evidence.warroom_minute(stage, weight, signals, decision.action.value)
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
        samples = [r for r in (self.journal.records if self.journal else []) if r.get("event") == Event.SAMPLE]
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
        self.emit(Event.HOLD, stage=stage, weight=current.weight, until=until, ends_at=max(current.ends_at, until),
                  holds_used=holds_used, reasons=[r.as_dict() for r in decision.reasons])
        why = next((r.message for r in decision.reasons if r.source != "stage"), "")
        self.say(f"HOLD {holds_used}/{self.canary.max_holds} at stage {stage}: {why}", loud=True)
        self.evidence.warroom_event(stage, current.weight, f"HOLD {holds_used}/{self.canary.max_holds} for {format_duration(self.canary.hold_extension)}: {why}")

    def _pass_stage(self, stage: int, by: str | None = None) -> None:
        weight = self._stage(stage).weight
        self.emit(Event.STAGE_PASSED, stage=stage, weight=weight, **({"by": by} if by else {}))
        self.say(f"stage {stage} ({format_weight(weight)}) passed" + (f" (promoted by {by})" if by else ""))
        self.evidence.write_stage_files(stage, weight)

    def _finish_promoted(self) -> None:
        stage = len(self.plan)
        weight = self.state.weight_of(stage)
        self.phase = "finishing"
        self.evidence.warroom_event(stage, weight, f"PROMOTED: {self.version} at {format_weight(weight)}, every stage passed")
        self.emit(Event.CANARY_DONE, result="promoted", stage=stage, weight=weight)
        self.say(f"canary {self.version}: PROMOTED ({len(self.plan)} stages passed)")

    def _finish_aborted(self, ending: Ending) -> None:
        stage = max(1, self.state.next_stage())
        weight = self.state.weight_of(stage)
        self.evidence.warroom_event(stage, weight, f"ABORTED: {ending.error}")
        self.emit(Event.CANARY_DONE, result="aborted", stage=stage, weight=weight, reasons=ending.reasons, error=ending.error)
        self.say(f"canary {self.version}: ABORTED: {ending.error}", loud=True)

    def _where(self) -> tuple[int, float]:
        if self.shifting is not None:
            return self.shifting
        stage = self.state.stage or 1
        return stage, self.state.weight_of(stage)

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
    ic: str | None = None,
    override: dict[str, Any] | None = None,
    probe: bool = True,
    strict_probe: bool = False,
    holding: Any = None,
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
    ic: the incident commander's initials, journaled in run_started and shown beside their calls.
    override: {"reason", "by", "user", "missing"} when the run starts without GO (journaled as go_override).
    probe: probe the signals and triggers on `source` before the first shift (never for drills or without a source).
    strict_probe: a trigger whose metrics do not exist stops the start too.
    holding: a cockpit.run.lease.RunHolding ([state] dsn): records go to PostgreSQL first, fenced by its lease.
    Raises ProbeStopped (a CanaryError) when the probe finds something that cannot be judged, and CanaryError (one line) when the run cannot start: already live, journal changed, socket unusable.
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
        ic=ic,
        override=override,
        probe=probe,
        strict_probe=strict_probe,
        holding=holding,
    )
    return await run.run()
