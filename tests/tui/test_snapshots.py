"""Snapshots of the cockpit: fixed events, a manual clock, no timers, no journal follower (deterministic).

Created with `pytest tests/tui/test_snapshots.py --snapshot-update`; a change to a
screen shows as a failing snapshot with a visual diff in snapshot_report.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.results import CheckResult, Status
from tests.tui_fixtures import NOW, canary_events, make_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def result(check_id: str, phase: str, status: Status, summary: str, duration: float, evidence: list[str] | None = None) -> CheckResult:
    return CheckResult(id=check_id, title=check_id, phase=phase, kind="sql", status=status, summary=summary,
                       duration_s=duration, started_at="2027-01-15T07:50:00.000Z", evidence=evidence or [])


def with_results(app: Any) -> Any:
    """Some preflight and red-team results, and two GO ticks, as if the IC had been working the lists."""
    from cockpit.checks.ticks import Tick

    pre = app.checklists["preflight"]
    pre.record(result("preflight.identity", "preflight", Status.PASS, "root@bastion v1.4.0 abc1234 sealed", 0.21))
    pre.record(result("preflight.time_drift", "preflight", Status.WARN, "drift 0.14s vs NTP (warn > 0.1s)", 0.35))
    pre.record(result("preflight.pgbouncer_saturation", "preflight", Status.UNKNOWN,
                      "could not connect: connection refused (127.0.0.1:6432)", 5.0))
    pre.record(result("preflight.prisma_migrations", "preflight", Status.FAIL, "1 failed migration: 20250101_add_idx",
                      0.08))
    red = app.checklists["redteam"]
    red.record(result("redteam.outbox_lag", "redteam", Status.PASS, "outbox lag 2.1s (max 60s)", 0.05))
    go = app.checklists["gonogo"]
    for check_id in ("gonogo.preflight_green", "gonogo.oncall"):
        go.apply_tick(Tick(id=check_id, initials="AB", note="", at="2027-01-15T07:55:00.000Z", ticked=True))
    return app


def war_room(tmp_path: Path, **kwargs: Any) -> Any:
    return make_app(tmp_path / "ev", events=canary_events(), **kwargs)


def test_war_room_80x24(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(war_room(tmp_path), terminal_size=(80, 24))


def test_war_room_160x48(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(war_room(tmp_path), terminal_size=(160, 48))


def test_war_room_140x40(snap_compare: Any, tmp_path: Path) -> None:
    """A wide pane: the signal history takes the width it has (every sample the run has, up to the edge)."""
    assert snap_compare(war_room(tmp_path), terminal_size=(140, 40))


def test_war_room_idle_before_t0(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path / "ev", mode="drill", version="v0.0.0-drill"), terminal_size=(80, 24))


def test_every_signal_stale_when_samples_stop(snap_compare: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path / "ev", events=canary_events(), now=NOW + 300)  # five minutes without a sample
    assert snap_compare(app, terminal_size=(80, 24))


def test_rollback_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(war_room(tmp_path), press=["ctrl+r", *"v1.4"], terminal_size=(80, 24))


def test_rollback_in_progress(snap_compare: Any, tmp_path: Path) -> None:
    from tests.tui_fixtures import T0

    events = canary_events() + [
        {"ts": T0 + 1190, "event": "decision", "stage": 2, "weight": 5, "action": "immediate_rollback",
         "reasons": [{"source": "trigger", "name": "error_risk_correlation", "message": "5xx 4.2% with risk blocks 3/min"}]},
        {"ts": T0 + 1190.1, "event": "rollback_started", "stage": 2, "weight": 5, "decided_at": T0 + 1190,
         "reasons": [{"source": "trigger", "name": "error_risk_correlation", "message": "5xx 4.2% with risk blocks 3/min"}]},
        {"ts": T0 + 1192.4, "event": "rollback_done", "stage": 2, "weight": 5, "ok": True, "attempts": 1,
         "decided_at": T0 + 1190, "command_started_at": T0 + 1190.12, "command_ended_at": T0 + 1192.3,
         "decision_to_command_ms": 120.0, "error": None},
    ]
    assert snap_compare(make_app(tmp_path / "ev", events=events), terminal_size=(80, 24))


def settled(*keys: str) -> Any:
    """Press `keys`, then wait for the GO state (read by a worker thread) so the pane is drawn from it."""
    from tests.tui_fixtures import wait_for

    async def run_before(pilot: Any) -> None:
        await pilot.press(*keys)
        await wait_for(pilot, lambda: pilot.app.go is not None, what="the GO state")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("pane", ["2", "3", "4", "5"])
def test_checklists(snap_compare: Any, tmp_path: Path, pane: str) -> None:
    assert snap_compare(with_results(war_room(tmp_path)), run_before=settled(pane), terminal_size=(80, 24))


def test_tick_dialog(snap_compare: Any, tmp_path: Path) -> None:
    # the fifth GO/NO-GO item is the first manual one (the four before it are computed: never ticked)
    assert snap_compare(war_room(tmp_path), run_before=settled("4"), press=["j", "j", "j", "j", "space", "a", "b"],
                        terminal_size=(80, 24))


def test_read_only_attach(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(war_room(tmp_path, mode="attach"), terminal_size=(80, 24))


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    """The keys in a column of their own at 80 columns; a long description wraps under itself."""
    assert snap_compare(war_room(tmp_path), press=["question_mark"], terminal_size=(80, 24))


@pytest.mark.parametrize("theme", ["cockpit-light", "cockpit-contrast"])
def test_themes(snap_compare: Any, tmp_path: Path, theme: str) -> None:
    assert snap_compare(war_room(tmp_path, theme=theme), terminal_size=(80, 24))


def test_low_color_theme(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(war_room(tmp_path, low_color=True), terminal_size=(80, 24))


def test_first_night_watch_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """`cockpit watch`: hour 05 of 24, hour 02 back-filled, hour 03 WARN with a trigger fired, hour 05 open."""
    from tests.tui_fixtures import NIGHT_NOW, night_events

    app = make_app(tmp_path / "ev", events=night_events(), mode="watch", now=NIGHT_NOW)
    assert snap_compare(app, terminal_size=(80, 24))


def test_first_night_rollback_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The night rolled back in hour 04: the banner, the FAIL hour marked ROLLBACK, the stability line."""
    from tests.tui_fixtures import NIGHT_NOW, night_events

    app = make_app(tmp_path / "ev", events=night_events(rollback=True), mode="watch", now=NIGHT_NOW)
    assert snap_compare(app, terminal_size=(80, 24))


