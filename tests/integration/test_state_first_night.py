"""The first night with `[state] dsn` on a real PostgreSQL: its records and evidence in the database, seen from any host.

A canary promotes on host A; its first night is started on host B (a folder
with no journal: the night takes the run's lease and copies the journal and
evidence from the database); a viewer process on host C follows every record
of the run by LISTEN/NOTIFY; `cockpit watch --from-state` on host C shows the
night in tmux; `cockpit runs` lists it. The database unreachable at a night's
start is one line, exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cockpit.run.journal import read_journal, verify_journal
from tests.integration.test_state_takeover import WITHOUT_GO, _canary, _init_schema, _shifts, _wait, _write_config
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
VIEWER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cockpit.config import StateConfig
    from cockpit.redaction import Redactor
    from cockpit.run.state_mirror import JournalMirror
    mirror = JournalMirror(StateConfig(dsn=sys.argv[1], service="web"), Redactor(), sys.argv[2], Path(sys.argv[3]))
    mirror.sync()
    mirror.start()
    print("following", flush=True)
    sys.stdin.read()  # until the test closes stdin
    mirror.stop()
    print(f"notifications {mirror.notifications} error {mirror.error}", flush=True)
""")


@pytest.fixture(scope="module")
def state_dsn(postgres) -> str:
    postgres.psql("CREATE DATABASE cockpit_state_night")
    return postgres.dsn("cockpit_state_night")


