"""The decision matrix: one evaluation's signal and trigger readings -> continue, proceed, hold or roll back.

`decide` is pure: the same readings and stage give the same decision, and it
never looks at a clock or a source. In order:

1. an auto-trigger is active                        -> IMMEDIATE_ROLLBACK (even when other signals are blind)
2. a signal FAILs (over its limit for its `for`),
   or a rollback trigger is active                  -> ROLLBACK
3. something is BLIND (a signal, or a trigger that
   cannot be evaluated) for blind_limit evaluations -> blind_action (ROLLBACK, or HOLD for the IC)
4. a bad trend (WARN) or an active hold trigger     -> HOLD
5. the stage's time is up but it is not clean
   (BREACHING, INSUFFICIENT, BLIND, a trigger firing
   but not yet for its `for`, or waiting for its
   window to fit the run)                           -> HOLD
6. not clean, stage time left                       -> CONTINUE (never PROCEED)
7. every signal PASS and no trigger firing, at or
   after the stage's end                            -> PROCEED (on the last stage: promote)
8. all good, stage time left                        -> CONTINUE

HOLD asks for more time. The runner starts a hold only when none is in force:
holds_used += 1, hold_until = now + hold_extension, stage_ends_at = max(stage_ends_at,
hold_until); while a hold is in force a further HOLD adds nothing. When every
hold is used and none is in force (max holds exhausted):
- before the stage's end -> CONTINUE (the limit still guards; the stage runs out),
- at the stage's end, with a bad trend, an active hold trigger, a BREACHING
  signal or a firing rollback/hold trigger -> ROLLBACK: the signal kept heading
  for its limit through the stage and every hold, and an open-ended canary
  serving real traffic is the worse risk,
- when only INSUFFICIENT/BLIND keep it from proceeding -> HOLD (waiting for the
  IC): silence is neither a pass nor a reason to roll back; blindness has its
  own limit (blind_limit / blind_action).
Dry-run signals and triggers never act; what they would have done is in the
reasons with dry_run=True. Warn triggers never act either; they are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cockpit.engine.model import Action, Decision, Reason, SignalReading, SignalState, TriggerReading
from cockpit.engine.triggers import ALERT_PREFIX
from cockpit.format import format_duration


@dataclass
class StageContext:
    """Where the stage stands when the readings are judged."""

    now: float
    stage_started_at: float
    stage_ends_at: float  # includes the extensions of holds already started
    holds_used: int = 0
    max_holds: int = 2
    hold_extension: float = 900.0
    consecutive_blind: int = 0  # evaluations in a row, this one included, that were blind (see is_blind)
    blind_limit: int = 4
    blind_since: float | None = None  # when the streak of blind evaluations began
    blind_for: float = 60.0  # blind this long (or blind_limit evaluations, whichever first) -> blind_action
    blind_action: Literal["hold", "rollback"] = "rollback"
    is_last_stage: bool = False
    hold_until: float | None = None  # when the hold in force ends, if one is

    @classmethod
    def from_canary(cls, canary: Any, **fields: Any) -> StageContext:
        """A context with max_holds, hold_extension, blind_limit and blind_action taken from [canary]."""
        defaults = {
            "max_holds": canary.max_holds,
            "hold_extension": float(canary.hold_extension),
            "blind_limit": canary.blind_limit,
            "blind_for": float(canary.blind_for),
            "blind_action": canary.blind_action,
        }
        return cls(**{**defaults, **fields})

    @property
    def stage_over(self) -> bool:
        return self.now >= self.stage_ends_at

    @property
    def hold_in_force(self) -> bool:
        return self.hold_until is not None and self.now < self.hold_until


def is_blind(signals: list[SignalReading], triggers: list[TriggerReading]) -> bool:
    """Whether this evaluation is blind: a signal BLIND, or a rollback/hold trigger that could not be evaluated.

    The runner counts consecutive blind evaluations with it (StageContext.consecutive_blind).
    Dry-run items and warn triggers do not count.
    """
    return bool(_blind_signals(signals) or _blind_triggers(triggers))


def _blind_signals(signals: list[SignalReading]) -> list[SignalReading]:
    return [s for s in signals if not s.dry_run and s.state == SignalState.BLIND]


def _blind_triggers(triggers: list[TriggerReading]) -> list[TriggerReading]:
    return [t for t in triggers if not t.dry_run and t.error is not None and t.action != "warn"]


# ---------------------------------------------------------------- reasons


def _ago(stage: StageContext, at: float | None) -> str:
    if at is None:
        return "no good sample yet"
    return f"last good sample {format_duration(max(0.0, stage.now - at))} ago"


def signal_reason(reading: SignalReading, stage: StageContext, verdict: str | None = None) -> Reason:
    """A reason naming the signal, its rendered query, window, value and limit."""
    state = reading.state
    source = {SignalState.BLIND: "blind", SignalState.INSUFFICIENT: "insufficient"}.get(state, "signal")
    text = verdict or {
        SignalState.PASS: "within its limit",
        SignalState.WARN: "bad trend",
        SignalState.BREACHING: "over its limit, not yet for its `for`",
        SignalState.FAIL: "over its limit for its `for`",
        SignalState.INSUFFICIENT: "too little traffic to judge",
        SignalState.BLIND: "BLIND",
    }[state]
    detail = reading.reason
    if state == SignalState.BLIND:
        detail = f"{detail}; {_ago(stage, reading.last_good_at)}" if detail else _ago(stage, reading.last_good_at)
    message = f"{reading.name} {state.value}: {text}" + (f" ({detail})" if detail else "")
    if reading.dry_run:
        message = f"dry-run, not acted on: {message}"
    return Reason(
        source=source,
        name=reading.name,
        message=message,
        query=reading.query,
        window=reading.window,
        value=reading.value,
        limit=reading.limit,
        dry_run=reading.dry_run,
    )


def trigger_reason(reading: TriggerReading, verdict: str | None = None) -> Reason:
    """A reason naming the trigger (or alert), its expression and value."""
    if reading.error is not None:
        source = "blind"
        text = verdict or f"cannot be evaluated: {reading.error}"
    else:
        source = "alert" if reading.name.startswith(ALERT_PREFIX) else "trigger"
        if verdict:
            text = verdict
        elif reading.active:
            text = f"active ({'auto ' if reading.auto else ''}{reading.action})"
        elif reading.firing:
            text = f"firing, not yet for its `for` ({reading.action})"
        elif reading.waiting:
            text = reading.waiting
        elif reading.follows:
            text = f"judged by the signal {reading.follows} from its counts (sequential rule)"
        else:
            text = "quiet"
    message = f"{reading.name}: {text}"
    if reading.value is not None:
        message += f" (value {reading.value:g})"
    if reading.dry_run:
        message = f"dry-run, not acted on: {message}"
    return Reason(source=source, name=reading.name, message=message, query=reading.expr, value=reading.value, dry_run=reading.dry_run)


def _stage_reason(message: str) -> Reason:
    return Reason(source="stage", name="stage", message=message)


def _informational(signals: list[SignalReading], triggers: list[TriggerReading], stage: StageContext) -> list[Reason]:
    """Reported, never acted on: dry-run items that would have acted, and warn triggers."""
    notes = [signal_reason(s, stage) for s in signals if s.dry_run and s.state != SignalState.PASS]
    for t in triggers:
        if t.dry_run and (t.firing or t.error is not None):
            notes.append(trigger_reason(t))
        elif not t.dry_run and t.action == "warn" and (t.firing or t.error is not None):
            notes.append(trigger_reason(t, verdict=f"warning only{': ' + t.error if t.error else ''}"))
    return notes


# ---------------------------------------------------------------- the matrix


def decide(signals: list[SignalReading], triggers: list[TriggerReading], stage: StageContext) -> Decision:
    """The decision for one evaluation, with every reason behind it (see the module docstring)."""
    acting = [s for s in signals if not s.dry_run]
    live = [t for t in triggers if not t.dry_run]
    notes = _informational(signals, triggers, stage)

    def decision(action: Action, reasons: list[Reason]) -> Decision:
        return Decision(action, stage.now, reasons + notes)

    auto = [t for t in live if t.error is None and t.active and t.auto and t.action == "rollback"]
    if auto:
        return decision(Action.IMMEDIATE_ROLLBACK, [trigger_reason(t) for t in auto])

    failed = [s for s in acting if s.state == SignalState.FAIL]
    rollback = [t for t in live if t.error is None and t.active and t.action == "rollback"]
    if failed or rollback:
        return decision(Action.ROLLBACK, [signal_reason(s, stage) for s in failed] + [trigger_reason(t) for t in rollback])

    blind = [signal_reason(s, stage) for s in _blind_signals(signals)] + [trigger_reason(t) for t in _blind_triggers(triggers)]
    blind_long = stage.blind_since is not None and stage.now - stage.blind_since >= stage.blind_for
    if blind and (stage.consecutive_blind >= stage.blind_limit or blind_long):
        action = Action.ROLLBACK if stage.blind_action == "rollback" else Action.HOLD
        verdict = "rolling back" if action == Action.ROLLBACK else "holding for the IC"
        if stage.consecutive_blind >= stage.blind_limit:
            how_long = f"blind for {stage.consecutive_blind} evaluations in a row (limit {stage.blind_limit})"
        else:
            # A slow backend stretches every evaluation: the time blind bounds the exposure, not their count.
            assert stage.blind_since is not None
            how_long = (f"blind for {format_duration(stage.now - stage.blind_since, 'measured')} "
                        f"({stage.consecutive_blind} evaluations; blind_for {format_duration(stage.blind_for)})")
        return decision(action, blind + [_stage_reason(f"{how_long}: {verdict}")])

    trends = [signal_reason(s, stage) for s in acting if s.state == SignalState.WARN]
    holds = [trigger_reason(t) for t in live if t.error is None and t.active and t.action == "hold"]
    breaching = [signal_reason(s, stage) for s in acting if s.state == SignalState.BREACHING]
    pending = [
        trigger_reason(t) for t in live if t.error is None and t.firing and not t.active and t.action in ("rollback", "hold")
    ]
    insufficient = [signal_reason(s, stage) for s in acting if s.state == SignalState.INSUFFICIENT]
    # A trigger not asked yet (its window would reach back before the run) is not quiet: never PROCEED on it,
    # never roll back on it either.
    insufficient += [trigger_reason(t) for t in live if t.waiting and t.action in ("rollback", "hold")]
    if not acting:
        insufficient.append(_stage_reason("no signal to judge the stage on (every signal is disabled or dry-run)"))
    serious = trends + holds + breaching + pending  # would justify a rollback once every hold is spent
    unclean = breaching + pending + blind + insufficient  # keep the stage from proceeding

    if trends or holds or (stage.stage_over and unclean):
        reasons = trends + holds + breaching + pending + blind + insufficient
        if stage.hold_in_force:
            return decision(Action.HOLD, reasons + [_stage_reason(f"holding until the hold ends ({_left(stage, stage.hold_until)})")])
        if stage.holds_used < stage.max_holds:
            return decision(
                Action.HOLD,
                reasons
                + [
                    _stage_reason(
                        f"hold {stage.holds_used + 1} of {stage.max_holds}: the stage is extended by "
                        f"{format_duration(stage.hold_extension)}"
                    )
                ],
            )
        exhausted = f"all {stage.max_holds} holds used"
        if not serious:
            return decision(Action.HOLD, reasons + [_stage_reason(f"{exhausted}; not enough data to pass: waiting for the IC")])
        if not stage.stage_over:
            return decision(
                Action.CONTINUE,
                reasons + [_stage_reason(f"{exhausted}; the limits still guard the rest of the stage ({_left(stage, stage.stage_ends_at)})")],
            )
        return decision(Action.ROLLBACK, reasons + [_stage_reason(f"{exhausted} and the stage is still not clean at its end")])

    if unclean:
        return decision(Action.CONTINUE, unclean + [_stage_reason(f"not clean yet: cannot proceed ({_left(stage, stage.stage_ends_at)})")])

    passed = [signal_reason(s, stage) for s in acting]
    if stage.stage_over:
        what = "last stage passed: promote" if stage.is_last_stage else "stage passed: proceed to the next weight"
        return decision(Action.PROCEED, passed + [_stage_reason(f"{what}; every signal within its limit, no trigger firing")])
    return decision(Action.CONTINUE, passed + [_stage_reason(f"all good so far ({_left(stage, stage.stage_ends_at)})")])


def _left(stage: StageContext, until: float | None) -> str:
    if until is None:
        return "no end set"
    return f"{format_duration(max(0.0, until - stage.now))} left"
