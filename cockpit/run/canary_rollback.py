"""A canary run's rollback, and the watch for the signals' recovery after it.

The rollback is journaled before it runs (`rollback_started`, with when its
cause was first seen bad), then the traffic adapter's rollback command runs and
`rollback_done` records how it went and how long after the decision. A
rollback journaled as started but never done (a crash) is run again on resume.
An unwritable journal never keeps traffic on a bad canary: the command runs
anyway, said loudly. Afterwards the signals are sampled for `recovery_window`
to record when they all came back within limits; the run says so first, and a
stop (SIGINT/SIGTERM) during that watch only ends the watch: the rollback is
done, so the run finishes as rolled back, never as paused.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.clock import Clock, iso_utc
from cockpit.config import CockpitConfig
from cockpit.engine.model import Action, SignalState
from cockpit.engine.sampling import EvaluationAnswers, sample_signals, signals_json
from cockpit.engine.traffic import TrafficAdapter, rollback_evidence, rollback_fields
from cockpit.events import Event
from cockpit.evidence import EvidenceStore
from cockpit.format import format_duration, format_weight
from cockpit.run.canary_evidence import CanaryEvidence
from cockpit.run.journal import Journal
from cockpit.run.state import RunState

NO_TRAFFIC = "no [traffic] configured"
_RECOVERED = (SignalState.PASS, SignalState.WARN)


@dataclass
class Ending:
    """How the stages ended: promoted, a rollback to run, or aborted without one."""

    kind: str  # "promoted" | "rollback" | "aborted"
    reasons: list[dict[str, Any]] = field(default_factory=list)
    decided_at: float | None = None
    action: str = Action.ROLLBACK.value
    decided_perf: float | None = None  # perf_counter() when decided: decision→command in real time
    error: str | None = None


class CanaryRollback:
    """The rollback half of CanaryRun (a mixin: it acts on the run's state, journal and traffic adapter)."""

    # What the rollback reads and writes of the run (CanaryRun sets them all).
    version: str
    config: CockpitConfig
    clock: Clock
    store: EvidenceStore
    journal: Journal | None
    state: RunState
    traffic: TrafficAdapter | None
    dry_traffic: bool
    phase: str
    recovery_window: float
    evaluate_every: float
    signal_board: Any
    answers: EvaluationAnswers
    evidence: CanaryEvidence
    rollback_finished: asyncio.Future[dict[str, Any]] | None

    if TYPE_CHECKING:  # provided by JournaledRun and CanaryRun

        def emit(self, event: Event, **fields: Any) -> dict[str, Any]: ...
        def say(self, text: str, loud: bool = False) -> None: ...
        def _where(self) -> tuple[int, float]: ...
        async def _pause(self, seconds: float) -> None: ...
        async def fence_traffic(self, action: str, stage: int, weight: float) -> None: ...
        def _board_snapshot(self) -> dict[str, Any]: ...

    async def _roll_back(self, ending: Ending) -> None:
        self.phase = "rolling_back"
        if self.state.rollback_started is None:
            stage, weight = self._where()
            try:
                self.emit(Event.ROLLBACK_STARTED, stage=stage, weight=weight, reasons=ending.reasons,
                          decided_at=ending.decided_at, fired_at=self._fired_at(stage, ending), action=ending.action)
            except Exception as exc:
                # An unwritable journal (disk full, read-only mount) must not keep the traffic on a bad canary.
                await self._roll_back_unjournaled(stage, weight, exc)
                raise
            why = "; ".join(str(r.get("message", "")) for r in ending.reasons[:2])
            self.say(f"ROLLBACK at stage {stage} ({format_weight(weight)}): {why}", loud=True)
            self.evidence.warroom_event(stage, weight, f"{ending.action.replace('_', ' ').upper()}: {why}")
        started = self.state.rollback_started
        assert started is not None
        stage, weight = int(started["stage"]), float(started["weight"])
        decided_at = started.get("decided_at")
        if self.state.rollback_done is None:
            await self._run_rollback(stage, weight, decided_at, ending.decided_perf)
        done = self.state.rollback_done or {}
        if self.rollback_finished is not None and not self.rollback_finished.done():
            self.rollback_finished.set_result(done)
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
        # What the traffic system itself said afterwards, when a read-back is configured.
        read_back = f" ({done.get('read_back')})" if done.get("read_back_weight") is not None else ""
        self.evidence.warroom_event(stage, weight, f"ROLLED BACK{read_back}" if ok else f"ROLLBACK FAILED: {error}")
        self.emit(Event.CANARY_DONE, result=result, stage=stage, weight=weight, reasons=list(started.get("reasons") or []),
                  recovered_at=self.state.recovered_at, error=error)
        self.evidence.write_stage_files(stage, weight)
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
            self.say(f"rollback command done ({result.attempt_count} attempt(s)); the journal does not record it; "
                     f"{result.read_back_text}", loud=True)
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
        samples = [r for r in (self.journal.records if self.journal else []) if r.get("event") == Event.SAMPLE
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
            self.emit(Event.ROLLBACK_DONE, stage=stage, weight=weight, ok=False, attempts=0, decided_at=decided_at,
                      command_started_at=None, command_ended_at=None, decision_to_command_ms=None, error=error,
                      dry=self.dry_traffic)
            return
        await self.fence_traffic("rollback", stage, weight)
        result = await self.traffic.rollback(self.version, stage, weight)
        done = rollback_fields(result, decided_at, decided_perf)
        self.emit(Event.ROLLBACK_DONE, stage=stage, weight=weight, **done)
        started = self.state.rollback_started or {}
        fired_at = started.get("fired_at")
        why = "; ".join(str(r.get("message", "")) for r in (started.get("reasons") or [])[:4])
        title = f"Rollback — {self.version} stage {stage} ({format_weight(weight)})"
        first_seen = iso_utc(fired_at) if fired_at is not None else "?"
        self.evidence.write(self._rollback_file, rollback_evidence(title, why, result, done, first_seen))
        if result.ok:
            self.say(f"rollback command done ({result.attempt_count} attempt(s), {result.duration_s:.2f}s); "
                     f"{result.read_back_text}", loud=True)
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
        self.say(f"watching recovery for up to {format_duration(max(0.0, deadline - self.clock.now()))}; "
                 "ctrl-c ends the watch")
        counting = getattr(self.signal_board, "count_from", None)
        if counting is not None:
            counting(rolled_back_at)  # recovered means the data after the rollback, not the run's whole count
        try:
            await self._watch(stage, weight, rolled_back_at, deadline, started_at, ends_at)
        except asyncio.CancelledError:
            # The stop is for the watch: consume it, so the run still journals its result (rolled back).
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self.say("recovery watch ended by a stop; the rollback's result stands", loud=True)

    async def _watch(self, stage: int, weight: float, rolled_back_at: float, deadline: float, started_at: float,
                     ends_at: float) -> None:
        """The recovery watch's loop: sample until every acting signal is within limits or the deadline passes."""
        while self.clock.now() < deadline:
            await self._pause(min(self.evaluate_every, deadline - self.clock.now()))
            with self.answers.evaluation():
                signals = await sample_signals(self.signal_board, self.config, self.clock, started_at, ends_at)
            self.emit(Event.SAMPLE, stage=stage, weight=weight, phase="recovery", signals=signals_json(signals),
                      triggers={}, board=self._board_snapshot())
            self.evidence.warroom_minute(stage, weight, signals, Action.ROLLBACK.value)
            acting = [s for s in signals if not s.dry_run]
            if acting and all(s.state in _RECOVERED for s in acting):
                at = self.clock.now()
                self.emit(Event.SIGNALS_RECOVERED, stage=stage, weight=weight, at=at, after_s=round(at - rolled_back_at, 3))
                self.say(f"signals recovered {format_duration(at - rolled_back_at)} after the rollback")
                return
        self.say(f"signals did not all recover within {format_duration(self.recovery_window)} after the rollback", loud=True)
