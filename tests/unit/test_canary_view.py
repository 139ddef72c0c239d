"""CanaryView: journal events in, what the war-room screen shows out."""

from __future__ import annotations

import math

from cockpit.views.canary import (
    CanaryView,
    SignalView,
    signal_status,
)

T0 = 1_800_000_000.0
PLAN = [{"weight": w, "hold": h} for w, h in ((1, 900), (5, 900), (25, 900), (50, 900), (100, 1800))]


def sig(value, state="PASS", limit=0.2, unit="s", **extra):
    return {"value": value, "state": state, "limit": limit, "unit": unit, "window": 60, "reason": "", "dry_run": False, **extra}


def run_events() -> list[dict]:
    return [
        {"ts": T0, "event": "run_started", "version": "v1.4.0", "plan": PLAN, "pid": 4242, "drill": False},
        {"ts": T0, "event": "stage_started", "stage": 1, "weight": 1, "hold": 900, "ends_at": T0 + 900},
        {"ts": T0 + 1, "event": "traffic_shifted", "stage": 1, "weight": 1, "ok": True, "attempts": 1, "duration_s": 0.4, "error": None},
        {"ts": T0 + 15, "event": "sample", "stage": 1, "weight": 1,
         "signals": {"p95": sig(0.142), "err5xx": sig(0.002, limit=0.01, unit="ratio")},
         "triggers": {"high_5xx": {"firing": False, "active": False, "action": "rollback", "auto": True, "value": None, "error": None, "dry_run": False}}},
        {"ts": T0 + 15, "event": "decision", "stage": 1, "weight": 1, "action": "continue", "reasons": []},
    ]


def test_run_and_stage_state():
    view = CanaryView()
    view.apply_all(run_events())
    assert view.version == "v1.4.0" and view.pid == 4242 and not view.drill
    assert view.started_at == T0 and view.live and view.phase == "running"
    assert (view.stage, view.weight, view.ends_at) == (1, 1.0, T0 + 900)
    assert view.time_left(T0 + 300) == 600
    assert view.stage_weights() == [1, 5, 25, 50, 100]
    assert view.decision.action == "continue" and view.decision.verdict[1] == "CONTINUE"
    assert view.events == 5 and view.ignored == 0


def test_signal_history_is_bounded_and_counts_samples():
    view = CanaryView(history=3)
    view.apply_all(run_events()[:2])
    for i in range(5):
        view.apply({"ts": T0 + 20 + i, "event": "sample", "signals": {"p95": sig(0.1 + i / 100)}, "triggers": {}})
    p95 = view.signals["p95"]
    assert len(p95.history) == 3 and p95.samples == 5
    assert [round(v, 2) for v in p95.sparkline_data()] == [0.12, 0.13, 0.14]
    assert p95.last_good_at == T0 + 24


def test_blind_sample_keeps_last_good_and_reads_stale_then_unknown():
    view = CanaryView()
    view.apply_all(run_events())
    view.apply({"ts": T0 + 30, "event": "sample", "signals": {"p95": sig(None, state="BLIND", reason="no data")}, "triggers": {}})
    p95 = view.signals["p95"]
    assert p95.value is None and p95.last_good_at == T0 + 15 and p95.last_good_value == 0.142
    assert p95.sparkline_data() == [0.142]  # the gap is not drawn as a value
    mark = signal_status(p95, now=T0 + 57, stale_after=40)
    assert mark.word == "STALE" and mark.text == "◷ STALE 42s" and mark.css_class == "status-stale"
    never = SignalView("gc", state="BLIND", at=T0, reason="NaN")
    assert signal_status(never, T0 + 1, 40).text == "? UNKNOWN"


