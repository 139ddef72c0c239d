"""Runbooks in the cockpit: a failed rollback offers "roll back by hand", a FAIL's detail opens its runbook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cockpit.results import CheckResult, Status
from tests.tui_fixtures import T0, canary_events, make_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REASON = [{"source": "trigger", "name": "error_risk_correlation", "message": "5xx 4.2% with risk blocks 3/min"}]


def failed_rollback_events() -> list[dict[str, Any]]:
    """The canary decided to roll back at stage 2 and the rollback command failed three times."""
    return canary_events() + [
        {"ts": T0 + 1190, "event": "decision", "stage": 2, "weight": 5, "action": "immediate_rollback", "reasons": REASON},
        {"ts": T0 + 1190.1, "event": "rollback_started", "stage": 2, "weight": 5, "decided_at": T0 + 1190,
         "reasons": REASON},
        {"ts": T0 + 1221.0, "event": "rollback_done", "stage": 2, "weight": 5, "ok": False, "attempts": 3,
         "decided_at": T0 + 1190, "command_started_at": T0 + 1190.12, "command_ended_at": T0 + 1220.9,
         "decision_to_command_ms": 120.0, "error": "kubectl: error: You must be logged in to the server (Unauthorized)"},
    ]


async def test_the_watch_screen_offers_the_runbook_when_the_nights_rollback_failed(tmp_path: Path) -> None:
    from cockpit.screens.runbook import RunbookScreen
    from tests.tui_fixtures import night_events

    events = night_events(rollback=True)
    for event in events:  # the night's rollback command failed
        if event["event"] == "rollback_done":
            event.update(ok=False, error="kubectl: error: You must be logged in to the server (Unauthorized)")
    app = make_app(tmp_path / "ev", events=events, mode="watch")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.rollback_failed() and app.options.read_only
        binding = app.screen.active_bindings["b"].binding
        assert binding.description == "ROLL BACK BY HAND"
        await pilot.press("b")  # a viewer reads the runbook too: it moves nothing
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen) and app.screen.runbook.name == "rollback-by-hand"


async def test_a_failed_rollback_offers_the_roll_back_by_hand_runbook(tmp_path: Path) -> None:
    from cockpit.screens.runbook import RunbookScreen
    from cockpit.screens.warroom import WarRoomScreen

    app = make_app(tmp_path / "ev", events=failed_rollback_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.rollback_failed()
        binding = app.screen.active_bindings["b"].binding
        assert binding.description == "ROLL BACK BY HAND" and binding.action == "rollback_by_hand"
        assert app.outcome_text() == "ROLLBACK FAILED: move the traffic by hand · b: the runbook"
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen) and app.screen.runbook.name == "rollback-by-hand"
        from textual.widgets import MarkdownViewer

        viewer = app.screen.query_one(MarkdownViewer)
        assert "cockpit ctl VERSION status" in viewer.document.source
        await pilot.press("j", "space", "escape")
        assert isinstance(app.screen, WarRoomScreen)


async def test_no_by_hand_key_while_the_rollback_has_not_failed(tmp_path: Path) -> None:
    from cockpit.screens.warroom import WarRoomScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.rollback_failed() and "b" not in app.screen.active_bindings
        await pilot.press("b")
        assert isinstance(app.screen, WarRoomScreen)


async def test_a_fails_detail_links_its_runbook_and_r_opens_it(tmp_path: Path) -> None:
    from cockpit.screens.detail import DetailScreen
    from cockpit.screens.runbook import RunbookScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        app.checklists["redteam"].record(CheckResult(
            id="redteam.pitr", title="PITR cold start", phase="redteam", kind="sql", status=Status.FAIL,
            summary="archive_age -1s (archiving off)", duration_s=0.02, started_at="2027-01-15T07:50:00.000Z"))
        app.open_detail("redteam", "redteam.pitr")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert "RUNBOOK: db-restore — r opens it (`cockpit runbook db-restore`)" in app.screen.lines
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen) and app.screen.runbook.name == "db-restore"
        await pilot.press("q")
        app.open_detail("preflight", "preflight.time_drift")  # no runbook: no line, no key
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and not any("runbook" in line.lower() for line in app.screen.lines)
        await pilot.press("r")
        assert isinstance(app.screen, DetailScreen)


def test_the_cockpit_starts_without_the_markdown_widgets() -> None:
    """The runbook screen imports Textual's Markdown when it opens: the cockpit's start does not pay for it."""
    code = ("import sys; import cockpit.app.cockpit_app, cockpit.screens.warroom, cockpit.screens.detail, "
            "cockpit.screens.runbook; print('textual.widgets._markdown' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
