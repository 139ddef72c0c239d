"""The signal table: one widget drawing every signal's line, its styles kept until a restyle, never stale."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from cockpit.views.canary import SignalView, signal_status
from cockpit.widgets.signal_row import SignalLine, recent_values
from tests.tui_fixtures import canary_events, make_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_recent_values_are_the_newest_real_ones_oldest_first() -> None:
    history = deque([(1.0, 0.1), (2.0, None), (3.0, 0.3), (4.0, 0.4), (5.0, None), (6.0, 0.6)])
    assert recent_values(history, 3) == [0.3, 0.4, 0.6]  # the BLIND gaps are left out, not counted
    assert recent_values(history, 10) == [0.1, 0.3, 0.4, 0.6]
    assert recent_values(history, 0) == []


def test_a_line_says_when_what_it_draws_changed() -> None:
    signal = SignalView("errors", value=0.2, state="PASS", limit=1.0, unit="%", samples=1, at=100.0, last_good_at=100.0)
    signal.history.append((100.0, 0.2))
    line = SignalLine("5xx")
    assert line.show(signal, None, signal_status(signal, 100.0, 30.0))
    assert not line.show(signal, None, signal_status(signal, 101.0, 30.0))  # the same reading a second later
    signal.samples, signal.value = 2, 0.2
    signal.history.append((102.0, 0.2))
    assert line.show(signal, None, signal_status(signal, 102.0, 30.0))  # a new sample: the bars move
    signal.state = "FAIL"
    assert line.show(signal, None, signal_status(signal, 102.0, 30.0)) and line.status == "fail"


def _status_cell(app, short: str):  # noqa: ANN001, ANN202 - the app's screen strips, read as the terminal gets them
    for strip in app.screen._compositor.render_strips():
        text = strip.text
        if text.split()[:1] == [short]:
            at = 0
            for segment in strip:
                if at >= 66 and segment.text.strip():
                    return segment.text.strip(), segment.style
                at += segment.cell_length
    raise AssertionError(f"no row {short}")


async def test_a_theme_change_and_a_failing_signal_are_drawn_at_once(tmp_path: Path) -> None:
    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text, dark = _status_cell(app, "5xx")
        assert text == "✔ PASS" and dark.bold and not dark.reverse
        app.theme = "cockpit-light"
        await pilot.pause()
        _, light = _status_cell(app, "5xx")
        assert light.color != dark.color  # the kept styles were dropped with the restyle
        signal = app.view.signals["error_rate"]
        signal.state, signal.samples = "FAIL", signal.samples + 1
        app.refresh_screens()
        await pilot.pause()
        text, failing = _status_cell(app, "5xx")
        assert text.endswith("FAIL") and failing.reverse and failing.bold


async def test_the_line_under_the_mouse_explains_itself(tmp_path: Path) -> None:
    from cockpit.widgets.signal_table import SignalRows

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        rows = app.screen.query_one(SignalRows)
        gc = next(y for y, line in enumerate(rows.lines) if line.title == "gc")
        await pilot.hover(rows, offset=(2, gc))
        assert rows.tooltip == "no data: the query returned no series"  # why gc reads STALE
        await pilot.hover(rows, offset=(2, 0))
        assert rows.tooltip is None  # the header explains nothing


async def test_a_signal_the_config_does_not_list_gets_its_own_line(tmp_path: Path) -> None:
    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        last = max(e["ts"] for e in canary_events())
        app.feed([{"ts": last + 1, "event": "sample", "stage": 2, "weight": 5, "triggers": {},
                   "signals": {"queue_depth": {"value": 3.0, "state": "PASS", "limit": 10.0, "unit": "", "window": 60,
                                               "reason": "", "dry_run": False}}}])
        await pilot.pause()
        assert app.screen.query_one("#signals").statuses()["queue_depth"] == "✔ PASS"
        row = next(s.text for s in app.screen._compositor.render_strips() if s.text.split()[:1] == ["queue_depth"])
        assert "✔ PASS" in row
