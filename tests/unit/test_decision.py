"""The decision matrix, row by row: decide() is a pure function of readings and the stage."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cockpit.config import CanaryConfig
from cockpit.engine.decision import StageContext, decide, is_blind
from cockpit.engine.model import Action, SignalReading, SignalState, TriggerReading

T0 = 1_800_000_000.0
END = T0 + 900


def sig(
    name: str = "p95_latency", state: SignalState = SignalState.PASS, value: float | None = 0.12, **kw: Any
) -> SignalReading:
    fields: dict[str, Any] = {
        "limit": 0.2,
        "query": f'{name}_query{{track="canary"}}[1m]',
        "at": T0,
        "window": 60.0,
        "unit": "s",
        "reason": f"{name} reason text",
    }
    fields.update(kw)
    return SignalReading(name=name, state=state, value=value, **fields)


def trig(name: str = "t", *, firing: bool = True, active: bool = True, action: str = "rollback", **kw: Any) -> TriggerReading:
    fields: dict[str, Any] = {"auto": False, "expr": f"{name}_expr > 1", "at": T0, "value": 2.0}
    fields.update(kw)
    return TriggerReading(name=name, firing=firing, active=active, action=action, **fields)


def stage(now: float = T0 + 300, **kw: Any) -> StageContext:
    fields: dict[str, Any] = {
        "now": now,
        "stage_started_at": T0,
        "stage_ends_at": END,
        "holds_used": 0,
        "max_holds": 2,
        "hold_extension": 900.0,
        "consecutive_blind": 0,
        "blind_limit": 4,
        "blind_action": "rollback",
        "is_last_stage": False,
    }
    fields.update(kw)
    return StageContext(**fields)


def good() -> list[SignalReading]:
    return [sig("p95_latency"), sig("error_rate", value=0.002, limit=0.01, unit="ratio")]


def names(decision: Any, source: str | None = None) -> list[str]:
    return [r.name for r in decision.reasons if source is None or r.source == source]


# ---------------------------------------------------------------- auto-trigger


def test_active_auto_trigger_is_an_immediate_rollback() -> None:
    d = decide(good(), [trig("latency_cpu_backpressure", auto=True)], stage())
    assert d.action == Action.IMMEDIATE_ROLLBACK
    first = d.reasons[0]
    assert (first.source, first.name, first.query, first.value) == (
        "trigger",
        "latency_cpu_backpressure",
        "latency_cpu_backpressure_expr > 1",
        2.0,
    )
    assert "auto rollback" in first.message


def test_auto_trigger_wins_even_when_everything_else_is_blind() -> None:
    blind = [sig(state=SignalState.BLIND, value=None, last_good_at=T0)]
    ctx = stage(consecutive_blind=10, blind_action="hold")
    d = decide(blind, [trig("guard", auto=True)], ctx)
    assert d.action == Action.IMMEDIATE_ROLLBACK
    assert names(d)[0] == "guard"


def test_auto_trigger_not_yet_for_its_for_does_not_roll_back() -> None:
    d = decide(good(), [trig("guard", auto=True, active=False)], stage())
    assert d.action == Action.CONTINUE
    assert "guard" in names(d, "trigger")


# ---------------------------------------------------------------- limit exceeded


def test_fail_signal_is_a_rollback_with_query_window_value_and_limit() -> None:
    failing = sig("p95_latency", SignalState.FAIL, value=0.31, reason="310ms above the limit 200ms over 1m for 2m")
    d = decide([failing, sig("error_rate", value=0.001, limit=0.01)], [], stage())
    assert d.action == Action.ROLLBACK
    reason = d.reasons[0]
    assert reason.source == "signal" and reason.name == "p95_latency"
    assert reason.query == 'p95_latency_query{track="canary"}[1m]'
    assert (reason.window, reason.value, reason.limit) == (60.0, 0.31, 0.2)
    assert "310ms above the limit 200ms" in reason.message
    assert reason.dry_run is False


def test_active_rollback_trigger_is_a_rollback() -> None:
    d = decide(good(), [trig("error_rate_breach")], stage())
    assert d.action == Action.ROLLBACK
    assert names(d, "trigger") == ["error_rate_breach"]


def test_breaching_before_its_for_continues_and_never_proceeds() -> None:
    breaching = [sig(state=SignalState.BREACHING, value=0.25), sig("error_rate", value=0.001, limit=0.01)]
    mid = decide(breaching, [], stage())
    assert mid.action == Action.CONTINUE
    assert "p95_latency" in names(mid, "signal")
    at_end = decide(breaching, [], stage(now=END))
    assert at_end.action == Action.HOLD  # at the stage's end: hold instead of proceeding
    assert any("hold 1 of 2" in r.message for r in at_end.reasons)


# ---------------------------------------------------------------- trend and holds


def test_bad_trend_holds() -> None:
    trend = sig(state=SignalState.WARN, reason="150ms within <= 200ms, but moving 10ms/min: projected 260ms")
    d = decide([trend], [], stage())
    assert d.action == Action.HOLD
    assert d.reasons[0].name == "p95_latency" and "projected 260ms" in d.reasons[0].message
    assert any(r.source == "stage" and "extended by 15m" in r.message for r in d.reasons)


def test_hold_in_force_keeps_holding_even_with_every_hold_used() -> None:
    trend = [sig(state=SignalState.WARN)]
    ctx = stage(now=END + 100, stage_ends_at=END + 900, holds_used=2, hold_until=END + 900)
    assert decide(trend, [], ctx).action == Action.HOLD


def test_max_holds_exhausted_with_a_bad_trend_rolls_back_at_the_stage_end() -> None:
    # Choice: the signal kept heading for its limit through the stage and every
    # hold; at the end an open-ended canary is the bigger risk -> ROLLBACK.
    trend = [sig(state=SignalState.WARN)]
    ctx = stage(now=END, holds_used=2, max_holds=2)
    d = decide(trend, [], ctx)
    assert d.action == Action.ROLLBACK
    assert any("all 2 holds used" in r.message for r in d.reasons)


def test_max_holds_exhausted_before_the_stage_end_lets_the_limits_guard() -> None:
    d = decide([sig(state=SignalState.WARN)], [], stage(holds_used=2, max_holds=2))
    assert d.action == Action.CONTINUE
    assert d.action != Action.PROCEED


def test_no_holds_allowed_and_breaching_at_the_end_rolls_back() -> None:
    d = decide([sig(state=SignalState.BREACHING)], [], stage(now=END, max_holds=0))
    assert d.action == Action.ROLLBACK


def test_hold_trigger_holds() -> None:
    d = decide(good(), [trig("gc_pause_hold", action="hold")], stage())
    assert d.action == Action.HOLD
    assert names(d, "trigger") == ["gc_pause_hold"]


def test_warn_trigger_changes_nothing_but_is_reported() -> None:
    warn = trig("dead_tuples_bloat", action="warn", value=2_000_000.0)
    mid = decide(good(), [warn], stage())
    end = decide(good(), [warn], stage(now=END))
    assert mid.action == Action.CONTINUE
    assert end.action == Action.PROCEED
    for d in (mid, end):
        reason = next(r for r in d.reasons if r.name == "dead_tuples_bloat")
        assert "warning only" in reason.message and reason.value == 2_000_000.0


def test_firing_rollback_trigger_not_yet_active_blocks_proceed() -> None:
    d = decide(good(), [trig("p95_latency_breach", active=False)], stage(now=END))
    assert d.action == Action.HOLD


# ---------------------------------------------------------------- INSUFFICIENT


def test_insufficient_never_proceeds_and_never_rolls_back() -> None:
    low = [sig(state=SignalState.INSUFFICIENT, reason="12 requests in 15m (need 50)"), sig("error_rate", value=0.0, limit=0.01)]
    assert decide(low, [], stage()).action == Action.CONTINUE
    at_end = decide(low, [], stage(now=END))
    assert at_end.action == Action.HOLD
    assert at_end.reasons[0].source == "insufficient" and "12 requests" in at_end.reasons[0].message
    exhausted = decide(low, [], stage(now=END, holds_used=2))
    assert exhausted.action == Action.HOLD  # silence: neither pass nor rollback, the IC decides
    assert any("waiting for the IC" in r.message for r in exhausted.reasons)


def test_no_signal_at_all_never_proceeds() -> None:
    d = decide([], [], stage(now=END))
    assert d.action == Action.HOLD
    assert any("no signal to judge" in r.message for r in d.reasons)


# ---------------------------------------------------------------- BLIND


def test_blind_never_proceeds_and_shows_the_age_of_the_last_good_sample() -> None:
    blind = [sig(state=SignalState.BLIND, value=None, reason="cannot connect to Prometheus", last_good_at=T0 + 200)]
    ctx = stage(now=T0 + 300, consecutive_blind=1)
    mid = decide(blind, [], ctx)
    assert mid.action == Action.CONTINUE
    reason = mid.reasons[0]
    assert reason.source == "blind" and "cannot connect to Prometheus" in reason.message
    assert "last good sample 1m40s ago" in reason.message
    assert decide(blind, [], stage(now=END, consecutive_blind=1)).action == Action.HOLD


@pytest.mark.parametrize(("blind_action", "expected"), [("rollback", Action.ROLLBACK), ("hold", Action.HOLD)])
def test_blind_for_the_blind_limit_applies_the_blind_action(blind_action: str, expected: Action) -> None:
    blind = [sig(state=SignalState.BLIND, value=None, last_good_at=None)]
    below = decide(blind, [], stage(consecutive_blind=3, blind_limit=4, blind_action=blind_action))
    assert below.action == Action.CONTINUE
    at_limit = decide(blind, [], stage(consecutive_blind=4, blind_limit=4, blind_action=blind_action))
    assert at_limit.action == expected
    assert any("blind for 4 evaluations in a row" in r.message for r in at_limit.reasons)
    assert "no good sample yet" in at_limit.reasons[0].message


def test_blind_for_blind_for_applies_the_blind_action_however_few_the_evaluations() -> None:
    # A backend answering after the timeout stretches each evaluation: two of them can span a minute.
    blind = [sig(state=SignalState.BLIND, value=None, last_good_at=None)]
    since = T0 + 300 - 59.5
    early = decide(blind, [], stage(consecutive_blind=2, blind_since=since, blind_for=60.0))
    assert early.action == Action.CONTINUE
    late = decide(blind, [], stage(now=T0 + 301, consecutive_blind=3, blind_since=since, blind_for=60.0))
    assert late.action == Action.ROLLBACK
    assert any("blind for 1m (3 evaluations; blind_for 1m): rolling back" in r.message for r in late.reasons), late.reasons
    seen = decide(good(), [], stage(now=T0 + 301, consecutive_blind=0, blind_since=None, blind_for=60.0))
    assert seen.action == Action.CONTINUE


def test_the_blind_streak_starts_at_its_first_blind_evaluation_and_survives_a_resume() -> None:
    from cockpit.run.state import RunState

    state = RunState()
    assert state.blind_streak(True, 100.0) == (1, 100.0)
    state.apply({"event": "sample", "ts": 100.0, "stage": 1, "consecutive_blind": 1, "blind_since": 100.0})
    assert state.blind_streak(True, 121.0) == (2, 100.0)
    assert state.blind_streak(False, 121.0) == (0, None)
    state.apply({"event": "sample", "ts": 121.0, "stage": 1, "consecutive_blind": 0})
    assert state.blind_since is None and state.blind_streak(True, 130.0) == (1, 130.0)


def test_a_trigger_that_cannot_be_evaluated_is_blind_unless_it_only_warns() -> None:
    broken = trig("pgbouncer_saturation", firing=False, active=False, error="Prometheus refused the query")
    d = decide(good(), [broken], stage(now=END))
    assert d.action == Action.HOLD
    assert d.reasons[0].source == "blind" and "Prometheus refused the query" in d.reasons[0].message
    assert is_blind(good(), [broken])
    quiet_warn = trig("dead_tuples_bloat", firing=False, active=False, action="warn", error="timeout")
    assert not is_blind(good(), [quiet_warn])
    assert decide(good(), [quiet_warn], stage(now=END)).action == Action.PROCEED


def test_fail_still_rolls_back_while_another_signal_is_blind() -> None:
    readings = [sig(state=SignalState.FAIL, value=0.4), sig("gc_pause", SignalState.BLIND, value=None)]
    assert decide(readings, [], stage()).action == Action.ROLLBACK


# ---------------------------------------------------------------- dry-run


def test_dry_run_signal_and_trigger_never_act_but_are_reported() -> None:
    readings = good() + [sig("gc_pause", SignalState.FAIL, value=0.05, limit=0.02, dry_run=True)]
    triggers = [trig("latency_cpu_backpressure", auto=True, dry_run=True), trig("gc_pause_hold", action="hold", dry_run=True)]
    d = decide(readings, triggers, stage(now=END))
    assert d.action == Action.PROCEED
    flagged = {r.name: r for r in d.reasons if r.dry_run}
    assert set(flagged) == {"gc_pause", "latency_cpu_backpressure", "gc_pause_hold"}
    assert all(r.message.startswith("dry-run, not acted on") for r in flagged.values())
    assert flagged["gc_pause"].value == 0.05 and flagged["gc_pause"].limit == 0.02
    assert not is_blind([sig("x", SignalState.BLIND, value=None, dry_run=True)], [])


# ---------------------------------------------------------------- all good


def test_all_good_at_the_stage_end_proceeds() -> None:
    d = decide(good(), [trig("quiet", firing=False, active=False)], stage(now=END))
    assert d.action == Action.PROCEED
    assert names(d, "signal") == ["p95_latency", "error_rate"]
    assert any("proceed to the next weight" in r.message for r in d.reasons)


def test_all_good_at_the_end_of_the_last_stage_says_promote() -> None:
    d = decide(good(), [], stage(now=END + 5, is_last_stage=True))
    assert d.action == Action.PROCEED
    assert any("promote" in r.message for r in d.reasons)


def test_all_good_before_the_stage_end_continues() -> None:
    d = decide(good(), [], stage(now=END - 1))
    assert d.action == Action.CONTINUE
    assert any("all good so far" in r.message and "1s left" in r.message for r in d.reasons)


def test_decide_is_pure() -> None:
    readings = good() + [sig("gc_pause", SignalState.WARN)]
    triggers = [trig("x", action="warn")]
    ctx = stage()
    before = copy.deepcopy((readings, triggers, ctx))
    first = decide(readings, triggers, ctx)
    second = decide(readings, triggers, ctx)
    assert first == second
    assert (readings, triggers, ctx) == before
    assert first.at == ctx.now


def test_stage_context_from_canary_takes_the_configured_limits() -> None:
    canary = CanaryConfig(max_holds=1, hold_extension="10m", blind_limit=2, blind_action="hold")
    ctx = StageContext.from_canary(canary, now=T0, stage_started_at=T0, stage_ends_at=END)
    assert (ctx.max_holds, ctx.hold_extension, ctx.blind_limit, ctx.blind_action) == (1, 600.0, 2, "hold")
    assert ctx.holds_used == 0 and ctx.hold_until is None
