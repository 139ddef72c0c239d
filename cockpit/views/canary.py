"""What the war-room screen shows, reduced from the canary's journal events (pure, no Textual).

`CanaryView.apply(event)` folds one journal/--events object (see the canary
contract) into plain state: the stage and its clock, each signal's latest
reading with a bounded history for its sparkline, firing triggers, the last
decision and its reasons, rollback progress and the war-room log. A TUI that
starts in the middle of a run replays the journal through it and shows the
same state at once. Unknown or malformed events are counted, never raised.

The first night writes into the same journal (first_night_started, samples and
rollbacks with phase "first_night", hour_closed, first_night_done): those go to
a NightView (cockpit.views.night) kept beside the canary's state, so a
night rollback reads as the night's, never as a rollback of the last stage.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.events import Event
from cockpit.format import MISSING, format_clock, format_duration, format_weight
from cockpit.views.reading import (
    STATUS_SYMBOL,
    RollbackView,
    finite_number,
    format_reason,
    notable_reasons,
    whole_number,
)

if TYPE_CHECKING:  # night_view imports this module; it is loaded only for a journal with a first night
    from cockpit.views.night import NightView

NIGHT = "first_night"  # the phase the first night's records carry (cockpit.run.first_night.NIGHT)
HISTORY = 300  # samples kept per signal: a history as wide as a 350-column pane (bounded all the same)
LOG_LINES = 500
NOTES = 100

# Engine SignalState -> what the screen says. BREACHING is over its limit (not yet
# for its `for`): the value is bad now, so it reads FAIL; the decision panel says
# whether the engine has acted yet.
_STATE_STATUS = {"PASS": "PASS", "WARN": "WARN", "BREACHING": "FAIL", "FAIL": "FAIL", "INSUFFICIENT": "UNKNOWN"}

VERDICT = {
    "continue": ("✔", "CONTINUE", "ok"),
    "proceed": ("✔", "PROCEED", "ok"),
    "hold": ("!", "HOLD", "hold"),
    "rollback": ("▲", "ROLLBACK", "rollback"),
    "immediate_rollback": ("▲", "IMMEDIATE ROLLBACK", "rollback"),
}


@dataclass
class SignalView:
    """A golden signal as last sampled, with the history its sparkline draws."""

    name: str
    value: float | None = None
    state: str | None = None  # the engine's SignalState value
    limit: float | None = None
    unit: str = ""
    window: float | None = None
    reason: str = ""
    dry_run: bool = False
    at: float | None = None  # when the latest sample carrying this signal was taken
    last_good_at: float | None = None  # when it last had a real value (not BLIND)
    last_good_value: float | None = None
    samples: int = 0  # bumps on every sample: a sparkline redraws only when this changes
    history: deque[tuple[float, float | None]] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def sparkline_data(self) -> list[float]:
        """The history's real values, oldest first (gaps from BLIND samples left out)."""
        return [v for _, v in self.history if v is not None]


@dataclass(frozen=True)
class StatusMark:
    """A status that reads without colour: a word, a symbol, a CSS class and (for STALE) an age."""

    word: str  # PASS | WARN | FAIL | UNKNOWN | STALE
    age: float | None = None
    detail: str = ""

    @property
    def symbol(self) -> str:
        return STATUS_SYMBOL[self.word]

    @property
    def css_class(self) -> str:
        return f"status-{self.word.lower()}"

    @property
    def text(self) -> str:
        age = f" {format_duration(self.age, 'age')}" if self.word == "STALE" and self.age is not None else ""
        return f"{self.symbol} {self.word}{age}"


def signal_status(signal: SignalView, now: float, stale_after: float) -> StatusMark:
    """What a signal's status cell says now: never PASS on missing or old data."""
    if signal.at is None:
        return StatusMark("UNKNOWN", detail="no sample yet")
    since_good = None if signal.last_good_at is None else now - signal.last_good_at
    if now - signal.at > stale_after:
        return StatusMark("STALE", age=since_good if since_good is not None else now - signal.at, detail="no new sample")
    if signal.state == "BLIND" or signal.state is None:
        if since_good is not None:
            return StatusMark("STALE", age=since_good, detail=signal.reason or "no data")
        return StatusMark("UNKNOWN", detail=signal.reason or "no data")
    word = _STATE_STATUS.get(signal.state, "UNKNOWN")
    if word == "PASS" and signal.value is None:
        word = "UNKNOWN"  # PASS without a value was never measured: the screen does not say PASS
    return StatusMark(word, detail=signal.reason)


