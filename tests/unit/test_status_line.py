"""The cockpit's words about the run (mode, phase, outcome, alarm, the status bar's line), without Pilot."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from cockpit.app.status_line import (
    Said,
    alarm,
    canary_launch_line,
    control_reply_line,
    drill_over_line,
    failure_reason,
    mode_label,
    outcome_text,
    phase_text,
    skipped_milestones,
    stale_limit,
    status_line,
    status_mode,
)
from cockpit.engine.run_of_show import Milestone, run_of_show
from cockpit.views.canary import CanaryView

T0 = 1_800_000_000.0
PLAN = [{"weight": w, "hold": h} for w, h in ((1, 900), (5, 900), (25, 900), (50, 900), (100, 1800))]
MILESTONES = ["Stage 1 (1%)", "Stage 2 (5%)", "Stage 3 (25%)", "Stage 4 (50%)", "Stage 5 (100%)",
              "First-night monitoring"]


def view_of(*events: dict[str, Any]) -> CanaryView:
    view = CanaryView()
    view.apply_all(list(events))
    return view


def started(stage: int = 2, weight: float = 5) -> list[dict[str, Any]]:
    return [
        {"ts": T0, "event": "run_started", "version": "v1.4.0", "plan": PLAN, "pid": 4242, "drill": False},
        {"ts": T0 + 900, "event": "stage_started", "stage": stage, "weight": weight, "hold": 900, "ends_at": T0 + 1800},
    ]


def rollback_started(ts: float = T0 + 1000) -> dict[str, Any]:
    return {"ts": ts, "event": "rollback_started", "stage": 2, "weight": 5, "decided_at": ts,
            "reasons": [{"source": "operator", "name": "AB", "message": "manual rollback by AB"}]}


def rollback_done(ok: bool, ts: float = T0 + 1003) -> dict[str, Any]:
    return {"ts": ts, "event": "rollback_done", "stage": 2, "weight": 5, "decided_at": T0 + 1000, "ok": ok,
            "attempts": 1 if ok else 3, "error": None if ok else "kubectl: connection refused"}


def line(view: CanaryView, **given: Any) -> Any:
    options: dict[str, Any] = {"mode": "live", "read_only": False, "version": "v1.4.0", "now": T0 + 1200,
                               "said": None, "chain_error": None, "stale_after": 37.5}
    return status_line(view, **{**options, **given})


def test_the_module_does_not_import_textual() -> None:
    code = "import sys, cockpit.app.status_line; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_mode_word_drill_first_then_read_only_then_live_or_idle() -> None:
    assert status_mode("drill", False, True) == "DRILL"
    assert status_mode("attach", True, True) == "READ-ONLY"
    assert status_mode("live", False, True) == "LIVE"
    assert status_mode("live", False, False) == "IDLE"
    label = mode_label("live", False, view_of(*started()), None)
    assert label.plain == " LIVE  v1.4.0" and label.style == "bold reverse"
    assert mode_label("watch", True, CanaryView(), None).plain == " READ-ONLY  no version"
    assert mode_label("live", False, CanaryView(), "v2").plain == " IDLE  v2"


def test_phase_before_t0_is_the_run_of_show_else_the_checklists() -> None:
    assert phase_text(CanaryView(), None) == "before T-0: walk the checklists (2-5)"
    show = run_of_show([Milestone("Preflight", -3600, "pre"), Milestone("T-0", 0, "t0")], T0, T0 - 1800)
    assert phase_text(CanaryView(), show) == "Preflight"


def test_phase_while_the_canary_runs_holds_and_rolls_back() -> None:
    assert phase_text(view_of(started()[0]), None) == "canary starting"
    assert phase_text(view_of(*started()), None) == "Stage 2 (5%) · running"
    hold = {"ts": T0 + 1000, "event": "hold", "stage": 2, "weight": 5, "until": T0 + 2700, "holds_used": 1,
            "reasons": []}
    assert phase_text(view_of(*started(), hold), None) == "Stage 2 (5%) · HOLD"
    assert phase_text(view_of(*started(), rollback_started()), None) == "ROLLING BACK at stage 2 (5%)"
    assert phase_text(view_of(*started(), rollback_started(), rollback_done(True)), None) == (
        "ROLLED BACK at stage 2 (5%): the canary is finishing")
    assert phase_text(view_of(*started(), rollback_started(), rollback_done(False)), None) == (
        "ROLLBACK FAILED at stage 2 (5%)")


def test_a_run_started_without_go_says_so_while_it_runs_and_in_its_log() -> None:
    override = {"ts": T0 + 1, "event": "go_override", "version": "v1.4.0", "reason": "hotfix", "by": "AB",
                "user": "ic", "missing": ["preflight not run"]}
    view = view_of(started()[0], override, *started()[1:])
    assert phase_text(view, None) == "Stage 2 (5%) · running · WITHOUT GO"
    assert any(line.text == "STARTED WITHOUT GO (AB: hotfix)" and line.kind == "alarm" for line in view.log)
    assert phase_text(view_of(*started()), None) == "Stage 2 (5%) · running"


def test_phase_once_the_canary_is_done() -> None:
    done = {"ts": T0 + 1010, "event": "canary_done", "result": "rolled_back", "stage": 2, "weight": 5}
    assert phase_text(view_of(*started(), rollback_started(), rollback_done(True), done), None) == "ROLLED BACK"
    promoted = {**done, "result": "promoted", "stage": 5, "weight": 100}
    assert phase_text(view_of(*started(), promoted), None) == "PROMOTED to 100%"
    aborted = {**done, "result": "aborted"}
    assert phase_text(view_of(*started(), aborted), None) == "ABORTED"
    night = {"ts": T0 + 1020, "event": "first_night_started", "version": "v1.4.0", "hours": 24, "hour_length": 3600,
             "evaluate_every": 60, "stage": 5, "weight": 100, "resumed": False, "closed_hours": []}
    assert phase_text(view_of(*started(), promoted, night), None) == "first night: 0/24 hours closed"


def test_outcome_replaces_the_next_milestone_once_the_canary_cannot_go_on() -> None:
    assert outcome_text(view_of(*started())) is None
    assert outcome_text(view_of(*started(), rollback_started())).startswith("rolling back: traffic returns")
    assert outcome_text(view_of(*started(), rollback_started(), rollback_done(True))) == (
        "canary rolled back: no further stages")
    assert outcome_text(view_of(*started(), rollback_started(), rollback_done(False))) == (
        "ROLLBACK FAILED: move the traffic by hand · b: the runbook")


def test_a_rollback_skips_the_later_stages_and_the_first_night() -> None:
    assert skipped_milestones(view_of(*started()), MILESTONES, 5) == frozenset()
    rolled = view_of(*started(), rollback_started())
    assert skipped_milestones(rolled, MILESTONES, 5) == frozenset(MILESTONES[2:])


def test_alarm_on_rollback_and_on_a_live_rollback_decision_only() -> None:
    assert not alarm(view_of(*started()))
    assert alarm(view_of(*started(), rollback_started()))
    assert not alarm(view_of(*started(), rollback_started(), rollback_done(True)))
    assert alarm(view_of(*started(), rollback_started(), rollback_done(False)))
    decision = {"ts": T0 + 1000, "event": "decision", "stage": 2, "weight": 5, "action": "rollback", "reasons": []}
    assert alarm(view_of(*started(), decision))
    done = {"ts": T0 + 1010, "event": "canary_done", "result": "aborted", "stage": 2, "weight": 5}
    assert not alarm(view_of(*started(), decision, done))  # not live any more: the decision is history


def test_status_line_a_broken_chain_outranks_everything() -> None:
    said = Said("ticked: On-call staffed by AB", False, T0 + 1195)
    shown = line(view_of(*started()), said=said, chain_error="line 7: hash mismatch")
    assert shown.info.startswith("JOURNAL CHAIN BROKEN (line 7: hash mismatch)") and shown.alert


def test_status_line_a_word_stays_20s_an_alert_120s() -> None:
    view = view_of(*started())
    assert line(view, said=Said("ticked", False, T0 + 1181)).info == "ticked  ·  1-5 panes"
    assert line(view, said=Said("ticked", False, T0 + 1180)).info.startswith("journal ")
    shown = line(view, said=Said("tick NOT recorded", True, T0 + 1081))
    assert shown.info == "tick NOT recorded  ·  1-5 panes" and shown.alert


def test_status_line_journal_age_and_a_quiet_process() -> None:
    view = view_of(*started())  # the last event at T0 + 900
    fresh = line(view, now=T0 + 930)
    assert fresh.info == "journal 30s ago  ·  1-5 panes" and not fresh.alert
    quiet = line(view, now=T0 + 1200)
    assert quiet.info == "journal 5m ago — the canary process is quiet  ·  1-5 panes" and quiet.alert


def test_status_line_without_a_journal_or_a_version() -> None:
    assert line(CanaryView()).info == "no canary journal yet  ·  1-5 panes"
    assert line(CanaryView(), version=None).info == "no release version: checks cannot run  ·  1-5 panes"
    watch = line(CanaryView(), mode="watch", read_only=True)
    assert watch.info == "no canary journal yet" and watch.mode == "READ-ONLY" and not watch.rollback_key


def test_status_line_mode_clock_and_rollback_key() -> None:
    shown = line(view_of(*started()), now=T0 + 930)
    assert (shown.mode, shown.clock, shown.rollback_key) == ("LIVE", "08:15:30Z", True)


def test_stale_limit_follows_the_night_once_it_runs() -> None:
    assert stale_limit(view_of(*started()), 37.5) == 37.5
    night = {"ts": T0 + 1020, "event": "first_night_started", "version": "v1.4.0", "hours": 24, "hour_length": 3600,
             "evaluate_every": 60, "stage": 5, "weight": 100, "resumed": False, "closed_hours": []}
    assert stale_limit(view_of(*started(), night), 37.5) == 150.0


def test_what_the_background_work_says() -> None:
    assert failure_reason(OSError("disk full")) == "OSError: disk full"
    assert failure_reason(None) == "unknown error"
    assert control_reply_line("rollback", {"ok": True, "message": "rolling back"}) == (
        "rollback accepted by the canary: rolling back", False)
    assert control_reply_line("hold", {"ok": True}) == ("hold accepted by the canary", False)
    assert control_reply_line("promote", {"ok": False, "error": "not holding"}) == (
        "promote REFUSED by the canary: not holding", True)
    assert control_reply_line("resume", {"ok": False}) == ("resume REFUSED by the canary: no reason given", True)
    assert canary_launch_line(0, "pid 77\nsocket x\n", "") == ("canary started: pid 77", False)
    assert canary_launch_line(0, "", "") == ("canary started: detached", False)
    assert canary_launch_line(2, "", "cockpit: no [prometheus]\n") == (
        "canary did NOT start (exit 2): cockpit: no [prometheus]", True)
    assert canary_launch_line(1, "", "") == ("canary did NOT start (exit 1): no output", True)
    assert drill_over_line("rolled_back", "ev/v0") == "DRILL over: ROLLED BACK — evidence in ev/v0"