def test_status_words_never_turn_missing_data_into_pass():
    now = T0 + 10
    assert signal_status(SignalView("x"), now, 40).word == "UNKNOWN"  # no sample yet
    assert signal_status(SignalView("x", value=None, state="PASS", at=now), now, 40).word == "UNKNOWN"
    assert signal_status(SignalView("x", value=1, state="INSUFFICIENT", at=now), now, 40).word == "UNKNOWN"
    assert signal_status(SignalView("x", value=1, state="NEW_STATE", at=now), now, 40).word == "UNKNOWN"
    assert signal_status(SignalView("x", value=1, state="PASS", at=now, last_good_at=now), now, 40).text == "✔ PASS"
    assert signal_status(SignalView("x", value=1, state="WARN", at=now), now, 40).text == "! WARN"
    assert signal_status(SignalView("x", value=1, state="BREACHING", at=now), now, 40).text == "▲ FAIL"
    assert signal_status(SignalView("x", value=1, state="FAIL", at=now), now, 40).text == "▲ FAIL"


def test_samples_that_stop_arriving_turn_every_signal_stale():
    view = CanaryView()
    view.apply_all(run_events())
    p95 = view.signals["p95"]
    assert signal_status(p95, T0 + 40, stale_after=40).word == "PASS"
    late = signal_status(p95, T0 + 120, stale_after=40)
    assert late.word == "STALE" and late.age == 105


def test_firing_triggers_decision_hold_and_rollback_timings():
    view = CanaryView()
    view.apply_all(run_events())
    view.apply({"ts": T0 + 60, "event": "sample", "stage": 1, "weight": 1, "signals": {"p95": sig(0.31, state="BREACHING")},
                "triggers": {"high_5xx": {"firing": True, "active": True, "action": "rollback", "auto": True, "value": 0.05, "error": None, "dry_run": False},
                             "gc": {"firing": False, "active": False, "action": "hold", "auto": False, "value": None, "error": "timeout", "dry_run": False}}})
    assert [t.name for t in view.firing_triggers()] == ["high_5xx"]
    assert view.firing_triggers()[0].describe() == "high_5xx (rollback, auto)"
    assert [t.name for t in view.blind_triggers()] == ["gc"]
    view.apply({"ts": T0 + 61, "event": "hold", "stage": 1, "weight": 1, "until": T0 + 1800, "holds_used": 1,
                "reasons": [{"source": "signal", "name": "p95", "message": "trend crosses 200ms"}]})
    assert view.phase == "holding" and view.hold_until == T0 + 1800 and view.ends_at == T0 + 1800 and view.holds_used == 1
    reasons = [{"source": "trigger", "name": "high_5xx", "message": "5xx 5.0% > 1%", "value": 0.05, "limit": 0.01}]
    view.apply({"ts": T0 + 62, "event": "decision", "stage": 1, "weight": 1, "action": "immediate_rollback", "reasons": reasons})
    assert view.decision.verdict == ("▲", "IMMEDIATE ROLLBACK", "rollback")
    view.apply({"ts": T0 + 62.1, "event": "rollback_started", "stage": 1, "weight": 1, "reasons": reasons, "decided_at": T0 + 62})
    assert view.phase == "rolling_back" and view.time_left(T0 + 70) is None
    assert view.rollback.elapsed(T0 + 63) == 1.0 and not view.rollback.done
    view.apply({"ts": T0 + 64.5, "event": "rollback_done", "stage": 1, "weight": 1, "ok": True, "attempts": 1, "decided_at": T0 + 62,
                "command_started_at": T0 + 62.2, "command_ended_at": T0 + 64.4, "decision_to_command_ms": 200.0, "error": None})
    rb = view.rollback
    assert rb.done and rb.ok and rb.elapsed(T0 + 999) == 2.5 and math.isclose(rb.command_duration(), 2.2, abs_tol=1e-6)
    assert view.phase == "rolled_back"
    view.apply({"ts": T0 + 65, "event": "canary_done", "result": "rolled_back", "stage": 1, "weight": 1})
    assert view.result == "rolled_back" and not view.live and view.phase == "rolled_back"
    text = "\n".join(line.text for line in view.log)
    assert "HOLD stage 1 (1%)" in text and "decision ▲ IMMEDIATE ROLLBACK: high_5xx: 5xx 5.0% > 1%" in text
    assert "ROLLBACK done in 2.5s, decision→command 200ms" in text and "canary done: rolled back" in text


