"""One error base: every cockpit exception is a CockpitError, and the CLI turns each into one line and its exit code."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import cockpit.cli.ticks
from cockpit.cli import main
from cockpit.errors import CockpitError, UnavailableError

PACKAGES = ("cockpit", "cockpit.app", "cockpit.widgets", "cockpit.screens", "cockpit.themes")
SKIP = {"cockpit.__main__"}  # running it is the CLI itself


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        names += [m.name for m in pkgutil.walk_packages(root.__path__, package + ".") if m.name not in SKIP]
    return sorted(set(names))


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name:
                found.append(value)
    return found


def _instance(cls: type[CockpitError]) -> CockpitError:
    """One instance with a message; the few with their own constructor get theirs."""
    special = {"SbomError": ("the SBOM is not JSON", "invalid"), "RunLockHeld": ("4242",)}
    return cls(*special.get(cls.__name__, (f"{cls.__name__} says what is wrong",)))


EXCEPTIONS = _exception_classes()


# A controller that lost its lease must stop like a cancellation: no `except Exception` on the run's way out
# (roll back to be safe, run the rollback unjournaled) may catch it. `cockpit canary` catches it by name.
NOT_ERRORS = {"cockpit.run.state_store.LeaseLost"}


def test_every_exception_of_the_project_is_a_cockpit_error() -> None:
    assert len(EXCEPTIONS) >= 17  # the walk found them (see the house list in cockpit/errors.py)
    strays = [f"{cls.__module__}.{cls.__name__}" for cls in EXCEPTIONS if not issubclass(cls, CockpitError)]
    assert sorted(set(strays) - NOT_ERRORS) == []
    assert all(not issubclass(cls, Exception) for cls in EXCEPTIONS if f"{cls.__module__}.{cls.__name__}" in NOT_ERRORS)


def test_the_parsers_still_catch_value_errors() -> None:
    from cockpit.engine.checklist import TickError
    from cockpit.release_version import BadVersion, validate_version

    assert issubclass(BadVersion, ValueError) and issubclass(TickError, ValueError)
    with pytest.raises(ValueError):
        validate_version("not-a-version")


@pytest.mark.parametrize("cls", [c for c in EXCEPTIONS if issubclass(c, CockpitError)], ids=lambda c: c.__name__)
def test_the_cli_prints_each_kind_as_one_line_with_its_exit_code(
    cls: type[CockpitError], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = _instance(cls)

    def command(args: object) -> int:
        raise error

    monkeypatch.setattr(cockpit.cli.ticks, "_cmd_tick", command)
    code = main(["tick", "preflight.x", "v1.0.0", "--initials", "AB"])
    err = capsys.readouterr().err
    assert code == error.exit_code == (3 if isinstance(error, UnavailableError) else 2)
    assert err == f"cockpit: {error}\n"


def test_a_bad_version_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tick", "preflight.x", "not-a-version", "--initials", "AB"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cockpit: ") and err.count("\n") == 1 and "not-a-version" in err


def test_no_config_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["tick", "preflight.x", "v1.0.0", "--initials", "AB"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cockpit: no cockpit.toml found: looked at --config FILE, $COCKPIT_CONFIG, ./cockpit.toml")
    assert err.count("\n") == 1 and "cockpit init" in err


def test_a_release_without_a_journal_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["oneliner", "v1.0.0", "--evidence-dir", str(tmp_path)]) == 2  # a ReportError
    err = capsys.readouterr().err
    assert err.startswith("cockpit: ") and err.count("\n") == 1


def test_no_run_to_command_is_one_line_and_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ctl", "v1.0.0", "status", "--socket", str(tmp_path / "control.sock")]) == 3  # a ControlError
    err = capsys.readouterr().err
    assert err.startswith("cockpit: no live run") and err.count("\n") == 1


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cockpit", "ctl", "v1.0.0", "status",
                             "--socket", str(tmp_path / "control.sock")],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.startswith("cockpit: no live run") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
