"""Where a canary run stands, rebuilt from its journal: what a restarted cockpit resumes from.

Folding the journal's records through `RunState.apply` gives the current stage,
its end (holds included), whether its traffic shift is already done, the holds
and blind evaluations so far, an operator's hold, the rollback in progress, and
whether the run is finished. The live runner applies every record it writes,
so the state it acts on is always the state a restart would rebuild.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit.events import Event


@dataclass
class StageState:
    stage: int
    weight: float
    hold: float
    started_at: float
    ends_at: float
    holds_used: int = 0
    hold_until: float | None = None
    samples: int = 0  # evaluations journaled in this stage (recovery samples not counted)

    def starts_hold(self, now: float, max_holds: int) -> bool:
        """Whether a HOLD decided at `now` starts a hold: none is in force and one is left."""
        in_force = self.hold_until is not None and now < self.hold_until
        return not in_force and self.holds_used < max_holds


@dataclass
class RunState:
    version: str | None = None
    t0: float | None = None  # the first run_started: T-0 of the war-room minutes
    plan: list[dict[str, float]] = field(default_factory=list)
    drill: bool = False
    starts: int = 0  # run_started records: 1 + the number of resumes
    stage: int = 0  # the stage entered last (0: none yet)
    stages: dict[int, StageState] = field(default_factory=dict)
    shifted: set[int] = field(default_factory=set)  # stages with a traffic_shifted ok=true
    passed: set[int] = field(default_factory=set)
    operator_hold: dict[str, Any] | None = None  # the operator record that holds the stage
    ic: str | None = None  # who commands the release (`cockpit canary --ic AB`), as run_started last named
    ic_call: dict[str, Any] | None = None  # the IC's last own call (an ic_call record)
    consecutive_blind: int = 0
    blind_since: float | None = None  # when the streak of blind evaluations began (its first one)
    last_sample: dict[str, Any] | None = None
    last_decision: dict[str, Any] | None = None
    last_warroom_minute: int | None = None
    rollback_started: dict[str, Any] | None = None
    rollback_done: dict[str, Any] | None = None
    recovered_at: float | None = None
    done: dict[str, Any] | None = None
    last_seq: int = 0

    def blind_streak(self, blind: bool, now: float) -> tuple[int, float | None]:
        """(blind evaluations in a row, when the streak began) once this evaluation is counted."""
        if not blind:
            return 0, None
        since = self.blind_since if self.consecutive_blind and self.blind_since is not None else now
        return self.consecutive_blind + 1, since

    @classmethod
    def replay(cls, records: list[dict[str, Any]]) -> RunState:
        state = cls()
        for record in records:
            state.apply(record)
        return state

    @property
    def started(self) -> bool:
        return self.starts > 0

    @property
    def current(self) -> StageState | None:
        return self.stages.get(self.stage)

    def next_stage(self) -> int:
        """The stage to work on: the current one until it has passed, then the one after."""
        if self.stage == 0:
            return 1
        return self.stage + 1 if self.stage in self.passed else self.stage

    def weight_of(self, stage: int) -> float:
        if 1 <= stage <= len(self.plan):
            return float(self.plan[stage - 1]["weight"])
        return 0.0

    def apply(self, record: dict[str, Any]) -> None:
        self.last_seq = int(record.get("seq", self.last_seq))
        kind = record.get("event")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, record)

    def _on_run_started(self, r: dict[str, Any]) -> None:
        self.starts += 1
        if self.t0 is None:
            self.t0 = float(r["ts"])
            self.version = r.get("version")
            self.plan = [dict(s) for s in r.get("plan") or []]
            self.drill = bool(r.get("drill", False))
        if r.get("ic"):
            self.ic = str(r["ic"])

    def _on_ic_call(self, r: dict[str, Any]) -> None:
        self.ic_call = r

    def call_for(self, stage: int) -> str | None:
        """The IC's own call on `stage` (a call on an earlier stage is not a call on this one)."""
        call = self.ic_call
        return str(call.get("call")) if call is not None and call.get("stage") == stage else None

    def _on_traffic_shifted(self, r: dict[str, Any]) -> None:
        if r.get("ok"):
            self.shifted.add(int(r["stage"]))

    def _on_stage_started(self, r: dict[str, Any]) -> None:
        stage = int(r["stage"])
        self.stage = stage
        self.stages[stage] = StageState(stage, float(r["weight"]), float(r["hold"]), float(r["ts"]), float(r["ends_at"]))
        self.consecutive_blind = 0
        self.blind_since = None

    def _on_sample(self, r: dict[str, Any]) -> None:
        self.last_sample = r
        if r.get("phase") == "recovery":
            return
        self.consecutive_blind = int(r.get("consecutive_blind") or 0)
        since = r.get("blind_since")
        self.blind_since = float(since) if self.consecutive_blind and isinstance(since, (int, float)) else None
        current = self.stages.get(int(r.get("stage") or 0))
        if current is not None:
            current.samples += 1

    def _on_decision(self, r: dict[str, Any]) -> None:
        self.last_decision = r

    def _on_hold(self, r: dict[str, Any]) -> None:
        current = self.stages.get(int(r.get("stage") or 0))
        if current is None or r.get("by"):  # an operator's hold does not spend the stage's holds
            return
        current.holds_used = int(r.get("holds_used") or current.holds_used)
        if r.get("until") is not None:
            current.hold_until = float(r["until"])
        if r.get("ends_at") is not None:
            current.ends_at = float(r["ends_at"])

    def _on_operator(self, r: dict[str, Any]) -> None:
        command = r.get("command")
        if command == "hold":
            self.operator_hold = r
        elif command in ("resume", "promote"):
            self.operator_hold = None

    def _on_stage_passed(self, r: dict[str, Any]) -> None:
        self.passed.add(int(r["stage"]))
        self.operator_hold = None

    def _on_rollback_started(self, r: dict[str, Any]) -> None:
        self.rollback_started = r

    def _on_rollback_done(self, r: dict[str, Any]) -> None:
        self.rollback_done = r

    def _on_signals_recovered(self, r: dict[str, Any]) -> None:
        self.recovered_at = float(r.get("at") or r["ts"])

    def _on_warroom(self, r: dict[str, Any]) -> None:
        if r.get("minute") is not None:
            self.last_warroom_minute = int(r["minute"])

    def _on_canary_done(self, r: dict[str, Any]) -> None:
        self.done = r


# Which records move the run on; the others (warroom text, notes, night records) change nothing here.
_HANDLERS: dict[str, Callable[[RunState, dict[str, Any]], None]] = {
    Event.RUN_STARTED: RunState._on_run_started,
    Event.TRAFFIC_SHIFTED: RunState._on_traffic_shifted,
    Event.STAGE_STARTED: RunState._on_stage_started,
    Event.SAMPLE: RunState._on_sample,
    Event.DECISION: RunState._on_decision,
    Event.HOLD: RunState._on_hold,
    Event.OPERATOR: RunState._on_operator,
    Event.IC_CALL: RunState._on_ic_call,
    Event.STAGE_PASSED: RunState._on_stage_passed,
    Event.ROLLBACK_STARTED: RunState._on_rollback_started,
    Event.ROLLBACK_DONE: RunState._on_rollback_done,
    Event.SIGNALS_RECOVERED: RunState._on_signals_recovered,
    Event.WARROOM: RunState._on_warroom,
    Event.CANARY_DONE: RunState._on_canary_done,
}
