"""A live canary registers itself in the user's runtime directory: `cockpit ctl` finds it from another folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cockpit.run.live_runs import LiveRun, find_live_run, register_run, runtime_dir

# A signal the real Prometheus answers (the probe before the start asks it once); evaluate_every 1h keeps the
# run sitting in stage 1 while ctl asks it.
CONFIG = ('[playbook]\nfile = "empty.toml"\n[prometheus]\nurl = "{url}"\ntimeout = "1s"\n'
          '[signals.p95]\nquery = "vector(0.1)"\nunit = "s"\nmax = 0.2\n'
          '[canary]\nevaluate_every = "1h"\nblind_action = "hold"\n'
          'stages = [ {weight = 1, hold = "1h"}, {weight = 100, hold = "1h"} ]\n')


def _cockpit(cwd: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def test_ctl_finds_a_detached_canary_from_another_folder(tmp_path: Path, prometheus: Any) -> None:
    here, elsewhere = tmp_path / "release", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    (here / "empty.toml").write_text("")
    (here / "cockpit.toml").write_text(CONFIG.replace("{url}", prometheus.url))
    started = _cockpit(here, "canary", "v9.1.0", "--detach", "--dry-traffic",
                       "--without-go", "--reason", "test", "--by", "TS")  # no GO here: the run registry is the point
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout.split("pid ")[1].split()[0])
    try:
        deadline = time.monotonic() + 20
        while find_live_run("v9.1.0", "canary") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        run = find_live_run("v9.1.0", "canary")
        assert run is not None and run.pid == pid and run.config == str((here / "cockpit.toml").resolve())
        status = _cockpit(elsewhere, "ctl", "v9.1.0", "status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith("v9.1.0 stage 1/2") and f"pid {pid}" in status.stdout
        os.kill(pid, 15)  # SIGTERM: the run stops where its journal says, and removes its entry on the way out
        deadline = time.monotonic() + 30
        while find_live_run("v9.1.0") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert find_live_run("v9.1.0") is None  # the run removed its entry when it ended
        assert not list(runtime_dir().glob(f"canary_v9.1.0_{pid}.json"))
    finally:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass


def test_a_dead_runs_entry_is_ignored_and_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = register_run(LiveRun("canary", "v9.2.0", dead.pid, str(tmp_path), str(tmp_path / "v9.2.0"),
                                str(tmp_path / "v9.2.0" / "control.sock"), None))
    assert path is not None and json.loads(path.read_text())["pid"] == dead.pid
    assert find_live_run("v9.2.0") is None
    assert not path.exists()


def test_ctl_without_config_or_live_run_says_so(tmp_path: Path) -> None:
    done = _cockpit(tmp_path, "ctl", "v9.3.0", "status")
    assert done.returncode == 2
    assert "cannot find a live run of v9.3.0" in done.stderr and done.stderr.count("\n") == 1
