"""The GO decision (cockpit.engine.go): one test per rule of its docstring, in order."""

from __future__ import annotations

from cockpit.engine.go import (
    Acceptance,
    GateCheck,
    GoEvidence,
    RecordedResult,
    Role,
    SealRecord,
    Signature,
    Tally,
    decide_go,
)
from cockpit.results import Status

V = "v1.4.0"
AT = "2027-01-15T08:00:00.000Z"


def recorded(check_id: str, status: Status, at: str = AT) -> RecordedResult:
    return RecordedResult(check_id, check_id, status, "why", at)


def green() -> GoEvidence:
    """Everything GO needs: one preflight PASS, a ticked and a computed item, a signed role, a fresh seal."""
    return GoEvidence(
        version=V,
        checks=[GateCheck("preflight.a", "A", "preflight", True, "files"),
                GateCheck("gonogo.pre", "Preflight green", "gonogo", True, "computed", "preflight"),
                GateCheck("gonogo.rollback", "Rollback", "gonogo", True, "computed", "rollback"),
                GateCheck("gonogo.m", "M", "gonogo", True, "manual")],
        results={"preflight": {"preflight.a": recorded("preflight.a", Status.PASS)}},
        ticks={"gonogo.m": (True, "AB", AT)},
        rollback=recorded("gonogo.rollback", Status.PASS),
        roles=[Role("security", "Security", True), Role("po", "Product Owner", False)],
        signatures={"security": Signature("security", True, "SE", "", AT)},
        seal=SealRecord("AB", AT, {"results_preflight.json": "h1"}),
        manifest={"results_preflight.json": "h1"},
        tally=Tally(True),
    )


def test_everything_green_is_go():
    state = decide_go(green())
    assert state.go and state.missing == [] and state.ready_to_seal


def test_a_phase_never_run_is_one_line_with_its_command():
    ev = green()
    ev.results = {}
    state = decide_go(ev)
    assert not state.go and state.missing == [f"preflight not run for {V}: cockpit preflight {V}"]
    assert {x.key: x.word for x in state.lines}["gonogo.pre"] == "NOT RUN"  # restated, not a second line


def test_unknown_blocks_until_accepted_and_then_reads_accepted_never_pass():
    ev = green()
    ev.results["preflight"]["preflight.a"] = recorded("preflight.a", Status.UNKNOWN)
    state = decide_go(ev)
    assert not state.go and "not accepted: cockpit accept v1.4.0 preflight.a --by AB --reason TEXT" in state.missing[0]
    ev.ticks["gonogo.pre"] = (True, "AB", AT)  # a tick on a computed item changes nothing
    assert not decide_go(ev).go
    ev.acceptances["preflight.a"] = Acceptance("preflight.a", Status.UNKNOWN, AT, "AB", "no DB here", AT)
    state = decide_go(ev)
    words = {x.key: x.word for x in state.lines}
    assert state.go and words["preflight.a"] == "ACCEPTED" and words["gonogo.pre"] == "ACCEPTED"


def test_an_acceptance_is_for_the_result_it_accepted():
    ev = green()
    ev.results["preflight"]["preflight.a"] = recorded("preflight.a", Status.WARN, at="2027-01-15T09:00:00.000Z")
    ev.acceptances["preflight.a"] = Acceptance("preflight.a", Status.WARN, AT, "AB", "old run", AT)
    assert not decide_go(ev).go


def test_fail_is_never_accepted():
    ev = green()
    ev.results["preflight"]["preflight.a"] = recorded("preflight.a", Status.FAIL)
    ev.acceptances["preflight.a"] = Acceptance("preflight.a", Status.FAIL, AT, "AB", "ship it", AT)
    state = decide_go(ev)
    assert not state.go and state.missing[0].startswith("preflight.a FAIL (why): fix it, then cockpit check")


def test_manual_items_need_a_tick_and_the_rollback_proof_must_pass():
    ev = green()
    ev.ticks = {}
    ev.rollback = recorded("gonogo.rollback", Status.FAIL)
    missing = decide_go(ev).missing
    assert missing[0].startswith("gonogo.rollback FAIL (why): computed from [traffic] rollback")
    assert missing[1] == f"gonogo.m not ticked (M): cockpit tick gonogo.m {V} --initials AB"


def test_a_no_go_blocks_until_the_same_role_signs_again_and_optional_roles_only_block_with_no_go():
    ev = green()
    ev.signatures["po"] = Signature("po", False, "PO", "support not briefed", AT)
    state = decide_go(ev)
    assert not state.go and state.missing[0].startswith("Product Owner signed NO-GO (PO at ")
    ev.signatures["po"] = Signature("po", True, "PO", "", AT)
    assert decide_go(ev).go
    ev.signatures.pop("security")
    assert decide_go(ev).missing == [f"Security has not signed: cockpit signoff {V} --role security --go|--no-go --by AB"]


def test_the_seal_must_exist_be_fresh_and_the_folder_verify():
    ev = green()
    ev.seal = None
    state = decide_go(ev)
    assert state.ready_to_seal and not state.go and state.missing == [f"evidence not sealed for {V}: cockpit seal {V} --by AB"]
    ev = green()
    ev.manifest = {"results_preflight.json": "h2"}
    assert "is stale: results_preflight.json changed since" in decide_go(ev).missing[0]
    ev = green()
    ev.tally = Tally(True, changed=("preflight.txt",))
    assert decide_go(ev).missing == [f"evidence for {V} does not verify (changed preflight.txt): cockpit evidence verify {V}"]
