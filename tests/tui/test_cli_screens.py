"""The screen commands at the edges: one-line errors before any screen, `cockpit --help` without Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.widgets.signal_row import bars


def test_help_does_not_import_textual() -> None:
    code = ("import sys; from cockpit.cli import build_parser; build_parser().format_help();"
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_attach_without_a_journal_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attach", "v1.4.0", "--evidence-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("cockpit: no canary journal for v1.4.0")


def test_watch_without_a_journal_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gc

    assert main(["watch", "v1.4.0", "--evidence-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("cockpit: no canary journal for v1.4.0") and "nothing to watch" in err
    assert gc.isenabled()  # the start-up pause of the cyclic GC ends with the command, whatever happened
    assert main(["watch", "latest"]) == 2
    assert "is not a release version" in capsys.readouterr().err


def test_tui_needs_a_config_and_a_good_version(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["tui", "v1.4.0"]) == 2
    assert "no cockpit.toml" in capsys.readouterr().err
    assert main(["tui", "latest", "--config", "x.toml"]) == 2
    assert "is not a release version" in capsys.readouterr().err
    (tmp_path / "cockpit.toml").write_text("[tui]\ntheme = \"purple\"\n")
    assert main(["tui", "v1.4.0"]) == 2
    assert "tui.theme" in capsys.readouterr().err
    (tmp_path / "cockpit.toml").write_text("")
    assert main(["tui", "v1.4.0", "--t0", "soon"]) == 2
    assert "--t0" in capsys.readouterr().err


def test_cockpit_alone_with_a_config_here_prints_help(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cockpit.toml").write_text("")
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "usage: cockpit" in captured.out and "cockpit tui VERSION" in captured.err


def test_cockpit_alone_without_a_terminal_does_not_start_a_screen(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "cockpit"], cwd=tmp_path, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30)
    assert out.returncode == 2 and "no terminal for the drill screen" in out.stderr


def test_history_bars_are_measured_against_the_limit() -> None:
    assert bars([0.1, 0.2, 0.4], 0.2, 5) == "  ▅██"
    assert bars([0.0, 0.05], 0.2, 2) == "▁▃"
    assert bars([1.0, 2.0], None, 2) == "▅█"  # no limit: the largest value is the top
    assert bars([], 0.2, 4) == "" and bars(list(range(1, 100)), 200, 3) == "▄▄▄"


async def test_a_config_broken_after_its_face_was_taken_stops_the_screen_with_its_one_line(tmp_path: Path) -> None:
    from cockpit.app.cockpit_app import CockpitApp, TuiOptions
    from cockpit.config import load_config
    from cockpit.views.face import face_of

    path = tmp_path / "cockpit.toml"
    path.write_text('[evidence]\ndir = "ev"\n')
    face = face_of(load_config(path))  # what the validating child handed back
    path.write_text('[canary]\nmax_holds = "many"\n')  # then someone saved a broken file
    app = CockpitApp(TuiOptions(face=face, config_path=path, version="v1.4.0", evidence_root=tmp_path / "ev",
                                follow_journal=False, tick_every=None, blink=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
    assert app.config_error is not None and app.config_error.startswith(str(path)) and "max_holds" in app.config_error


def test_the_journal_as_it_stands_is_folded_before_the_first_screen_is_composed(tmp_path: Path) -> None:
    from cockpit.app.cockpit_app import CockpitApp, TuiOptions
    from cockpit.views.canary import CanaryView
    from tests.tui_fixtures import VERSION, canary_events, cockpit_config, journal_of

    events = canary_events()
    journal_of(tmp_path / "ev" / VERSION / "journal.jsonl", events).close()
    app = CockpitApp(TuiOptions(config=cockpit_config(), mode="attach", version=VERSION, evidence_root=tmp_path / "ev",
                                tick_every=None, blink=False))
    folded = CanaryView()
    folded.apply_all(events)
    # Not yet running, nothing composed: the first screen will show the run as it is, not an empty one.
    assert (app.view.stage, app.view.phase, set(app.view.signals)) == (folded.stage, folded.phase, set(folded.signals))
    assert folded.stage is not None and app.view.events == len(events) and app.chain_error is None