def _cockpit(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def _night(config: Path, version: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cockpit", "first-night", version, "--config", str(config),
                             "--hours", "3", "--hour-length", "4s", "--every", "500ms"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_night_on_another_host_goes_to_the_database_and_a_third_host_watches_it(
        tmp_path, state_dsn, prometheus, healthy_signals):
    from cockpit.config import StateConfig
    from cockpit.run.state_store import StateStore

    version = "v10.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn, hold="1s")
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn, hold="1s")
    host_c = _write_config(tmp_path / "host-c", prometheus.url, traffic_log, state_dsn, hold="1s")
    _init_schema(host_a)
    view = tmp_path / "host-c" / "mirror" / version / "journal.jsonl"
    canary = _canary(host_a, version)
    _wait(lambda: any(w == 1 for _a, w, _p, _t in _shifts(traffic_log)), 30, "the canary's first shift")
    viewer = subprocess.Popen([sys.executable, "-c", VIEWER, state_dsn, version, str(view)], cwd=REPO,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    socket = f"cockpit-night-{os.getpid()}"
    cockpit = str(Path(sys.executable).with_name("cockpit"))

    def screen() -> str:
        return subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True,
                              timeout=10).stdout

    night = None
    try:
        assert viewer.stdout is not None and viewer.stdout.readline().strip() == "following"
        out, err = canary.communicate(timeout=60)
        assert canary.returncode == 0 and "PROMOTED" in out, out + err
        assert not (tmp_path / "host-b" / "evidence" / version).exists()  # host B has nothing of the run yet
        night = _night(host_b, version)
        _wait(lambda: any(r["event"] == "first_night_started" for r in read_journal(view).records), 30,
              "the night's first record on the viewer's host")
        command = " ".join(f"'{part}'" for part in [cockpit, "watch", version, "--from-state", "--config", str(host_c),
                                                     "--no-mouse"])
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "t", "-x", "80", "-y", "24",
                        "-c", str(tmp_path / "host-c"), f"{command}; sleep 60"], check=True, timeout=10,
                       env={**os.environ, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
        first = _wait(lambda: (lambda s: s if "FIRST NIGHT · hour" in s else None)(screen()), 30, "the watch screen")
        assert "READ-ONLY" in first and version in first
        assert not (tmp_path / "host-c" / "evidence" / version / "journal.jsonl").exists()  # no local journal here
        # the night closes an hour on host B: the watcher on host C shows it, from the database
        later = _wait(lambda: (lambda s: s if " 00 " in s and "live" in s else None)(screen()), 30,
                      "hour 00 closed on the watcher's screen")
        assert "FIRST NIGHT" in later
        live = json.loads(_cockpit("runs", "--json", "--config", str(host_c)).stdout)["runs"]
        row = next(r for r in live if r["version"] == version)
        assert row["night"] is not None and row["night"]["hours"] == 3 and row["night"]["verdict"] is None
        assert row["holder"]["pid"] == night.pid and not row["holder"]["released"]
        table = _cockpit("runs", "--config", str(host_c)).stdout
        assert any(line.startswith("web ") and version in line and "NIGHT " in line and "/3" in line
                   for line in table.splitlines()), table
        night_out, night_err = night.communicate(timeout=60)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
        for process in (canary, night):
            if process is not None and process.poll() is None:
                process.kill()
        viewer_out, viewer_err = viewer.communicate("", timeout=30)
    assert night.returncode == 0 and "first night done: STABLE, 3/3 hours" in night_out, night_out + night_err
    assert "error None" in viewer_out, viewer_out + viewer_err

    run_journal = tmp_path / "host-b" / "evidence" / version / "journal.jsonl"
    assert verify_journal(run_journal).ok
    records = read_journal(run_journal).records
    canary_records = read_journal(tmp_path / "host-a" / "evidence" / version / "journal.jsonl").records
    assert records[: len(canary_records)] == canary_records  # the night continues the canary's chain
    assert view.read_bytes() == run_journal.read_bytes()  # the viewer on host C has every record of the run
    night_records = records[len(canary_records):]
    assert [r["event"] for r in night_records if r["event"] in ("first_night_started", "first_night_done")] == [
        "first_night_started", "first_night_done"]
    assert sum(r["event"] == "hour_closed" for r in night_records) == 3
    store = StateStore(StateConfig(dsn=state_dsn, service="web")).connect()
    try:
        assert store.records(version) == records  # the database has the same chain
        kept = dict(store.evidence_files(version))
        for name in ("hourly_log_00.txt", "hourly_log_02.txt", "stability_report_3h.md"):
            assert kept[name] == (tmp_path / "host-b" / "evidence" / version / name).read_bytes(), name
        assert (tmp_path / "host-b" / "evidence" / version / "rollout_stage_1.txt").exists()  # the canary's, fetched
    finally:
        store.close()
    finished = json.loads(_cockpit("runs", "--json", "--config", str(host_a)).stdout)["runs"]
    row = next(r for r in finished if r["version"] == version)
    assert row["night"] == {"hours": 3, "closed": 3, "verdict": "stable"} and row["holder"]["released"]
    assert "NIGHT STABLE" in _cockpit("runs", "--config", str(host_a)).stdout


def test_a_night_while_the_run_is_held_or_the_database_is_unreachable_is_one_line_exit_2(
        tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v10.1.0"
    traffic_log = tmp_path / "traffic.log"
    closed = f"postgresql://cockpit:s3cr3t-pw@127.0.0.1:{free_port()}/nowhere"
    unreachable = _write_config(tmp_path / "b", prometheus.url, traffic_log, closed)
    for argv in (["first-night", version], ["watch", version, "--from-state"], ["runs"]):
        done = _cockpit(*argv, "--config", str(unreachable))
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "the state database cannot be reached" in lines[0], (argv, done.stderr)
        assert "s3cr3t-pw" not in done.stderr and "Traceback" not in done.stderr
    assert not traffic_log.exists()

    host_a = _write_config(tmp_path / "a", prometheus.url, traffic_log, state_dsn, hold="30s")
    _init_schema(host_a)
    holder = _canary(host_a, version)
    try:
        _wait(lambda: _shifts(traffic_log), 30, "the holder's first shift")
        refused = _cockpit("first-night", version, "--config", str(host_a))
        nothing = _cockpit("watch", "v10.9.9", "--from-state", "--config", str(host_a))
    finally:
        holder.kill()
        holder.wait(10)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "is held by host" in refused.stderr and f"cockpit watch {version} --from-state" in refused.stderr
    assert nothing.returncode == 2 and "nothing to watch" in nothing.stderr, nothing.stderr


def test_two_controllers_started_at_once_one_holds_the_other_is_refused(tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v10.2.0"
    traffic_log = tmp_path / "traffic.log"
    hosts = [_write_config(tmp_path / f"host-{n}", prometheus.url, traffic_log, state_dsn, hold="30s") for n in "ab"]
    _init_schema(hosts[0])
    both = [subprocess.Popen([sys.executable, "-m", "cockpit", "canary", version, "--config", str(h), "--headless",
                              *WITHOUT_GO], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for h in hosts]
    try:
        refused = _wait(lambda: next((p for p in both if p.poll() is not None), None), 30, "one of them to stop")
        holder = next(p for p in both if p is not refused)
        _wait(lambda: _shifts(traffic_log), 30, "the holder's first shift")
        assert holder.poll() is None
    finally:
        for process in both:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    _out, err = refused.communicate(timeout=10)
    assert refused.returncode == 2 and "is held by host" in err and len(err.strip().splitlines()) == 1, err
    assert {pid for _a, _w, pid, _t in _shifts(traffic_log)} == {holder.pid}  # only the holder moved traffic


def test_a_canary_that_goes_on_into_its_night_keeps_its_lease_and_sends_the_night_too(
        tmp_path, state_dsn, prometheus, healthy_signals):
    from cockpit.config import StateConfig
    from cockpit.run.state_store import StateStore

    version = "v10.3.0"
    traffic_log = tmp_path / "traffic.log"
    config = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn, hold="1s")
    config.write_text(config.read_text() + '\n[first_night]\nstart = "auto"\nhours = 2\nhour_length = "2s"\n')
    _init_schema(config)
    run = _canary(config, version)
    out, err = run.communicate(timeout=90)
    assert run.returncode == 0 and "first night done: STABLE, 2/2 hours" in out, out + err
    journal = tmp_path / "host-a" / "evidence" / version / "journal.jsonl"
    assert verify_journal(journal).ok
    records = read_journal(journal).records
    events = [r["event"] for r in records]
    assert "canary_done" in events and events[-1] == "first_night_done"
    store = StateStore(StateConfig(dsn=state_dsn, service="web")).connect()
    try:
        assert store.records(version) == records  # the night's records too, in the same chain
        lease = store.lease(version)
        assert lease is not None and lease.token == 1 and lease.released  # one lease from T-0 to the night's end
        assert "hourly_log_01.txt" in store.evidence_manifest(version)
    finally:
        store.close()
