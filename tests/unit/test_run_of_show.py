"""The run-of-show timeline: defaults, configured milestones, done/now/next and the T± clock."""

from __future__ import annotations

import pytest

from cockpit.config import CockpitConfig
from cockpit.engine.run_of_show import (
    Milestone,
    default_milestones,
    milestones_for,
    parse_t0,
    run_of_show,
)
from cockpit.format import format_countdown, format_offset, format_remaining

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_defaults_follow_the_design():
    ms = default_milestones(CockpitConfig().canary.stages)
    assert [(m.name, format_offset(m.offset)) for m in ms] == [
        ("Freeze start", "T-30m"), ("War room open", "T-20m"), ("Preflight", "T-10m"),
        ("Blast-radius test", "T-9m"), ("Red team", "T-5m"), ("Green-button ritual", "T-2m"),
        ("Stage 1 (1%)", "T-0"), ("Stage 2 (5%)", "T+15m"), ("Stage 3 (25%)", "T+30m"),
        ("Stage 4 (50%)", "T+45m"), ("Stage 5 (100%)", "T+1h"), ("First-night monitoring", "T+1h30m"),
        ("Release note, mini RCA, freeze lift", "T+24h"),
    ]


def test_stage_times_follow_the_configured_plan():
    config = CockpitConfig.model_validate({"canary": {"stages": [{"weight": 10, "hold": "5m"}, {"weight": 100, "hold": "10m"}]}})
    names = [(m.name, m.offset) for m in milestones_for(config) if m.offset >= 0]
    assert names == [("Stage 1 (10%)", 0), ("Stage 2 (100%)", 300), ("First-night monitoring", 900),
                     ("Release note, mini RCA, freeze lift", 86400)]


def test_configured_milestones_replace_the_defaults():
    config = CockpitConfig.model_validate({"run_of_show": {"milestones": [
        {"name": "Go", "at": "0"}, {"name": "Freeze", "at": "-1h"}, {"name": "Lift", "at": "+2d"}]}})
    assert [(m.name, m.offset) for m in milestones_for(config)] == [("Freeze", -3600), ("Go", 0), ("Lift", 172800)]


def test_marks_done_now_next_later():
    ms = default_milestones()
    show = run_of_show(ms, T0, T0 - 400)  # between preflight-ish: T-6m40s
    marks = {m.milestone.name: m.mark for m in show.marks}
    assert marks["Freeze start"] == "done" and marks["Blast-radius test"] == "now"
    assert marks["Red team"] == "next" and marks["Stage 1 (1%)"] == "later"
    assert show.current.name == "Blast-radius test" and show.next.name == "Red team"
    assert show.until_next == 100 and show.elapsed == -400


def test_before_the_first_and_after_the_last_milestone():
    ms = [Milestone("A", -60), Milestone("B", 0)]
    before = run_of_show(ms, T0, T0 - 3600)
    assert [m.mark for m in before.marks] == ["next", "later"] and before.current is None
    after = run_of_show(ms, T0, T0 + 10)
    assert [m.mark for m in after.marks] == ["done", "now"] and after.next is None and after.until_next is None


def test_a_milestone_is_now_from_its_very_second():
    show = run_of_show(default_milestones(), T0, T0)
    assert show.current.name == "Stage 1 (1%)" and show.next.name == "Stage 2 (5%)"


def test_countdown_and_remaining_text():
    assert format_countdown(-582.3) == "T-09:43"
    assert format_countdown(-0.2) == "T-00:01"
    assert format_countdown(0) == "T+00:00"
    assert format_countdown(903) == "T+15:03"
    assert format_countdown(86400 + 61) == "T+24:01:01"
    assert format_remaining(581.2) == "9:42" and format_remaining(3723) == "1:02:03" and format_remaining(-5) == "0:00"


def test_parse_t0():
    assert parse_t0("+30m", T0) == T0 + 1800
    assert parse_t0("09:30", T0) == T0 + 5400
    assert parse_t0("2027-01-15T08:10:00Z", T0) == T0 + 600
    for bad in ("soon", "25:00", "+5 minutes"):
        with pytest.raises(ValueError):
            parse_t0(bad, T0)


# ---------------------------------------------------------------- milestones with work: done / late / due


def _states(show):
    return {m.milestone.name: m.state for m in show.marks}


def test_a_milestone_is_done_when_its_evidence_exists_late_when_its_slot_passed_without_it():
    ms = default_milestones()
    # T-4m: preflight (T-10..T-9) and the blast radius (T-9..T-5) slots are over; red team (T-5..T-2) is on.
    show = run_of_show(ms, T0, T0 - 240, frozenset({"preflight"}))
    states = _states(show)
    assert states["Preflight"] == "done" and states["Blast-radius test"] == "late"
    assert states["Red team"] == "due" and states["Green-button ritual"] == "due"
    # Milestones with no work attached keep the clock's marks only: never done by a verdict.
    assert states["Freeze start"] == "" and states["War room open"] == "" and states["Stage 1 (1%)"] == ""
    assert {m.milestone.name: m.mark for m in show.marks}["Freeze start"] == "done"  # the clock's word


def test_work_done_early_is_done_before_its_time():
    show = run_of_show(default_milestones(), T0, T0 - 1800, frozenset({"preflight", "seal"}))
    states = _states(show)
    assert states["Preflight"] == "done" and states["Green-button ritual"] == "done" and states["Red team"] == "due"


def test_the_evidence_names_each_work():
    from cockpit.engine.run_of_show import evidence_names

    assert evidence_names("v1.4.0") == {"preflight": "preflight.txt", "blast": "micro_blast_v1.4.0.log",
                                        "redteam": "redteam_v1.4.0.txt", "seal": "green_button_v1.4.0.txt"}


def test_the_timeline_says_done_and_late_in_symbols_past_milestones_without_work_keep_the_dot():
    from cockpit.widgets.run_of_show import timeline_text

    show = run_of_show(default_milestones(), T0, T0 - 240, frozenset({"preflight"}))
    text = timeline_text(show, 200).plain
    assert "✔pre" in text and "!blast" in text and "▶red" in text
    assert "·freeze" in text and "·room" in text and "✔freeze" not in text
