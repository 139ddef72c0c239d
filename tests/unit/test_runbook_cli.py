"""`cockpit runbook`: the shipped runbooks, a team's folder overriding by name, one line for a wrong name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.runbooks import load_runbook, runbook_for_check, runbook_names


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no cockpit.toml anywhere the search looks: only the shipped runbooks."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_lists_the_shipped_runbooks(no_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["db-restore", "incident", "release-notes", "rollback-by-hand"]
    assert "Roll back by hand (the rollback command failed)" in out[3]


def test_prints_one_with_the_cockpit_commands_that_apply(no_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook", "rollback-by-hand"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Roll back by hand")
    assert "cockpit ctl VERSION status" in text and "cockpit evidence verify VERSION" in text
    assert "\n1. " in text  # numbered steps
    assert main(["runbook", "db-restore"]) == 0
    text = capsys.readouterr().out
    assert "recovery_target_time" in text and "pg_stat_archiver" in text and "PAUSE app;" in text


def test_an_unknown_name_is_one_line_and_exit_2(no_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook", "db-restor"]) == 2
    err = capsys.readouterr().err
    assert err == ("cockpit: no runbook 'db-restor'; there are: db-restore, incident, release-notes, "
                   "rollback-by-hand\n")


def test_a_teams_folder_overrides_by_name_and_adds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "incident.md").write_text("# Our incident form\n\n1. Open a ticket in OPS.\n")
    (folder / "cache-flush.md").write_text("# Flush the CDN\n\n1. `cdnctl purge --all`\n")
    config = tmp_path / "cockpit.toml"
    config.write_text('[runbooks]\ndir = "runbooks"\n')
    assert main(["runbook", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "cache-flush" in out and f"Our incident form  ({folder / 'incident.md'})" in out
    assert main(["runbook", "incident", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "# Our incident form\n\n1. Open a ticket in OPS.\n"
    assert runbook_names(folder) == ["cache-flush", "db-restore", "incident", "release-notes", "rollback-by-hand"]


def test_a_missing_team_folder_is_one_line_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "cockpit.toml"
    config.write_text('[runbooks]\ndir = "nowhere"\n')
    assert main(["runbook", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runbooks.dir" in err and "nowhere is not a folder" in err


def test_a_checks_runbook_its_spec_or_the_seeds_default(tmp_path: Path) -> None:
    from cockpit.config import load_config

    config = tmp_path / "cockpit.toml"
    config.write_text('[[checks]]\nid = "preflight.pg_bloat"\nrunbook = "incident"\n\n'
                      '[[checks]]\nid = "gonogo.backup_pitr"\nrunbook = ""\n')
    checks = {c.id: c for c in load_config(config).checks}
    assert runbook_for_check(checks["redteam.pitr"]) == "db-restore"  # the seed's default mapping
    assert runbook_for_check(checks["preflight.pg_bloat"]) == "incident"  # named in the spec
    assert runbook_for_check(checks["gonogo.backup_pitr"]) is None  # turned off
    assert runbook_for_check(checks["preflight.time_drift"]) is None
    for spec in checks.values():  # every runbook a check points to exists
        name = runbook_for_check(spec)
        assert name is None or load_runbook(name).text
