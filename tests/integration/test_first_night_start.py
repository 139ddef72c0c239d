"""The first night against the real Prometheus: started by the canary itself, and a blind night's exit code.

- `[first_night] start = "auto"`: a detached `cockpit canary` that promotes goes on into the first night
  in the same process (same pid, the run lock held throughout), journals the hand-over, and registers the
  night so `cockpit watch` finds it.
- A night whose metrics never exist in Prometheus is UNKNOWN: `cockpit first-night` exits 3, and the
  stability report says the night was blind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.run.journal import read_journal, verify_journal
from tests.exporter import JOB
from tests.release_journal import promoted_journal

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_COLOR": "1"}


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return True
    return state == "Z"


def test_a_night_whose_metrics_never_exist_exits_3_unknown(tmp_path: Path, prometheus) -> None:
    version = "v5.0.0"
    promoted_journal(tmp_path / "evidence", version, t0=time.time() - 600)
    query = 'max(cockpit_never_exported_metric{case="blind_night",{selector}})'
    (tmp_path / "night_playbook.toml").write_text(
        f"[signals.p95_latency]\nquery = '{query}'\nunit = \"s\"\nmax = 0.2\n\n"
        f"[signals.error_rate]\nquery = '{query}'\nunit = \"ratio\"\nmax = 0.01\n"
    )
    (tmp_path / "cockpit.toml").write_text(
        f'[playbook]\nfile = "night_playbook.toml"\n[prometheus]\nurl = "{prometheus.url}"\ntimeout = "2s"\n'
        f'[evidence]\ndir = "evidence"\n[canary]\nselector = \'job="{JOB}"\'\nmin_requests = 0\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "cockpit", "first-night", version, "--hours", "2", "--hour-length", "2s", "--every", "500ms"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=ENV,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "first night done: UNKNOWN, 2/2 hours (blind: more than half of its closed hours were blind" in result.stderr
    report = (tmp_path / "evidence" / version / "stability_report_2h.md").read_text()
    assert "**Verdict: UNKNOWN**" in report and "The night was blind: 2 of 2 closed hours" in report
    done = [r for r in read_journal(tmp_path / "evidence" / version / "journal.jsonl").records
            if r["event"] == "first_night_done"]
    assert done[0]["verdict"] == "unknown"


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def test_a_detached_canary_goes_on_into_its_first_night_by_itself(tmp_path: Path, prometheus, exporter) -> None:
    exporter.value.labels(case="handover_p95").set(0.120)
    prometheus.wait_for_data('cockpit_test_value{case="handover_p95"}')
    version = "v5.1.0"
    traffic_log = tmp_path / "traffic.log"
    shift = [sys.executable, "-c", f"import sys; open({str(traffic_log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')",
             "{action}", "{weight}", "{version}", "{stage}"]
    (tmp_path / "empty_playbook.toml").write_text("# the test brings its own signal\n")
    config = tmp_path / "cockpit.toml"
    config.write_text(f"""
[playbook]
file = "empty_playbook.toml"
[prometheus]
url = "{prometheus.url}"
timeout = "2s"
[evidence]
dir = "evidence"
[canary]
evaluate_every = "0.5s"
window = "30s"
min_window = "100ms"  # one-second stages: judge from the first tenth of a second of the run's own data
min_requests = 0
stages = [{{weight = 50, hold = "1s"}}, {{weight = 100, hold = "1s"}}]
[signals.p95]
short = "p95"
query = 'max(cockpit_test_value{{case="handover_p95"}})'
unit = "s"
max = 0.2
[traffic]
set_weight = {_toml_list(shift)}
[first_night]
start = "auto"
hours = 2
hour_length = "3s"
""")
    run_dir = tmp_path / "evidence" / version
    base = [sys.executable, "-m", "cockpit"]
    started = subprocess.run([*base, "canary", version, "--config", str(config), "--detach",
                              "--without-go", "--reason", "test of the hand-over", "--by", "TS"],
                             cwd=REPO, capture_output=True, text=True, timeout=30, env=ENV)
    assert started.returncode == 0, started.stdout + started.stderr
    pid = int(started.stdout.split("pid ", 1)[1].split()[0])
    try:
        def night_started() -> bool:
            records = read_journal(run_dir / "journal.jsonl").records
            return any(r["event"] == "first_night_started" for r in records)

        _wait(night_started, 30, "the canary to promote and hand over to the first night")
        # The same process holds the run lock through the night: a second night is refused, naming it.
        second = subprocess.run([*base, "first-night", version, "--config", str(config)],
                                cwd=REPO, capture_output=True, text=True, timeout=30, env=ENV)
        assert second.returncode == 2 and f"pid {pid}" in second.stderr, second.stderr
        # The night is registered where `cockpit watch` looks for it.
        from cockpit.run.live_runs import find_live_run

        live = find_live_run(version, "first-night")
        assert live is not None and live.pid == pid
        _wait(lambda: _gone(pid), 40, "the detached run to finish its night")
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
    records = read_journal(run_dir / "journal.jsonl").records
    assert verify_journal(run_dir / "journal.jsonl").ok
    events = [r["event"] for r in records]
    done = events.index("canary_done")
    assert records[done]["result"] == "promoted"
    handover = records[events.index("first_night_started")]
    assert handover["seq"] > records[done]["seq"] and handover["start"] == "auto" and handover["pid"] == pid
    assert handover["hours"] == 2 and handover["hour_length"] == 3.0
    assert events[-1] == "first_night_done" and records[-1]["verdict"] == "stable"
    log = (run_dir / f"canary_{version}.log").read_text()
    assert "PROMOTED" in log and "hand-over: the canary promoted" in log and "first night done: STABLE, 2/2 hours" in log
    assert (run_dir / "stability_report_2h.md").is_file()
