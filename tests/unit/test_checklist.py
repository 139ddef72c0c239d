"""Checklists: what is green, what may be ticked, and when GO is possible."""

from __future__ import annotations

import pytest

from cockpit.config import load_config
from cockpit.checks.specs import FilesSpec, ManualSpec
from cockpit.engine.checklist import Checklist, ChecklistItem, TickError, build_checklists, go_gate
from cockpit.results import CheckResult, Status
from cockpit.checks.ticks import Tick


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
    assert len(lists["gonogo"].items) == 10 and all(i.manual for i in lists["gonogo"].items)
    assert [i.id for i in lists["preflight"].items][-1] == "blast.micro"  # T-9 sits with the preflight
    assert not go_gate(lists).open


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


def test_a_warn_is_accepted_with_initials_and_a_note_and_the_ack_ends_with_it():
    checklist = Checklist("p", "P", [ChecklistItem(auto("a"))])
    checklist.record(result("a", Status.WARN))
    with pytest.raises(TickError, match="note"):
        checklist.check_tick("a", "AB")
    checklist.check_tick("a", "AB", "known slow replica")
    checklist.apply_tick(tick("a", note="known slow replica"))
    assert checklist.item("a").green and checklist.item("a").word == "TICKED"
    checklist.record(result("a", Status.WARN))  # a re-run needs a new acceptance
    assert checklist.item("a").tick is None and not checklist.item("a").green


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


def test_go_gate_names_what_blocks_and_skips_optional_items():
    lists = {
        "preflight": Checklist("preflight", "Preflight", [ChecklistItem(auto("a")), ChecklistItem(auto("opt", required=False))]),
        "gonogo": Checklist("gonogo", "GO / NO-GO", [ChecklistItem(manual("m"))]),
    }
    gate = go_gate(lists)
    assert not gate.open and gate.blocking == ["Preflight: A (TODO)", "GO / NO-GO: M (TODO)"]
    lists["preflight"].record(result("a", Status.PASS))
    lists["gonogo"].apply_tick(tick("m"))
    assert go_gate(lists).open
