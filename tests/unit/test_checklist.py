"""Checklists: what is green, what may be ticked, what may be accepted (GO itself: tests/unit/test_go.py)."""

from __future__ import annotations

import pytest

from cockpit.checks.specs import FilesSpec, ManualSpec
from cockpit.checks.ticks import Tick
from cockpit.config import load_config
from cockpit.engine.checklist import Checklist, ChecklistItem, TickError, build_checklists
from cockpit.engine.go import Acceptance
from cockpit.results import CheckResult, Status


def tick(check_id: str, ticked: bool = True, note: str = "") -> Tick:
    return Tick(id=check_id, initials="AB", note=note, at="2027-01-15T08:00:00.000Z", ticked=ticked)


def result(check_id: str, status: Status) -> CheckResult:
    return CheckResult(id=check_id, title=check_id, phase="preflight", kind="files", status=status, summary="s",
                       duration_s=0.1, started_at="2027-01-15T08:00:00.000Z")


def auto(check_id: str, required: bool = True) -> FilesSpec:
    return FilesSpec(id=check_id, title=check_id.title(), phase="preflight", kind="files", required=required)


def manual(check_id: str) -> ManualSpec:
    return ManualSpec(id=check_id, title=check_id.title(), phase="gonogo", kind="manual")


def test_default_playbook_panes():
    lists = build_checklists(load_config(None))
    assert list(lists) == ["preflight", "redteam", "gonogo", "ritual"]
    assert len(lists["gonogo"].items) == 10
    computed = [i.id for i in lists["gonogo"].items if i.computed]
    assert computed == ["gonogo.preflight_green", "gonogo.redteam_reviewed", "gonogo.blast_radius", "gonogo.rollback_ready"]
    assert all(i.manual for i in lists["gonogo"].items if not i.computed)
    assert not any(i.tickable for i in lists["gonogo"].items if i.computed)  # they restate results: never ticked
    assert [i.id for i in lists["preflight"].items][-1] == "blast.micro"  # T-9 sits with the preflight


def test_only_pass_or_a_tick_is_green():
    checklist = Checklist("preflight", "Preflight", [ChecklistItem(auto("a")), ChecklistItem(auto("b")), ChecklistItem(manual("m"))])
    checklist.start("a", 1.0)
    assert checklist.item("a").word == "RUNNING" and not checklist.item("a").green
    for status, green in ((Status.PASS, True), (Status.UNKNOWN, False), (Status.FAIL, False), (Status.WARN, False), (Status.SKIPPED, False)):
        checklist.record(result("a", status))
        assert checklist.item("a").green is green, status
    assert checklist.item("m").word == "TODO"
    with pytest.raises(TickError):
        checklist.check_tick("b", "AB", "why")  # no result yet: nothing to accept
    checklist.record(result("b", Status.FAIL))
    with pytest.raises(TickError):
        checklist.check_tick("b", "AB", "why")  # a FAIL cannot be ticked away
    assert checklist.check_tick("m", "ab") == "AB"
    checklist.apply_tick(tick("m"))
    assert checklist.item("m").green and checklist.item("m").word == "TICKED"
    assert checklist.counts() == (1, 3)
    checklist.apply_tick(tick("m", ticked=False))  # an untick
    assert not checklist.item("m").green


@pytest.mark.parametrize("status", [Status.WARN, Status.UNKNOWN])
def test_a_warn_or_unknown_is_accepted_with_a_reason_shows_accepted_and_ends_with_its_result(status):
    checklist = Checklist("p", "P", [ChecklistItem(auto("a"))])
    checklist.record(result("a", status))
    with pytest.raises(TickError, match="reason"):
        checklist.check_tick("a", "AB")
    checklist.check_tick("a", "AB", "known slow replica")
    checklist.apply_tick(tick("a", note="a tick is not an acceptance"))
    assert not checklist.item("a").green and checklist.item("a").word == status.value
    checklist.apply_acceptance(Acceptance("a", status, "2027-01-15T08:00:00.000Z", "AB", "known slow replica", "t"))
    assert checklist.item("a").green and checklist.item("a").word == "ACCEPTED"  # never PASS
    rerun = result("a", status).model_copy(update={"started_at": "2027-01-15T09:00:00.000Z"})
    checklist.record(rerun)  # a re-run needs a new acceptance
    assert checklist.item("a").acceptance is None and not checklist.item("a").green


def test_a_manual_items_passing_check_is_green_and_old_warn_acks_are_ignored():
    checklist = Checklist("p", "P", [ChecklistItem(manual("m")), ChecklistItem(auto("a"))])
    checklist.record(result("m", Status.UNKNOWN))
    assert checklist.item("m").word == "TODO" and not checklist.item("m").green
    checklist.record(result("m", Status.PASS))  # the manual check found the tick in the store
    assert checklist.item("m").green
    checklist.apply_tick(tick("a", note="from yesterday"))
    assert checklist.item("a").tick is None


def test_worker_failure_is_visible_and_not_green():
    checklist = Checklist("p", "P", [ChecklistItem(auto("a"))])
    checklist.start("a", 1.0)
    checklist.fail("a", "RuntimeError: boom")
    assert checklist.item("a").word == "ERROR" and not checklist.item("a").green


@pytest.mark.parametrize("text", ["A", "ABCDE", "A1", "", "A B"])
def test_initials_are_two_to_four_letters(text):
    checklist = Checklist("g", "G", [ChecklistItem(manual("m"))])
    with pytest.raises(TickError, match="2 to 4 letters"):
        checklist.check_tick("m", text)