def test_war_room_after_a_first_night_rollback(snap_compare: Any, tmp_path: Path) -> None:
    """`cockpit attach` during the night: the phase line names the night's rollback, not a stage's."""
    from tests.tui_fixtures import NIGHT_NOW, night_events

    app = make_app(tmp_path / "ev", events=night_events(rollback=True), mode="attach", now=NIGHT_NOW)
    assert snap_compare(app, terminal_size=(80, 24))


def test_runbook_roll_back_by_hand_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The rollback command failed: `b` opens "roll back by hand" over the war room."""
    from tests.tui.test_runbook import failed_rollback_events

    app = make_app(tmp_path / "ev", events=failed_rollback_events())
    assert snap_compare(app, press=["b"], terminal_size=(80, 24))


def test_war_room_shows_the_ics_own_call_beside_the_engine_80x24(snap_compare: Any, tmp_path: Path) -> None:
    from tests.tui_fixtures import T0

    events = canary_events()
    events[0] = {**events[0], "ic": "AB"}
    events.append({"ts": T0 + 1180, "event": "ic_call", "stage": 2, "weight": 5, "call": "HOLD", "by": "root (AB)",
                   "reason": "p95 trending up"})
    assert snap_compare(make_app(tmp_path / "ev", events=events), terminal_size=(80, 24))


def test_ic_call_modal_80x24(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(war_room(tmp_path), press=["c"], terminal_size=(80, 24))


def test_gonogo_pane_with_signatures_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """The GO/NO-GO pane: computed items, manual ones, and the roles' signatures (a NO-GO shown loudly)."""
    from cockpit.checks.gate_records import record_signoff
    from cockpit.clock import ManualClock
    from cockpit.evidence import EvidenceStore
    from tests.tui_fixtures import VERSION

    store = EvidenceStore(tmp_path / "ev", VERSION)
    clock = ManualClock(NOW - 600)
    record_signoff(store, "devops", True, "DL", "", clock)
    record_signoff(store, "security", True, "SE", "headers reviewed", clock)
    record_signoff(store, "cto", False, "CT", "wait for the DB fix", clock)
    assert snap_compare(with_results(war_room(tmp_path)), run_before=settled("4"), terminal_size=(80, 24))
