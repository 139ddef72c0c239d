"""A real `cockpit canary` process: SIGKILLed mid-stage and resumed; detached and commanded by `cockpit ctl`.

The signals come from the session's real Prometheus scraping a prometheus_client
exporter (healthy values); the traffic command is a real program appending to a
file, so a second shift for the same stage would show as a second line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cockpit.run.journal import read_journal, verify_journal

VERSION = "v3.0.0"
# These runs are about resuming, not about GO: they start on record without it.
WITHOUT_GO = ("--without-go", "--reason", "test", "--by", "TS")
REPO = Path(__file__).resolve().parents[2]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _write_config(root: Path, prometheus_url: str, traffic_log: Path, hold: str = "3s") -> Path:
    (root / "empty_playbook.toml").write_text("# no checks, signals or triggers: the test brings its own\n")
    shift = [sys.executable, "-c", f"import sys; open({str(traffic_log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')",
             "{action}", "{weight}", "{version}", "{stage}"]
    config = root / "cockpit.toml"
    config.write_text(
        f"""
[playbook]
file = "empty_playbook.toml"

[prometheus]
url = "{prometheus_url}"
timeout = "2s"

[evidence]
dir = "evidence"

[canary]
evaluate_every = "0.5s"
window = "30s"
min_window = "100ms"  # its signals are gauges read without a range: no window to wait for
recovery_window = "2s"
stages = [{{weight = 10, hold = "{hold}"}}, {{weight = 50, hold = "{hold}"}}, {{weight = 100, hold = "{hold}"}}]

[signals.p95]
short = "p95"
query = 'max(cockpit_test_value{{case="resume_p95"}})'
unit = "s"
max = 0.2

[signals.errors]
short = "5xx"
query = 'max(cockpit_test_value{{case="resume_errors"}})'
unit = "ratio"
max = 0.01

