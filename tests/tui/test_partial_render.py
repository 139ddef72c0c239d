"""A partial repaint of the live war room shows what a full one shows, without asking the widgets behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.app.terminal_output import TerminalShadow, _explode
from tests.tui_fixtures import SIGNALS, T0, _signal, canary_events, make_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def sample(ts: float, index: int) -> dict[str, Any]:
    return {"ts": ts, "event": "sample", "stage": 2, "weight": 5,
            "signals": {name: _signal(name, index, ts, t0=ts) for name in SIGNALS}, "triggers": {}}


async def test_partial_frames_add_up_to_the_full_screen_and_the_screen_behind_is_not_asked(tmp_path: Path) -> None:
    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        compositor = screen._compositor
        shadow = TerminalShadow()
        shadow.frame(compositor.render_full_update(), app.console)
        asked: list[Any] = []
        render_lines = screen.render_lines
        screen.render_lines = lambda crop: asked.append(crop) or render_lines(crop)  # type: ignore[method-assign]
        frames = 0
        display = app._display

        def recorded(on: Any, update: Any) -> None:
            nonlocal frames
            if on is screen and update is not None:
                frames += 1
                shadow.frame(update, app.console)
            display(on, update)

        app._display = recorded  # type: ignore[method-assign]
        for index in range(12):
            app.clock.advance(1.0)
            app.feed([sample(T0 + 1186 + index, 40 + index)] if index % 3 else [])
            await pilot.pause()
        assert frames >= 10
        # Every row of the war room has widgets in front of the screen: its own lines are never shown.
        assert asked == []
        full = [_explode(strip) for strip in compositor.render_strips()]
        assert [chars for chars, _ in full] == shadow.chars
        assert [styles for _, styles in full] == shadow.styles