@dataclass
class TriggerView:
    name: str
    firing: bool = False
    active: bool = False
    action: str = ""
    auto: bool = False
    value: float | None = None
    error: str | None = None
    dry_run: bool = False
    at: float | None = None

    def describe(self) -> str:
        flags = [self.action or MISSING]
        if self.auto:
            flags.append("auto")
        if not self.active:
            flags.append("pending")
        if self.dry_run:
            flags.append("dry-run")
        return f"{self.name} ({', '.join(flags)})"


@dataclass
class DecisionView:
    action: str
    reasons: list[dict[str, Any]]
    at: float
    stage: int | None = None
    weight: float | None = None

    @property
    def verdict(self) -> tuple[str, str, str]:
        """(symbol, word, css suffix) for the verdict line."""
        return VERDICT.get(self.action, ("?", self.action.upper() or "UNKNOWN", "unknown"))


@dataclass
class LogLine:
    at: float
    kind: str  # warroom | note | event | operator | alarm
    text: str

    def render(self) -> str:
        # A war-room line carries its own minute mark (":15 | Stage 2 …"); the rest get the clock.
        return self.text if self.kind == "warroom" else f"{format_clock(self.at)} {self.text}"


@dataclass
class CanaryView:
    """The screen's state for one canary run, built only from its events."""

    history: int = HISTORY
    log_lines: int = LOG_LINES
    version: str | None = None
    drill: bool = False
    pid: int | None = None
    ic: str | None = None  # the incident commander run_started named (`cockpit canary --ic AB`)
    without_go: str | None = None  # who started the run past the GO gate, and why (go_override)
    ic_call: dict[str, Any] | None = None  # the IC's last own call (an ic_call event)
    plan: list[dict[str, Any]] = field(default_factory=list)
    started_at: float | None = None  # T-0: the run_started event
    phase: str = "idle"  # idle | running | holding | rolling_back | rolled_back | rollback_failed | promoted | aborted
    stage: int | None = None
    weight: float | None = None
    stage_started_at: float | None = None
    stage_hold: float | None = None
    ends_at: float | None = None
    hold_until: float | None = None
    holds_used: int = 0
    stages_passed: set[int] = field(default_factory=set)
    traffic: dict[str, Any] | None = None
    signals: dict[str, SignalView] = field(default_factory=dict)
    triggers: dict[str, TriggerView] = field(default_factory=dict)
    decision: DecisionView | None = None
    rollback: RollbackView | None = None
    result: str | None = None
    log: deque[LogLine] = field(default_factory=deque)
    log_total: int = 0  # lines ever logged: a log widget appends those past what it has shown
    log_reordered: int = 0  # lines that arrived before the last one shown in time: a log widget redraws
    notes: deque[LogLine] = field(default_factory=lambda: deque(maxlen=NOTES))
    last_event_at: float | None = None
    last_sample_at: float | None = None
    events: int = 0
    ignored: int = 0
    night: NightView | None = None  # once the journal has a first-night record

    def __post_init__(self) -> None:
        self.log = deque(self.log, maxlen=self.log_lines)

    # ------------------------------------------------------------ queries

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def live(self) -> bool:
        """A run has started and not finished: quitting the UI deserves a question."""
        return self.started and self.result is None

    def time_left(self, now: float) -> float | None:
        """Seconds until the current stage may end (a hold moves it), None when no stage runs."""
        if self.ends_at is None or self.phase not in ("running", "holding"):
            return None
        return max(0.0, self.ends_at - now)

    def firing_triggers(self) -> list[TriggerView]:
        return [t for t in self.triggers.values() if t.firing]

    def blind_triggers(self) -> list[TriggerView]:
        return [t for t in self.triggers.values() if t.error]

    def night_view(self) -> NightView:
        """The first night's state, made on its first record."""
        if self.night is None:
            from cockpit.views.night import NightView

            self.night = NightView()
        return self.night

    def stage_weights(self) -> list[float]:
        weights = [finite_number(s.get("weight")) for s in self.plan if isinstance(s, dict)]
        return [w for w in weights if w is not None]

    # ------------------------------------------------------------ reducer

    def apply_all(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: dict[str, Any]) -> bool:
        """Fold one event in; False (and counted) when it is not one the view knows."""
        if not isinstance(event, dict):
            self.ignored += 1
            return False
        kind = event.get("event")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        ts = finite_number(event.get("ts"))
        if handler is None or ts is None:
            self.ignored += 1
            return False
        self.events += 1
        self.last_event_at = ts if self.last_event_at is None else max(self.last_event_at, ts)
        handler(self, event, ts)
        return True

    def _log(self, ts: float, kind: str, text: str) -> None:
        self._log_line(LogLine(ts, kind, text))

    def _log_line(self, line: LogLine) -> None:
        """Keep the log in time order whatever order the records arrive in (a note from another host,
        a mirror catching up): a late line goes where its time puts it, and `log_reordered` says so."""
        log = self.log
        self.log_total += 1
        if not log or line.at >= log[-1].at:
            log.append(line)
            return
        index = len(log)
        while index > 0 and log[index - 1].at > line.at:
            index -= 1
        if log.maxlen is not None and len(log) == log.maxlen:
            if index == 0:
                return  # older than everything a full log keeps
            log.popleft()
            index -= 1
        log.insert(index, line)
        self.log_reordered += 1

    def _stage_label(self, event: dict[str, Any]) -> str:
        stage = whole_number(event.get("stage"))
        weight = finite_number(event.get("weight"))
        if stage is None:
            return f"({format_weight(weight)})" if weight is not None else ""
        return f"stage {stage} ({format_weight(weight)})" if weight is not None else f"stage {stage}"

    def _on_run_started(self, event: dict[str, Any], ts: float) -> None:
        # A journal holds one run; a second run_started (a resumed process) keeps the history.
        resumed = self.started
        self.version = str(event.get("version") or self.version or "") or None
        self.drill = bool(event.get("drill", self.drill))
        self.pid = whole_number(event.get("pid"))
        if event.get("ic"):
            self.ic = str(event["ic"])
        plan = event.get("plan")
        if isinstance(plan, list):
            self.plan = [s for s in plan if isinstance(s, dict)]
        if not resumed:
            self.started_at = ts
            self.phase = "running"
        weights = "→".join(format_weight(w, percent=False) for w in self.stage_weights())
        label = "DRILL run" if self.drill else "run"
        verb = "resumed" if resumed else "started"
        self._log(ts, "event", f"{label} {verb}: {self.version or MISSING}, stages {weights} %, pid {self.pid or MISSING}")

    def _on_stage_started(self, event: dict[str, Any], ts: float) -> None:
        self.stage = whole_number(event.get("stage"))
        self.weight = finite_number(event.get("weight"))
        self.stage_started_at = ts
        self.stage_hold = finite_number(event.get("hold"))
        self.ends_at = finite_number(event.get("ends_at"))
        if self.ends_at is None and self.stage_hold is not None:
            self.ends_at = ts + self.stage_hold
        self.hold_until = None
        self.holds_used = 0
        if self.result is None and self.phase != "rolling_back":
            self.phase = "running"
        self._log(ts, "event", f"{self._stage_label(event)} started")

    def _on_traffic_shifted(self, event: dict[str, Any], ts: float) -> None:
        self.traffic = dict(event)
        weight = format_weight(finite_number(event.get("weight")))
        attempts = whole_number(event.get("attempts"))
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}" if attempts is not None else f"{MISSING} attempts"
        if event.get("ok"):
            duration = finite_number(event.get("duration_s"))
            took = f", {format_duration(duration, 'measured')}" if duration is not None else ""
            self._log(ts, "event", f"traffic → {weight} ({tries}{took})")
        else:
            self._log(ts, "alarm", f"traffic shift to {weight} FAILED after {tries}: {event.get('error') or 'no reason given'}")

    def _on_sample(self, event: dict[str, Any], ts: float) -> None:
        self.last_sample_at = ts
        if event.get("phase") == NIGHT:
            self.night_view().sample(event, ts)
            # A night sample lists only the triggers that are not quiet: one missing from it is quiet now.
            self.triggers = {}
        signals = event.get("signals")
        if isinstance(signals, dict):
            for name, data in signals.items():
                if isinstance(data, dict):
                    self._sample_signal(str(name), data, ts)
        triggers = event.get("triggers")
        if isinstance(triggers, dict):
            for name, data in triggers.items():
                if isinstance(data, dict):
                    self.triggers[str(name)] = TriggerView(
                        name=str(name),
                        firing=bool(data.get("firing")),
                        active=bool(data.get("active")),
                        action=str(data.get("action") or ""),
                        auto=bool(data.get("auto")),
                        value=finite_number(data.get("value")),
                        error=str(data["error"]) if data.get("error") else None,
                        dry_run=bool(data.get("dry_run")),
                        at=ts,
                    )

    def _sample_signal(self, name: str, data: dict[str, Any], ts: float) -> None:
        signal = self.signals.get(name)
        if signal is None:
            signal = self.signals[name] = SignalView(name=name, history=deque(maxlen=self.history))
        state = data.get("state")
        signal.state = str(state) if state is not None else None
        signal.value = finite_number(data.get("value"))
        signal.limit = finite_number(data.get("limit"))
        signal.unit = str(data.get("unit") or "")
        signal.window = finite_number(data.get("window"))
        signal.reason = str(data.get("reason") or "")
        signal.dry_run = bool(data.get("dry_run"))
        signal.at = ts
        signal.samples += 1
        real = signal.value is not None and signal.state != "BLIND"
        signal.history.append((ts, signal.value if real else None))
        if real:
            signal.last_good_at = ts
            signal.last_good_value = signal.value

    def _on_decision(self, event: dict[str, Any], ts: float) -> None:
        reasons = event.get("reasons")
        previous = self.decision.action if self.decision else None
        self.decision = DecisionView(
            action=str(event.get("action") or ""),
            reasons=[r for r in reasons if isinstance(r, dict)] if isinstance(reasons, list) else [],
            at=ts,
            stage=whole_number(event.get("stage")),
            weight=finite_number(event.get("weight")),
        )
        # Every evaluation decides; the log keeps the ones that change something.
        if self.decision.action != "continue" and (self.decision.action != previous or self.decision.action == "proceed"):
            symbol, word, _ = self.decision.verdict
            why = "; ".join(format_reason(r) for r in notable_reasons(self.decision.reasons)[:3])
            self._log(ts, "alarm" if "rollback" in self.decision.action else "event",
                      f"decision {symbol} {word}" + (f": {why}" if why else ""))

    def _on_hold(self, event: dict[str, Any], ts: float) -> None:
        until = finite_number(event.get("until"))
        self.hold_until = until
        if until is not None:
            self.ends_at = until if self.ends_at is None else max(self.ends_at, until)
        holds = whole_number(event.get("holds_used"))
        if holds is not None:
            self.holds_used = holds
        if self.result is None and self.phase != "rolling_back":
            self.phase = "holding"
        reasons = event.get("reasons")
        why = "; ".join(format_reason(r) for r in reasons[:3]) if isinstance(reasons, list) else ""
        self._log(ts, "event", f"HOLD {self._stage_label(event)} until {format_clock(until)} (hold {self.holds_used})"
                  + (f": {why}" if why else ""))

    def _on_stage_passed(self, event: dict[str, Any], ts: float) -> None:
        stage = whole_number(event.get("stage"))
        if stage is not None:
            self.stages_passed.add(stage)
        self._log(ts, "event", f"{self._stage_label(event)} passed")

    def _on_rollback_started(self, event: dict[str, Any], ts: float) -> None:
        if event.get("phase") == NIGHT:  # the night's: the canary's stages and result stay as they were
            self._log(ts, *self.night_view().rollback_started(event, ts))
            return
        self.rollback = RollbackView.from_started(event, ts)
        self.phase = "rolling_back"
        why = "; ".join(format_reason(r) for r in self.rollback.reasons[:3])
        self._log(ts, "alarm", f"ROLLBACK started at {self._stage_label(event)}" + (f": {why}" if why else ""))

    def _on_rollback_done(self, event: dict[str, Any], ts: float) -> None:
        if event.get("phase") == NIGHT:
            self._log(ts, *self.night_view().rollback_done(event, ts))
            return
        if self.rollback is None:  # a journal that starts mid-rollback still shows the outcome
            self.rollback = RollbackView(started_at=ts, stage=whole_number(event.get("stage")), weight=finite_number(event.get("weight")))
        rb = self.rollback
        rb.finish(event, ts)
        if rb.ok:
            self.phase = "rolled_back"
            lag = f", decision→command {format_duration(rb.decision_to_command_ms / 1000, 'measured')}" if rb.decision_to_command_ms is not None else ""
            self._log(ts, "alarm", f"ROLLBACK done in {format_duration(rb.elapsed(ts), 'measured')}{lag}")
        else:
            self.phase = "rollback_failed"
            self._log(ts, "alarm", f"ROLLBACK FAILED after {rb.attempts or MISSING} attempts: {rb.error or 'no reason given'}")

    def _on_signals_recovered(self, event: dict[str, Any], ts: float) -> None:
        self._log(ts, "event", f"signals recovered at {self._stage_label(event) or 'this stage'}")

    def _on_operator(self, event: dict[str, Any], ts: float) -> None:
        command = str(event.get("command") or MISSING)
        by = str(event.get("by") or MISSING)
        reason = str(event.get("reason") or "")
        if command == "resume" and self.phase == "holding":
            self.phase = "running"
            self.hold_until = None
        if command != "note":  # the note itself arrives as its own event
            self._log(ts, "operator", f"operator {command} by {by}" + (f": {reason}" if reason else ""))

    def _on_ic_call(self, event: dict[str, Any], ts: float) -> None:
        self.ic_call = event
        reason = str(event.get("reason") or "")
        self._log(ts, "operator", f"IC call {event.get('call') or MISSING} by {event.get('by') or MISSING}"
                  + (f": {reason}" if reason else ""))

    def ic_text(self) -> str:
        """`IC (AB): GO`: the IC's own call on the stage in hand (`—` before one), "" with no IC and no call."""
        call = self.ic_call
        on_stage = call is not None and call.get("stage") == self.stage
        if self.ic is None and not on_stage:
            return ""
        return f"IC{f' ({self.ic})' if self.ic else ''}: {call.get('call') if on_stage and call else MISSING}"

    def _on_go_override(self, event: dict[str, Any], ts: float) -> None:
        self.without_go = f"{event.get('by') or MISSING}: {event.get('reason') or MISSING}"
        self._log(ts, "alarm", f"STARTED WITHOUT GO ({self.without_go})")

    def _on_note(self, event: dict[str, Any], ts: float) -> None:
        line = LogLine(ts, "note", f"note ({event.get('by') or MISSING}): {event.get('text') or ''}")
        self.notes.append(line)
        self._log_line(line)

    def _on_warroom(self, event: dict[str, Any], ts: float) -> None:
        self._log(ts, "warroom", str(event.get("line") or ""))

    def _on_drill_fault(self, event: dict[str, Any], ts: float) -> None:
        # A drill's injected fault (the drill session's own event, not the canary's journal).
        phase = str(event.get("phase") or "")
        words = {"started": "injected", "observed": "visible to the cockpit's source", "ended": "ended"}
        by = f" (by {event['ended_by']})" if phase == "ended" and event.get("ended_by") else ""
        self._log(ts, "alarm", f"DRILL fault {event.get('kind') or MISSING} {words.get(phase, phase)}{by}")

    def _on_first_night_started(self, event: dict[str, Any], ts: float) -> None:
        self._log(ts, *self.night_view().started(event, ts))

    def _on_hour_closed(self, event: dict[str, Any], ts: float) -> None:
        self._log(ts, *self.night_view().hour_closed(event, ts))

    def _on_first_night_done(self, event: dict[str, Any], ts: float) -> None:
        self._log(ts, *self.night_view().finished(event, ts))

    def _on_canary_done(self, event: dict[str, Any], ts: float) -> None:
        self.result = str(event.get("result") or "aborted")
        if self.result == "promoted":
            self.phase = "promoted"
        elif self.result == "rolled_back":
            self.phase = "rolled_back" if self.phase != "rollback_failed" else self.phase
        else:
            self.phase = "aborted"
        self._log(ts, "alarm" if self.result != "promoted" else "event", f"canary done: {self.result.replace('_', ' ')}")