def test_failed_rollback_stays_failed():
    view = CanaryView()
    view.apply_all(run_events())
    view.apply({"ts": T0 + 70, "event": "rollback_started", "stage": 1, "weight": 1, "reasons": [], "decided_at": T0 + 70})
    view.apply({"ts": T0 + 75, "event": "rollback_done", "ok": False, "attempts": 3, "error": "kubectl: exit 1"})
    view.apply({"ts": T0 + 76, "event": "canary_done", "result": "rolled_back"})
    assert view.phase == "rollback_failed" and view.rollback.error == "kubectl: exit 1"
    assert "ROLLBACK FAILED after 3 attempts: kubectl: exit 1" in view.log[-2].text


def test_warroom_lines_notes_operator_and_bounded_log():
    view = CanaryView(log_lines=4)
    view.apply_all(run_events())
    view.apply({"ts": T0 + 60, "event": "warroom", "line": ":01 | Stage 1 (1%) | p95=142ms | 6/6 PASS | IC: Proceed"})
    view.apply({"ts": T0 + 61, "event": "operator", "command": "note", "by": "AB", "reason": ""})
    view.apply({"ts": T0 + 61, "event": "note", "text": "db team on the bridge", "by": "AB"})
    view.apply({"ts": T0 + 62, "event": "operator", "command": "hold", "by": "AB", "reason": "wait for db"})
    assert len(view.log) == 4 and view.log_total == 6
    assert [line.kind for line in view.log][-3:] == ["warroom", "note", "operator"]
    assert view.notes[-1].text == "note (AB): db team on the bridge"
    assert view.log[-1].render() == "08:01:02 operator hold by AB: wait for db"


def test_operator_resume_ends_a_hold():
    view = CanaryView()
    view.apply_all(run_events())
    view.apply({"ts": T0 + 61, "event": "hold", "stage": 1, "until": T0 + 1800, "holds_used": 1, "reasons": []})
    view.apply({"ts": T0 + 62, "event": "operator", "command": "resume", "by": "AB", "reason": ""})
    assert view.phase == "running" and view.hold_until is None


def test_promotion_and_stage_passes():
    view = CanaryView()
    view.apply_all(run_events())
    view.apply({"ts": T0 + 900, "event": "stage_passed", "stage": 1, "weight": 1})
    view.apply({"ts": T0 + 900, "event": "stage_started", "stage": 2, "weight": 5, "hold": 900, "ends_at": T0 + 1800})
    view.apply({"ts": T0 + 1800, "event": "canary_done", "result": "promoted", "stage": 5, "weight": 100})
    assert view.stages_passed == {1} and view.stage == 2 and view.phase == "promoted" and not view.live


def test_bad_events_are_counted_not_raised():
    view = CanaryView()
    for event in ([], {"event": "sample"}, {"ts": "x", "event": "note"}, {"ts": T0, "event": "martian"},
                  {"ts": T0, "event": "sample", "signals": "nope", "triggers": [1]},
                  {"ts": T0, "event": "sample", "signals": {"p95": {"value": "NaN", "state": "PASS"}}}):
        view.apply(event)
    assert view.ignored == 4 and view.events == 2
    assert view.signals["p95"].value is None and view.signals["p95"].last_good_at is None


def test_resumed_run_keeps_t0_and_history():
    view = CanaryView()
    view.apply_all(run_events())
    view.apply({"ts": T0 + 500, "event": "run_started", "version": "v1.4.0", "plan": PLAN, "pid": 5151, "drill": False})
    assert view.started_at == T0 and view.pid == 5151 and view.signals["p95"].samples == 1
    assert "run resumed" in view.log[-1].text


def test_the_war_room_log_is_in_time_order_whatever_order_records_arrive_in():
    view = CanaryView(log_lines=3)
    for ts, line in ((10.0, "a"), (30.0, "c"), (20.0, "b"), (40.0, "d"), (5.0, "too old for a full log")):
        view.apply({"ts": ts, "event": "warroom", "line": line})
    assert [line.text for line in view.log] == ["b", "c", "d"]
    assert view.log_reordered == 1  # "b" went in among the lines already there; the widget redraws
