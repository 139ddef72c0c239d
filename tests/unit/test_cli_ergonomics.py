"""Completion, --version, Examples in --help, config discovery, init before any secret is set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.cli import COMMAND_MODULES, build_parser, main
from cockpit.cli.examples import EXAMPLES


def _cockpit(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=env if env is not None else os.environ.copy())


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_is_valid_for_its_shell(shell: str, tmp_path: Path) -> None:
    done = _cockpit(tmp_path, "completion", shell)
    assert done.returncode == 0, done.stderr
    assert "first-night" in done.stdout and "--evidence-dir" in done.stdout
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (scripts/test.sh installs it with apt)")
    script = tmp_path / f"cockpit.{shell}"
    script.write_text(done.stdout)
    checked = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def test_completion_does_not_load_the_other_commands_for_a_normal_command() -> None:
    code = ("import sys; from cockpit.cli import build_parser, modules_for; build_parser(modules_for(['ctl', 'v1.0.0', "
            "'status'])); print('shtab' in sys.modules, 'cockpit.cli.checks' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("cockpit 0.")


def test_every_command_has_examples_that_parse() -> None:
    parser = build_parser()
    commands = {c for names in COMMAND_MODULES.values() for c in names}
    assert commands <= set(EXAMPLES), f"commands without examples: {sorted(commands - set(EXAMPLES))}"
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in commands:
        help_text = subparsers.choices[command].format_help()
        assert "Examples:\n  cockpit " + command in help_text, command
    import shlex

    for command, lines in EXAMPLES.items():
        for line in lines:
            argv = shlex.split(re.split(r" >>? ", line)[0])  # a shell redirection is not the command's
            argv = argv[argv.index("cockpit") + 1:]
            args = parser.parse_args(argv)  # an unknown flag or command exits 2 here
            assert argv[0] == command and callable(args.func), line


def test_config_search_order(tmp_path: Path) -> None:
    local, user_dir, other = tmp_path / "here", tmp_path / "xdg", tmp_path / "other"
    for folder in (local, user_dir / "cockpit", other):
        folder.mkdir(parents=True)
    env = {**os.environ, "XDG_CONFIG_HOME": str(user_dir)}
    env.pop("COCKPIT_CONFIG", None)
    assert _cockpit(other, "config", "path", env=env).returncode == 2  # nothing anywhere
    (user_dir / "cockpit" / "cockpit.toml").write_text("")
    done = _cockpit(other, "config", "path", env=env)
    assert done.stdout.startswith(str(user_dir / "cockpit" / "cockpit.toml")) and "user's config directory" in done.stdout
    (local / "cockpit.toml").write_text("")
    done = _cockpit(local, "config", "path", env=env)
    assert done.stdout.startswith(str(local / "cockpit.toml")) and "current folder" in done.stdout
    done = _cockpit(local, "config", "path", env={**env, "COCKPIT_CONFIG": str(other / "x.toml")})
    assert done.stdout.startswith(str(other / "x.toml")) and "$COCKPIT_CONFIG" in done.stdout
    done = _cockpit(local, "config", "path", "--config", str(other / "y.toml"),
                    env={**env, "COCKPIT_CONFIG": str(other / "x.toml")})
    assert done.stdout.startswith(str(other / "y.toml")) and "--config" in done.stdout


def test_init_then_listing_commands_work_without_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "COCKPIT_CONFIG")}
    assert _cockpit(tmp_path, "init", env=env).returncode == 0
    artifacts = (tmp_path / "release-artifacts.txt").read_text()
    assert "sbom.cdx.json" in artifacts and all(not line.strip() or line.startswith("#") for line in artifacts.splitlines())
    for argv in (["checks"], ["config", "path"], ["export", "rules", "--out", str(tmp_path / "r.yml")]):
        done = _cockpit(tmp_path, *argv, env=env)
        assert done.returncode == 0, (argv, done.stderr)
    # A command that connects with the DSN names the key and the variable, never a traceback.
    done = _cockpit(tmp_path, "check", "preflight.pg_bloat", "--version", "v1.4.0", "--json", env=env)
    assert "postgres.dsn: environment variable PGPASSWORD is not set" in done.stdout
    assert done.returncode == 3 and "Traceback" not in done.stderr  # UNKNOWN, never PASS


def test_an_unset_secret_is_an_error_where_it_is_read(tmp_path: Path, monkeypatch) -> None:
    from cockpit.config import ConfigError, load_config

    monkeypatch.delenv("PROM_TOKEN", raising=False)
    path = tmp_path / "cockpit.toml"
    path.write_text('[prometheus]\nurl = "http://127.0.0.1:9"\nbearer_token = "${PROM_TOKEN}"\n'
                    '[service]\ncanary_url = "${CANARY_URL_UNSET}"\n')
    with pytest.raises(ConfigError, match="service.canary_url: environment variable CANARY_URL_UNSET"):
        load_config(path)  # not a secret: still an error at load
    path.write_text('[prometheus]\nurl = "http://127.0.0.1:9"\nbearer_token = "${PROM_TOKEN}"\n')
    config = load_config(path)
    assert config.redactor() is not None
    with pytest.raises(ConfigError, match=r"^.*cockpit.toml: prometheus.bearer_token: environment variable PROM_TOKEN is not set$"):
        config.prometheus.bearer_token.get_secret_value()
    monkeypatch.setenv("PROM_TOKEN", "s3cret")
    assert load_config(path).prometheus.bearer_token.get_secret_value() == "s3cret"
