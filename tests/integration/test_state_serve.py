"""`cockpit serve VERSION --from-state` on a real PostgreSQL: a canary gets the attach screen, a first night watch.

The runs are written into the state database the way a controller writes them
(a lease, then fenced commits of real journal records); the page textual-serve
serves names the command it will run on its splash, read over HTTP here (the
screens themselves are driven in a browser by tests/integration/test_serve_browser.py).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cockpit.run.journal import line_of
from tests.release_journal import JournalWriter, promoted_journal
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "s3rve-pw"  # trust authentication ignores it; it must still never reach a page or a line


@pytest.fixture(scope="module")
def state_dsn(postgres) -> str:
    postgres.psql("CREATE DATABASE cockpit_state_serve")
    return postgres.dsn("cockpit_state_serve", password=PASSWORD)


def _config(root: Path, dsn: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "empty_playbook.toml").write_text("# nothing: serve reads the state database only\n")
    path = root / "cockpit.toml"
    path.write_text(f'[playbook]\nfile = "empty_playbook.toml"\n\n[evidence]\ndir = "evidence"\n\n'
                    f'[state]\ndsn = "{dsn}"\nservice = "web"\n')
    return path


def _keep_in_state(dsn: str, version: str, records: list[dict]) -> None:
    """The records committed as a controller commits them: under a lease it holds, fenced."""
    from cockpit.config import StateConfig
    from cockpit.run.state_store import StateStore

    store = StateStore(StateConfig(dsn=dsn, service="web")).connect()
    try:
        store.init_schema()
        token, _previous = store.try_acquire(version, "test-writer", "test-host", 1)
        assert token is not None
        for record in records:
            store.commit(version, record, line_of(record).decode().rstrip("\n"), token)
        store.release(version, token)
    finally:
        store.close()


def _run(evidence: Path, version: str, *, night: bool) -> list[dict]:
    done_at = promoted_journal(evidence, version)
    if night:
        writer = JournalWriter(evidence, version, done_at + 60)
        writer.add("first_night_started", version=version, hours=24, hour_length=3600.0, evaluate_every=15.0,
                   selector="", stage=5, weight=100.0, resumed=False, closed_hours=[], traffic=None)
        writer.close()
    from cockpit.run.journal import read_journal

    return read_journal(evidence / version / "journal.jsonl").records


@pytest.fixture(scope="module")
def runs(state_dsn, tmp_path_factory) -> dict[str, str]:
    """Two runs in the state database: a canary (promoted, no night) and one whose first night started."""
    evidence = tmp_path_factory.mktemp("serve-state-evidence")
    versions = {"canary": "v13.0.0", "first-night": "v13.1.0"}
    for kind, version in versions.items():
        _keep_in_state(state_dsn, version, _run(evidence, version, night=kind == "first-night"))
    return versions


def test_the_state_database_says_which_screen_fits_the_run(tmp_path, state_dsn, runs) -> None:
    from cockpit.cli.serve import served_screen
    from cockpit.config import ConfigError

    config = _config(tmp_path, state_dsn)
    assert served_screen(config, runs["canary"]) == "attach"
    assert served_screen(config, runs["first-night"]) == "watch"
    with pytest.raises(ConfigError, match="no run web/v13.9.9 in the state database: nothing to serve"):
        served_screen(config, "v13.9.9")


def _splash(port: int, process: subprocess.Popen[str], seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                return page.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"cockpit serve did not answer on {port} within {seconds:g}s")


@pytest.mark.parametrize("kind, screen", [("canary", "attach"), ("first-night", "watch")])
def test_serve_from_state_serves_the_screen_of_the_runs_kind(tmp_path, state_dsn, runs, kind, screen) -> None:
    pytest.importorskip("textual_serve", reason="the [web] extra is not installed (scripts/test.sh installs it)")
    config = _config(tmp_path, state_dsn)
    version, port = runs[kind], free_port()
    server = subprocess.Popen([sys.executable, "-m", "cockpit", "serve", version, "--from-state", "--config",
                               str(config), "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        page = _splash(port, server)
    finally:
        server.terminate()
        said = server.communicate(timeout=10)[0]
    assert f"cockpit {screen} {version} (read-only)" in page, page  # the splash names the screen it runs
    other = {"attach": "watch", "watch": "attach"}[screen]
    assert f"cockpit {other} {version}" not in page
    assert f"serving the read-only {screen} screen" in said.splitlines()[0], said
    assert PASSWORD not in page and PASSWORD not in said


@pytest.mark.parametrize("kind, screen", [("canary", "attach"), ("first-night", "watch")])
def test_the_command_textual_serve_is_given_is_the_screen_of_the_runs_kind(
        tmp_path, state_dsn, runs, kind, screen, monkeypatch) -> None:
    """The real Server built by `cockpit serve`, its blocking loop kept from starting: the command line it would run."""
    server = pytest.importorskip("textual_serve.server", reason="the [web] extra is not installed")
    from cockpit.cli import main

    given: list[str] = []
    monkeypatch.setattr(server.Server, "serve", lambda self, *a, **k: given.append(self.command))
    config = _config(tmp_path, state_dsn)
    assert main(["serve", runs[kind], "--from-state", "--config", str(config), "--port", str(free_port())]) == 0
    (command,) = given
    assert shlex.split(command) == [sys.executable, "-m", "cockpit", screen, runs[kind], "--no-mouse", "--from-state",
                                    "--config", str(config.resolve())]
    assert PASSWORD not in command


def test_serve_from_state_of_a_run_the_database_lacks_is_one_line_exit_2(tmp_path, state_dsn, runs) -> None:
    pytest.importorskip("textual_serve", reason="the [web] extra is not installed (scripts/test.sh installs it)")
    done = subprocess.run([sys.executable, "-m", "cockpit", "serve", "v13.9.9", "--from-state", "--config",
                           str(_config(tmp_path, state_dsn)), "--port", str(free_port())], cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "cockpit: no run web/v13.9.9 in the state database: nothing to serve"], done.stderr
    assert PASSWORD not in done.stderr and not done.stdout