[traffic]
set_weight = {_toml_list(shift)}
retries = 1
backoff = "0.2s"
"""
    )
    return config


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


def test_sigkill_mid_stage_then_the_same_command_resumes_the_same_run(tmp_path, prometheus, exporter):
    exporter.value.labels(case="resume_p95").set(0.120)
    exporter.value.labels(case="resume_errors").set(0.001)
    prometheus.wait_for_data('cockpit_test_value{case="resume_errors"}')
    traffic_log = tmp_path / "traffic.log"
    config = _write_config(tmp_path, prometheus.url, traffic_log)
    run_dir = tmp_path / "evidence" / VERSION
    journal_path = run_dir / "journal.jsonl"
    events_path = tmp_path / "events.jsonl"
    command = [sys.executable, "-m", "cockpit", "canary", VERSION, "--config", str(config), "--headless",
               "--events", str(events_path), *WITHOUT_GO]

    def records() -> list[dict]:
        return read_journal(journal_path).records

    first = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: any(r["event"] == "sample" and r.get("stage") == 2 for r in records()), 30, "a sample in stage 2")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    before = records()
    stage2 = [r for r in before if r["event"] == "stage_started" and r["stage"] == 2]
    assert len(stage2) == 1 and before[-1]["event"] != "canary_done"
    killed_at = time.time()

    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resumed from the journal at stage 2" in second.stderr
    assert f"{VERSION}: PROMOTED" in second.stdout

    after = records()
    assert verify_journal(journal_path).ok
    assert [r["seq"] for r in after] == list(range(1, len(after) + 1))  # contiguous: nothing lost, nothing repeated
    assert after[: len(before)] == before
    resumed = [r for r in after if r["event"] == "run_started" and r.get("resumed")]
    assert len(resumed) == 1 and resumed[0]["stage"] == 2 and resumed[0]["pid"] != before[0]["pid"]
    # the same stage 2, its end unchanged: the elapsed time was kept
    assert [r for r in after if r["event"] == "stage_started" and r["stage"] == 2] == stage2
    passed2 = next(r for r in after if r["event"] == "stage_passed" and r["stage"] == 2)
    assert stage2[0]["ends_at"] <= passed2["ts"] < killed_at + 3.0  # a restarted stage would need 3 s more
    # exactly one traffic shift per stage, in the journal and at the traffic system
    ok_shifts = [r["stage"] for r in after if r["event"] == "traffic_shifted" and r["ok"]]
    assert ok_shifts == [1, 2, 3]
    assert traffic_log.read_text().splitlines() == [f"shift {w} {VERSION} {s}" for s, w in ((1, 10), (2, 50), (3, 100))]
    assert after[-1]["event"] == "canary_done" and after[-1]["result"] == "promoted"
    # the --events stream: every record at most once, in order
    streamed = [json.loads(line)["seq"] for line in events_path.read_text().splitlines()]
    assert streamed == sorted(set(streamed)) and streamed[-1] == after[-1]["seq"]
    # the war-room log is the journal's warroom lines, none doubled by the restart
    warroom = (run_dir / "warroom_log.txt").read_text().splitlines()
    assert warroom == [r["line"] for r in after if r["event"] == "warroom"]
    assert any("p95=120ms 5xx=0.1%" in line for line in warroom)

    third = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=30)
    assert third.returncode == 0 and "already finished: PROMOTED" in third.stdout
    assert len(records()) == len(after)  # a finished run is not run again
    print(f"\nresumed {time.time() - killed_at:.1f}s after SIGKILL; {len(after)} records, one shift per stage")


def _process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie has finished; whoever adopted it reaps it


def test_detached_run_survives_its_terminal_and_takes_commands(tmp_path, prometheus, exporter):
    exporter.value.labels(case="resume_p95").set(0.120)
    exporter.value.labels(case="resume_errors").set(0.001)
    prometheus.wait_for_data('cockpit_test_value{case="resume_errors"}')
    version = "v4.0.0"
    traffic_log = tmp_path / "traffic.log"
    config = _write_config(tmp_path, prometheus.url, traffic_log, hold="10m")
    run_dir = tmp_path / "evidence" / version
    base = [sys.executable, "-m", "cockpit"]

    started = subprocess.run([*base, "canary", version, "--config", str(config), "--detach", *WITHOUT_GO],
                             cwd=REPO, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stdout + started.stderr
    pid = int(started.stdout.split("pid ", 1)[1].split()[0])
    assert f"socket  {run_dir / 'control.sock'}" in started.stdout and "not answering" not in started.stdout
    try:
        assert os.getsid(pid) == pid  # its own session: the terminal going away does not reach it
        status = subprocess.run([*base, "ctl", version, "status", "--config", str(config)],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
        assert status.returncode == 0 and f"{version} stage 1/3 (10%)" in status.stdout, status.stderr
        again = subprocess.run([*base, "canary", version, "--config", str(config), "--headless"],
                               cwd=REPO, capture_output=True, text=True, timeout=30)
        assert again.returncode == 2 and "already live" in again.stderr  # one process per run

        rollback = subprocess.run([*base, "ctl", version, "rollback", "--reason", "drill: abort", "--config", str(config)],
                                  cwd=REPO, capture_output=True, text=True, timeout=60)
        assert rollback.returncode == 0 and "rollback done" in rollback.stdout, rollback.stderr
        _wait(lambda: _process_gone(pid), 30, "the detached run to end")
    finally:
        if not _process_gone(pid):
            os.kill(pid, signal.SIGKILL)
    records = read_journal(run_dir / "journal.jsonl").records
    assert records[-1]["event"] == "canary_done" and records[-1]["result"] == "rolled_back"
    assert traffic_log.read_text().splitlines() == [f"shift 10 {version} 1", f"rollback 0 {version} 1"]
    log = (run_dir / f"canary_{version}.log").read_text()
    assert "ROLLED BACK at stage 1 (10%)" in log and "manual rollback" in log
