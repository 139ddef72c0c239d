"""`cockpit canary` / `cockpit ctl` bad input: exit 2 and one clear line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.cli import main

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "empty.toml").write_text("")
    path = tmp_path / "cockpit.toml"
    path.write_text('[playbook]\nfile = "empty.toml"\n[prometheus]\nurl = "http://127.0.0.1:9"\n'
                    '[signals.p95]\nquery = "q"\nunit = "s"\nmax = 0.2\n' + body)
    return path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["canary", "1.4", "--headless"], "version '1.4' is not a release version"),
        (["canary", "v1.4.0/../x", "--headless"], "is not a release version"),
        (["ctl", "latest", "status"], "is not a release version"),
    ],
)
def test_bad_version(tmp_path, capsys, argv, expected):
    config = _config(tmp_path, '[traffic]\nset_weight = ["true"]\n')
    assert main([*argv, "--config", str(config)]) == 2
    assert expected in _one_line(capsys)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[canary]\nstagez = 1\n", "canary.stagez: unknown key"),
        ("[canary]\nstages = [{weight = 50, hold = \"1m\"}, {weight = 5, hold = \"1m\"}]\n", "stage weights must strictly increase"),
        ("[traffic]\nset_weight = [\"true\", \"{ingress}\", \"{weight}\"]\n", "traffic.set_weight[1]: unknown placeholder {ingress}"),
        ("[traffic]\nset_weight = [\"/no/such/kubectl\", \"{weight}\"]\n", "command '/no/such/kubectl' is not found"),
        ("[traffic]\nwebhook = \"ftp://x\"\n", "traffic.webhook"),
        ("", "no [traffic] configured"),
        ("[canary]\nevaluate_every = \"soon\"\n", "canary.evaluate_every"),
    ],
)
def test_bad_config(tmp_path, capsys, body, expected):
    config = _config(tmp_path, body)
    assert main(["canary", "v1.4.0", "--config", str(config), "--headless"]) == 2
    assert expected in _one_line(capsys)


def test_missing_config_file(tmp_path, capsys):
    assert main(["canary", "v1.4.0", "--config", str(tmp_path / "nope.toml"), "--headless"]) == 2
    assert "file not found" in _one_line(capsys)


def test_detach_cannot_stream_events_to_a_terminal(tmp_path, capsys):
    config = _config(tmp_path, '[traffic]\nset_weight = ["true"]\n')
    assert main(["canary", "v1.4.0", "--config", str(config), "--detach", "--events", "-"]) == 2
    assert "--events - cannot go with --detach" in _one_line(capsys)


def test_ctl_without_a_live_run_and_without_a_reason(tmp_path, capsys):
    config = _config(tmp_path, '[traffic]\nset_weight = ["true"]\n')
    assert main(["ctl", "v1.4.0", "status", "--config", str(config)]) == 3
    assert "no live run" in _one_line(capsys)
    assert main(["ctl", "v1.4.0", "rollback", "--config", str(config)]) == 2
    assert "rollback needs --reason" in _one_line(capsys)
    assert main(["ctl", "v1.4.0", "note", "--config", str(config)]) == 2
    assert "a note needs text" in _one_line(capsys)


def test_a_real_process_says_one_line_too(tmp_path):
    config = _config(tmp_path, "[canary]\nstagez = 1\n")
    result = subprocess.run([sys.executable, "-m", "cockpit", "canary", "v1.4.0", "--config", str(config), "--headless"],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.strip().endswith("canary.stagez: unknown key")
    assert result.stderr.count("\n") == 1
