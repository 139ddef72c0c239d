"""`cockpit serve`'s served argument list: the read-only screen that fits the run, and never a secret."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cockpit.cli.serve import SCREENS, served_command


def test_a_canary_is_served_the_attach_screen_from_the_state_database(tmp_path: Path) -> None:
    config = tmp_path / "cockpit.toml"
    argv = served_command("v1.4.0", config, None, "light", from_state=True, screen=SCREENS["canary"])
    assert argv == [sys.executable, "-m", "cockpit", "attach", "v1.4.0", "--no-mouse", "--from-state",
                    "--config", str(config.resolve()), "--theme", "light"]


def test_a_first_night_is_served_the_watch_screen_from_the_state_database(tmp_path: Path) -> None:
    config = tmp_path / "cockpit.toml"
    argv = served_command("v1.4.0", config, None, None, from_state=True, screen=SCREENS["first-night"])
    assert argv == [sys.executable, "-m", "cockpit", "watch", "v1.4.0", "--no-mouse", "--from-state",
                    "--config", str(config.resolve())]


def test_without_from_state_it_is_the_attach_screen_of_the_local_journal(tmp_path: Path) -> None:
    argv = served_command("v1.4.0", None, str(tmp_path / "ev"), None)
    assert argv[3:] == ["attach", "v1.4.0", "--no-mouse", "--evidence-dir", str((tmp_path / "ev").resolve())]


def test_only_a_read_only_screen_is_served() -> None:
    with pytest.raises(ValueError, match="not a read-only screen"):
        served_command("v1.4.0", None, None, None, screen="tui")
