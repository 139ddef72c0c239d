"""How a screen starts fast: only its command's module, the config validated aside in a child, its face.

The child is a real fork of this process; the config files are real TOML.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.app.config_aside import ConfigAside
from cockpit.cli import COMMAND_MODULES, DEFAULT_MODULE, modules_for
from cockpit.config import load_config
from cockpit.config_file import ConfigError
from cockpit.views.face import ScreenFace, face_of

CONFIG = """
[evidence]
dir = "ev"

[tui]
theme = "light"
mouse = false

[canary]
evaluate_every = "30s"
max_holds = 1
stages = [{ weight = 10, hold = "5m" }, { weight = 100, hold = "10m" }]

[signals.p95_latency]
short = "lat"
max = 0.25
dry_run = true

[signals.csp_violations]
enabled = false
"""


def write(tmp_path: Path, text: str, name: str = "cockpit.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_module_registers_exactly_the_commands_the_cli_maps_to_it() -> None:
    for module, commands in COMMAND_MODULES.items():
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(subparsers)
        assert tuple(subparsers.choices) == commands, module


def test_a_command_needs_only_its_module_help_and_typos_need_all() -> None:
    assert modules_for(["attach", "v1.4.0", "--no-mouse"]) == ["cockpit.cli.screens"]
    assert modules_for(["first-night", "v1.4.0"]) == ["cockpit.cli.night"]
    assert modules_for([]) == [DEFAULT_MODULE]
    assert modules_for(["--help"]) == list(COMMAND_MODULES)
    assert modules_for(["atach", "v1"]) == list(COMMAND_MODULES)  # argparse lists every command in its error


def test_a_screen_command_does_not_import_pydantic_before_its_screen() -> None:
    code = ("import sys; from cockpit.cli import build_parser, modules_for; "
            "build_parser(modules_for(['attach', 'v1.4.0'])); import cockpit.app.cockpit_app; "
            "print(sorted(m for m in ('pydantic', 'cockpit.config') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_face_is_what_the_validated_config_says(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG))
    face = face_of(config)
    assert [s.name for s in face.signals] == [n for n in config.signals if n != "csp_violations"]
    p95 = face.signal_map()["p95_latency"]
    assert (p95.short, p95.unit, p95.max, p95.dry_run) == ("lat", "s", 0.25, True)
    assert face.stages == ((10.0, 300.0), (100.0, 600.0)) and face.stage_weights() == [10.0, 100.0]
    assert (face.max_holds, face.evaluate_every, face.evidence_dir) == (1, 30.0, "ev")
    assert (face.theme, face.low_color, face.mouse, face.custom_milestones) == ("light", False, False, False)
    # The default run-of-show follows this plan: stage 2 starts after stage 1's 5 minutes.
    assert ("Stage 2 (100%)", 300.0, "100%") in face.milestones
    assert ScreenFace.from_data(face.to_data()) == face


def test_the_child_validates_and_hands_back_the_same_face(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    assert ConfigAside(path).face() == face_of(load_config(path))
    assert ConfigAside(None).face() == face_of(load_config(None))  # the built-in defaults


def test_a_bad_config_is_the_same_one_line_error_from_the_child(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG.replace("max_holds = 1", "max_holds = -1"))
    with pytest.raises(ConfigError) as direct:
        load_config(path)
    with pytest.raises(ConfigError) as aside:
        ConfigAside(path).face()
    assert str(aside.value) == str(direct.value) and "\n" not in str(aside.value)
    assert "max_holds" in str(aside.value) and str(path) in str(aside.value)


def test_the_childs_other_check_fails_first(tmp_path: Path) -> None:
    def no_such_scenario() -> None:
        raise ConfigError("no drill scenario 'nope'")

    with pytest.raises(ConfigError, match="no drill scenario 'nope'"):
        ConfigAside(write(tmp_path, CONFIG), no_such_scenario).face()


def test_a_child_that_dies_without_an_answer_leaves_the_parent_to_validate(tmp_path: Path) -> None:
    def crash() -> None:
        raise RuntimeError("a bug in the child")

    path = write(tmp_path, CONFIG)
    # The parent validates in-process, runs the check again and raises what it raises: a bug is not hidden.
    with pytest.raises(RuntimeError, match="a bug in the child"):
        ConfigAside(path, crash).face()