# Which reducer folds which event; events not here are counted as ignored.
_HANDLERS: dict[str, Callable[[CanaryView, dict[str, Any], float], None]] = {
    Event.RUN_STARTED: CanaryView._on_run_started,
    Event.STAGE_STARTED: CanaryView._on_stage_started,
    Event.TRAFFIC_SHIFTED: CanaryView._on_traffic_shifted,
    Event.SAMPLE: CanaryView._on_sample,
    Event.DECISION: CanaryView._on_decision,
    Event.HOLD: CanaryView._on_hold,
    Event.STAGE_PASSED: CanaryView._on_stage_passed,
    Event.ROLLBACK_STARTED: CanaryView._on_rollback_started,
    Event.ROLLBACK_DONE: CanaryView._on_rollback_done,
    Event.SIGNALS_RECOVERED: CanaryView._on_signals_recovered,
    Event.OPERATOR: CanaryView._on_operator,
    Event.NOTE: CanaryView._on_note,
    Event.IC_CALL: CanaryView._on_ic_call,
    Event.GO_OVERRIDE: CanaryView._on_go_override,
    Event.WARROOM: CanaryView._on_warroom,
    Event.DRILL_FAULT: CanaryView._on_drill_fault,
    Event.FIRST_NIGHT_STARTED: CanaryView._on_first_night_started,
    Event.HOUR_CLOSED: CanaryView._on_hour_closed,
    Event.FIRST_NIGHT_DONE: CanaryView._on_first_night_done,
    Event.CANARY_DONE: CanaryView._on_canary_done,
}
