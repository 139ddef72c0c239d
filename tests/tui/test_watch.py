"""`cockpit watch`: the first-night screen driven through Pilot (read-only, fed by events or the real journal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui_fixtures import (
    NIGHT_HOUR,
    NIGHT_NOW,
    NIGHT_T0,
    VERSION,
    cockpit_config,
    journal_of,
    make_app,
    night_events,
    wait_for,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def text_of(app: Any, selector: str) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one(selector, Static).render())


def status_info(app: Any) -> str:
    from cockpit.widgets.status_bar import StatusBar

    return app.screen.query_one(StatusBar).info


def before(events: list[dict[str, Any]], ts: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [e for e in events if e["ts"] < ts], [e for e in events if e["ts"] >= ts]


async def test_the_night_reads_at_a_glance_and_the_viewer_cannot_act(tmp_path: Path) -> None:
    from cockpit.screens.night import NightScreen
    from cockpit.screens.rollback import RollbackConfirmScreen
    from cockpit.widgets.hour_table import HourTable
    from cockpit.widgets.night_header import NightHeader

    app = make_app(tmp_path / "ev", events=night_events(), mode="watch", now=NIGHT_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, NightScreen)
        header = app.screen.query_one(NightHeader)
        assert "FIRST NIGHT · hour 05, the 6th of 24" in header._lines["nh-title"]
        assert header._lines["nh-next"].startswith("next: hour 05 summary in 39:10 (at 15:30:00Z)")
        assert header._clock == "39:10"
        stability = app.screen.query_one("#night-stability")
        assert stability.has_class("-ok") and text_of(app, "#night-stability").startswith("✔ STABLE so far · 5/24")
        assert "look at hours 03 WARN" in text_of(app, "#night-stability")  # stable by the report's rule, yet named
        assert not app.screen.query_one("#night-rollback").has_class("-shown")
        rows = app.screen.query_one(HourTable).rows
        assert [(r.hour, r.mark, r.source) for r in rows] == [
            ("00", "✔ PASS", "live"), ("01", "✔ PASS", "live"), ("02", "✔ WITHIN", "BACK-FILLED + live"),
            ("03", "! WARN", "live"), ("04", "✔ PASS", "live"), ("05▶", "✔ PASS", "open: 21 samples")]
        assert rows[3].fired == "gc_pause_hold"
        # The golden signals now: the war room's rows, from the night's samples.
        from cockpit.widgets.signal_table import SignalTable

        assert set(app.screen.query_one(SignalTable).statuses().values()) == {"✔ PASS"}
        assert status_info(app).startswith("journal 50s ago") and "panes" not in status_info(app)
        # Read-only and one screen: no rollback modal, no panes, no note; q quits without a question.
        await pilot.press("ctrl+r", "2", "n")
        assert isinstance(app.screen, NightScreen) and not isinstance(app.screen, RollbackConfirmScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_night_rollback_arriving_is_loud_and_never_a_stage_rollback(tmp_path: Path) -> None:
    from cockpit.widgets.hour_table import HourTable
    from cockpit.widgets.night_header import NightHeader

    events = night_events(rollback=True)
    rollback_at = next(e["ts"] for e in events if e["event"] == "rollback_started")
    earlier, later = before(events, rollback_at)
    app = make_app(tmp_path / "ev", events=earlier, mode="watch", now=rollback_at + 5)
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.screen.query_one("#night-rollback")
        assert not banner.has_class("-shown")
        started = [e for e in later if e["event"] == "rollback_started"]
        app.feed(started)
        await pilot.pause()
        assert banner.has_class("-shown") and not banner.has_class("-done-ok")
        assert app.screen.query_one(NightHeader).has_class("-alarm")
        lines = text_of(app, "#night-rollback").splitlines()
        assert lines[0].startswith("▲ FIRST-NIGHT ROLLBACK in hour 04") and "p95_latency_breach" in lines[0]
        assert lines[1].startswith("ROLLING BACK: 5s since the decision")
        assert app.view.phase == "promoted" and app.view.rollback is None  # the canary's stages are untouched
        assert app.screen.query_one("#night-stability").has_class("-fail")

        app.feed([e for e in later if e["event"] != "rollback_started"])
        await pilot.pause()
        assert banner.has_class("-done-ok") and not app.screen.query_one(NightHeader).has_class("-alarm")
        assert text_of(app, "#night-rollback").splitlines()[1].startswith("✔ rolled back 2.3s after the decision")
        row = next(r for r in app.screen.query_one(HourTable).rows if r.hour == "04")
        assert (row.mark, row.rollback) == ("▲ FAIL", "ROLLBACK")
        assert text_of(app, "#night-stability").startswith("▲ ROLLED BACK in hour 04")


async def test_watch_follows_the_nights_journal_as_it_is_written(tmp_path: Path) -> None:
    """The same journal follower as `cockpit attach`: records appended by the night reach the screen."""
    from cockpit.app.cockpit_app import TuiOptions, WatchApp
    from cockpit.clock import ManualClock
    from cockpit.widgets.hour_table import HourTable

    journal = journal_of(tmp_path / "ev" / VERSION / "journal.jsonl",
                         [e for e in night_events() if e["ts"] < NIGHT_T0 + 3 * NIGHT_HOUR])
    options = TuiOptions(config=cockpit_config(), mode="watch", version=VERSION, evidence_root=tmp_path / "ev",
                         tick_every=None, poll_every=0.02, blink=False)
    app = WatchApp(options, clock=ManualClock(NIGHT_T0 + 3 * NIGHT_HOUR - 30))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(HourTable)
        await wait_for(pilot, lambda: [r.hour for r in table.rows] == ["00", "01", "02▶"], what="the replay")
        journal.append("hour_closed", NIGHT_T0 + 3 * NIGHT_HOUR, hour=2, worst="BLIND", backfilled=True,
                       live_samples=0, backfilled_points=480, backfill_errors=["p95_latency: no answer within 5s"],
                       triggers={}, rollbacks=[], file="hourly_log_02.txt")
        await wait_for(pilot, lambda: [r.hour for r in table.rows] == ["00", "01", "02"], what="the closed hour")
        assert table.rows[-1].mark == "? BLIND" and table.rows[-1].kind == "unknown"
        assert app.screen.query_one("#night-stability").has_class("-warn")  # a blind hour is no pass
        journal.close()


async def test_j_and_k_scroll_a_long_night_and_new_hours_follow_at_the_bottom(tmp_path: Path) -> None:
    from cockpit.widgets.hour_table import HourTable

    events: list[dict[str, Any]] = [{"ts": NIGHT_T0, "event": "first_night_started", "hours": 48,
                                     "hour_length": NIGHT_HOUR, "evaluate_every": 60.0, "resumed": False}]
    events += [{"ts": NIGHT_T0 + (h + 1) * NIGHT_HOUR, "event": "hour_closed", "hour": h, "worst": "PASS",
                "backfilled": False, "live_samples": 60, "triggers": {}, "rollbacks": []} for h in range(30)]
    app = make_app(tmp_path / "ev", events=events, mode="watch", now=NIGHT_T0 + 30.5 * NIGHT_HOUR)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(HourTable)
        await pilot.pause()
        bottom = table.max_scroll_y
        assert bottom > 0 and table.scroll_offset.y == bottom  # the newest hours are in view
        await pilot.press("k", "k", "k")
        assert table.scroll_offset.y == bottom - 3
        await pilot.press("j")
        assert table.scroll_offset.y == bottom - 2
        app.feed([{"ts": NIGHT_T0 + 31 * NIGHT_HOUR, "event": "hour_closed", "hour": 30, "worst": "PASS",
                   "backfilled": False, "live_samples": 60, "triggers": {}, "rollbacks": []}])
        await pilot.pause()
        assert table.scroll_offset.y == bottom - 2  # reading older hours: a new one does not yank the view
        await pilot.press("G")
        await pilot.pause()
        assert table.scroll_offset.y == table.max_scroll_y == bottom + 1


async def test_a_summary_that_never_came_says_so_and_asks_whether_the_night_still_runs(tmp_path: Path) -> None:
    from cockpit.widgets.night_header import NightHeader

    late = NIGHT_T0 + 6.5 * NIGHT_HOUR  # hour 05 ended 30 minutes ago; nothing was written since
    app = make_app(tmp_path / "ev", events=night_events(), mode="watch", now=late)
    async with app.run_test(size=(80, 24)):
        header = app.screen.query_one(NightHeader)
        assert header.has_class("-overdue") and header._clock == "+30:00"
        assert header._lines["nh-next"] == (
            "hour 05 summary OVERDUE by 30:00: is `cockpit first-night v1.4.0` running?")
        assert "the first-night process is quiet" in status_info(app)
        from cockpit.views.canary import signal_status

        # No sample for 30 minutes: the signals say STALE, never the last PASS.
        assert {signal_status(s, late, app.stale_limit()).word for s in app.view.signals.values()} == {"STALE"}
