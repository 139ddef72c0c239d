"""Run state in a real PostgreSQL: two controllers as two real processes, each with its own evidence folder (two "hosts").

The signals come from the session's Prometheus scraping the test exporter
(healthy values). The traffic command is a real program that appends the
weight, the time and its parent's pid (the controller that moved it) to one
file both controllers share, like the one traffic system both hosts drive, so
a weight shifted twice or by the wrong controller shows there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.run.journal import read_journal, verify_journal
from tests.services import Postgres, free_port, running, temp_root

REPO = Path(__file__).resolve().parents[2]
WITHOUT_GO = ("--without-go", "--reason", "test", "--by", "TS")
WEIGHTS = [1, 5, 25, 50, 100]
TTL = 3.0
EVALUATE = 0.5
HOLD = "2s"
TAKEOVERS: list[tuple[float, float]] = []  # (kill → lease taken, kill → the standby's next shift), seconds


@pytest.fixture(scope="module")
def state_dsn(postgres) -> str:
    """A database of this module's own in the session's PostgreSQL, with the schema made by `cockpit state init`."""
    postgres.psql("CREATE DATABASE cockpit_state_takeover")
    return postgres.dsn("cockpit_state_takeover")


@pytest.fixture(scope="module", autouse=True)
def _report_takeovers():
    yield
    if TAKEOVERS:
        taken, shifted = [t for t, _s in TAKEOVERS], [s for _t, s in TAKEOVERS]
        print(f"\nover {len(TAKEOVERS)} run(s) (lease_ttl {TTL:g}s, renew_every 0.5s, evaluate_every {EVALUATE:g}s): "
              f"SIGKILL → lease taken median {statistics.median(taken):.2f}s max {max(taken):.2f}s; "
              f"SIGKILL → the standby's next shift median {statistics.median(shifted):.2f}s max {max(shifted):.2f}s")


def _write_config(root: Path, prometheus_url: str, traffic_log: Path, dsn: str, hold: str = HOLD) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "empty_playbook.toml").write_text("# no checks, signals or triggers: the test brings its own\n")
    shift = [sys.executable, "-c",
             "import os, sys, time; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + f' {os.getppid()} {time.time()}\\n')",
             str(traffic_log), "{action}", "{weight}", "{version}"]
    stages = ", ".join(f'{{weight = {w}, hold = "{hold}"}}' for w in WEIGHTS)
    config = root / "cockpit.toml"
    config.write_text(f"""
[playbook]
file = "empty_playbook.toml"

[prometheus]
url = "{prometheus_url}"
timeout = "2s"

[evidence]
dir = "evidence"

[state]
dsn = "{dsn}"
service = "web"
lease_ttl = "{TTL:g}s"
renew_every = "0.5s"

[canary]
evaluate_every = "{EVALUATE:g}s"
window = "30s"
min_window = "100ms"
recovery_window = "1s"
stages = [{stages}]

[signals.p95]
short = "p95"
query = 'max(cockpit_test_value{{case="state_p95"}})'
unit = "s"
max = 0.2

[traffic]
set_weight = {json.dumps(shift)}
retries = 1
backoff = "0.2s"
""")
    return config


def _canary(config: Path, version: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cockpit", "canary", version, "--config", str(config), "--headless",
                             *WITHOUT_GO, *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _shifts(traffic_log: Path) -> list[tuple[str, int, int, float]]:
    """(action, weight, controller pid, time) per traffic command run."""
    if not traffic_log.exists():
        return []
    rows = []
    for line in traffic_log.read_text().splitlines():
        action, weight, _version, pid, at = line.split()
        rows.append((action, int(float(weight)), int(pid), float(at)))
    return rows


def _stage_started(host: Path, version: str, stage: int) -> bool:
    records = read_journal(host / "evidence" / version / "journal.jsonl").records
    return any(r["event"] == "stage_started" and r["stage"] == stage for r in records)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


def _init_schema(config: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cockpit", "state", "init", "--config", str(config)],
                          cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "cockpit schema ready" in done.stdout


def test_state_init_is_idempotent_and_an_unreachable_database_stops_the_start(tmp_path, state_dsn, prometheus):
    traffic_log = tmp_path / "traffic.log"
    config = _write_config(tmp_path / "a", prometheus.url, traffic_log, state_dsn)
    _init_schema(config)
    _init_schema(config)  # again: nothing changes, nothing fails

    closed = f"postgresql://cockpit:s3cr3t-pw@127.0.0.1:{free_port()}/nowhere"
    unreachable = _write_config(tmp_path / "b", prometheus.url, traffic_log, closed)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "cockpit", "canary", "v9.0.0", "--config", str(unreachable),
                          "--headless", *WITHOUT_GO], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cockpit: state.dsn: the state database cannot be reached"), run.stderr
    assert "s3cr3t-pw" not in run.stderr and "Traceback" not in run.stderr
    assert not traffic_log.exists()  # nothing shifted
    assert time.monotonic() - started < 15

    # the database "postgres" has no cockpit schema: one line that says what to run, nothing shifted
    bare = _write_config(tmp_path / "c", prometheus.url, traffic_log, state_dsn.rsplit("/", 1)[0] + "/postgres")
    run = subprocess.run([sys.executable, "-m", "cockpit", "canary", "v9.0.0", "--config", str(bare),
                          "--headless", *WITHOUT_GO], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "run `cockpit state init` first" in run.stderr, run.stderr
    assert not traffic_log.exists()


# COCKPIT_TAKEOVER_RUNS=10 repeats it for the takeover figures (median, max) printed at the module's end.
@pytest.mark.parametrize("run", range(int(os.environ.get("COCKPIT_TAKEOVER_RUNS", "1"))))
def test_sigkill_of_the_holder_at_25_percent_the_standby_takes_over_and_shifts_each_weight_once(
        tmp_path, state_dsn, prometheus, healthy_signals, run):
    version = f"v1.0.{run}"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn)
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn)
    _init_schema(host_a)
    holder = _canary(host_a, version)
    try:
        _wait(lambda: any(w == 1 for _a, w, _p, _t in _shifts(traffic_log)), 30, "the holder's first shift")
        standby = _canary(host_b, version, "--standby")
        # At 25 %: its shift journaled (a kill between the command and its record shifts again on resume,
        # as without [state]: the resume rules are today's).
        _wait(lambda: _stage_started(tmp_path / "host-a", version, 3), 30, "stage 3 (25%) started")
        holder.send_signal(signal.SIGKILL)
        killed_at = time.time()
        holder.wait(10)
        out, err = standby.communicate(timeout=90)
    finally:
        for process in (holder,):
            if process.poll() is None:
                process.kill()
    assert standby.returncode == 0, out + err
    assert "PROMOTED" in out
    assert "TAKEN OVER by host" in err and "lease lapsed" in err

    shifts = _shifts(traffic_log)
    assert [w for a, w, _p, _t in shifts if a == "shift"] == WEIGHTS  # each weight shifted once
    by_holder = [w for _a, w, p, _t in shifts if p == holder.pid]
    by_standby = [w for _a, w, p, _t in shifts if p == standby.pid]
    assert by_holder == [1, 5, 25] and by_standby == [50, 100]
    next_shift = next(t for _a, w, _p, t in shifts if w == 50)
    takeover = next_shift - killed_at
    assert takeover <= TTL + EVALUATE + 1.5, f"the standby shifted {takeover:.2f}s after the kill"

    # The standby's journal is the run's: the holder's records, then its own, one chain; the lease taken on record.
    journal_b = tmp_path / "host-b" / "evidence" / version / "journal.jsonl"
    assert verify_journal(journal_b).ok
    records = read_journal(journal_b).records
    holder_records = read_journal(tmp_path / "host-a" / "evidence" / version / "journal.jsonl").records
    assert records[: len(holder_records)] == holder_records  # nothing the holder journaled was lost
    taken = [r for r in records if r["event"] == "lease_taken"]
    assert len(taken) == 1 and taken[0]["previous_pid"] == holder.pid and taken[0]["token"] == taken[0]["previous_token"] + 1
    assert taken[0]["stage"] == 3
    TAKEOVERS.append((taken[0]["ts"] - killed_at, takeover))
    fenced = [r for r in records if r["event"] == "traffic_fenced"]
    assert [(r["weight"], r["token"]) for r in fenced] == [(1, 1), (5, 1), (25, 1), (50, 2), (100, 2)]
    warroom = (tmp_path / "host-b" / "evidence" / version / "warroom_log.txt").read_text()
    assert "TAKEN OVER by host" in warroom
    # the holder's evidence of the stages before it died, sent as written, is in the standby's folder
    for name in ("rollout_stage_1.txt", "summary_stage_1.txt", "rollout_stage_5.txt"):
        held = tmp_path / "host-a" / "evidence" / version / name
        assert (tmp_path / "host-b" / "evidence" / version / name).read_bytes() == held.read_bytes(), name
    # the database holds the same chain, and the evidence of the run
    from cockpit.config import StateConfig
    from cockpit.run.state_store import StateStore

    store = StateStore(StateConfig(dsn=state_dsn, service="web")).connect()
    try:
        assert store.records(version) == records
        kept = store.evidence_manifest(version)
        assert "journal.jsonl" in kept and "warroom_log.txt" in kept and "manifest.sha256" in kept
    finally:
        store.close()


def test_sigstop_past_the_ttl_then_sigcont_the_old_holder_moves_no_traffic(
        tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v2.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn)
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn)
    _init_schema(host_a)
    holder = _canary(host_a, version)
    standby = None
    try:
        _wait(lambda: any(w == 5 for _a, w, _p, _t in _shifts(traffic_log)), 30, "the shift to 5%")
        standby = _canary(host_b, version, "--standby")
        time.sleep(0.5)
        holder.send_signal(signal.SIGSTOP)
        stopped_at = time.time()
        _wait(lambda: any(p != holder.pid for _a, _w, p, _t in _shifts(traffic_log)), 30, "the standby's first shift")
        holder.send_signal(signal.SIGCONT)
        continued_at = time.time()
        out_a, err_a = holder.communicate(timeout=30)
        out_b, err_b = standby.communicate(timeout=90)
    finally:
        for process in (holder, standby):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
    assert holder.returncode == 4, out_a + err_a
    assert "STEPPED DOWN" in err_a and "moves no traffic" in err_a and "Traceback" not in err_a
    assert standby.returncode == 0 and "PROMOTED" in out_b, out_b + err_b
    shifts = _shifts(traffic_log)
    assert [w for a, w, _p, _t in shifts if a == "shift"] == WEIGHTS
    assert not [s for s in shifts if s[2] == holder.pid and s[3] >= stopped_at]  # nothing moved by it after the pause
    assert not [s for s in shifts if s[2] == holder.pid and s[3] >= continued_at]
    assert all(a == "shift" for a, *_ in shifts)  # nobody rolled back "to be safe"


def test_two_standbys_started_at_once_one_holds_one_waits(tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v3.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn, hold="1s")
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn, hold="1s")
    _init_schema(host_a)
    first, second = _canary(host_a, version, "--standby"), _canary(host_b, version, "--standby")
    try:
        results = [p.communicate(timeout=90) for p in (first, second)]
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    assert first.returncode == 0 and second.returncode == 0, results
    texts = [out + err for out, err in results]
    ran = [t for t in texts if "PROMOTED: every stage passed" in t and "already finished" not in t]
    waited = [t for t in texts if "already finished: PROMOTED" in t]
    assert len(ran) == 1 and len(waited) == 1, texts
    assert "the run is held by host" in waited[0]
    assert [w for _a, w, _p, _t in _shifts(traffic_log)] == WEIGHTS
    # and a plain second controller is refused while the first holds the run
    version = "v3.1.0"
    holder = _canary(host_a, version)
    try:
        _wait(lambda: len(_shifts(traffic_log)) > len(WEIGHTS), 30, "the holder's first shift")
        refused = subprocess.run([sys.executable, "-m", "cockpit", "canary", version, "--config", str(host_b),
                                  "--headless", *WITHOUT_GO], cwd=REPO, capture_output=True, text=True, timeout=30)
    finally:
        holder.kill()
        holder.wait(10)
    assert refused.returncode == 2, refused.stderr
    assert "is held by host" in refused.stderr and "--standby" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_postgresql_restarted_mid_stage_the_run_goes_on_and_loses_no_record(tmp_path, prometheus, healthy_signals):
    version = "v4.0.0"
    traffic_log = tmp_path / "traffic.log"
    with running(Postgres(temp_root("cockpit-pg-restart-"))) as server:
        dsn = server.dsn()
        config = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, dsn, hold="3s")
        _init_schema(config)
        holder = _canary(config, version)
        try:
            _wait(lambda: any(w == 5 for _a, w, _p, _t in _shifts(traffic_log)), 30, "the shift to 5%")
            server.stop()
            time.sleep(1.0)  # a few evaluations while the database is away
            server.start()
            out, err = holder.communicate(timeout=90)
        finally:
            if holder.poll() is None:
                holder.kill()
        assert holder.returncode == 0 and "PROMOTED" in out, out + err
        assert "STATE DATABASE AWAY" in err and "every buffered record sent" in err
        assert [w for _a, w, _p, _t in _shifts(traffic_log)] == WEIGHTS
        journal = tmp_path / "host-a" / "evidence" / version / "journal.jsonl"
        assert verify_journal(journal).ok
        local = read_journal(journal).records
        from cockpit.config import StateConfig
        from cockpit.run.journal import check_chain
        from cockpit.run.state_store import StateStore

        store = StateStore(StateConfig(dsn=dsn, service="web")).connect()
        try:
            remote = store.records(version)
        finally:
            store.close()
        assert remote == local and check_chain(remote) is None  # 0 records lost, the chain verifies


def test_cockpit_runs_lists_the_runs_of_two_services_live_then_finished(tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v5.0.0"
    traffic_logs = {name: tmp_path / f"traffic-{name}.log" for name in ("web", "api")}
    configs = {}
    for name, log in traffic_logs.items():
        config = _write_config(tmp_path / name, prometheus.url, log, state_dsn, hold="1s")
        config.write_text(config.read_text().replace('service = "web"', f'service = "{name}"'))
        configs[name] = config
    _init_schema(configs["web"])
    runs = {name: _canary(config, version) for name, config in configs.items()}

    def listed() -> dict:
        done = subprocess.run([sys.executable, "-m", "cockpit", "runs", "--json", "--config", str(configs["web"])],
                              cwd=REPO, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return {(r["service"], r["version"]): r for r in json.loads(done.stdout)["runs"]}

    try:
        live = _wait(lambda: (lambda rows: rows if all(
            (s, version) in rows and rows[(s, version)]["stage"] for s in ("web", "api")) else None)(listed()),
            30, "both runs listed with a stage")
        for service in ("web", "api"):
            row = live[(service, version)]
            assert row["holder"]["pid"] == runs[service].pid and not row["holder"]["released"]
            assert row["stages"] == len(WEIGHTS) and row["weight"] in WEIGHTS
        outputs = {name: process.communicate(timeout=90) for name, process in runs.items()}
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
    assert all(p.returncode == 0 for p in runs.values()), outputs
    finished = listed()
    for service in ("web", "api"):
        row = finished[(service, version)]
        assert row["result"] == "promoted" and row["stage"] == 5 and row["weight"] == 100
        assert row["holder"]["released"]  # a holder that finished let the lease go
    table = subprocess.run([sys.executable, "-m", "cockpit", "runs", "--config", str(configs["api"])],
                           cwd=REPO, capture_output=True, text=True, timeout=30)
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "VERSION", "STAGE", "WEIGHT", "DECISION", "STATE", "HOLDER", "LEASE"]
    assert any(line.startswith("web ") and "5/5" in line and "PROMOTED" in line and "released" in line for line in lines)
    assert any(line.startswith("api ") and "5/5" in line and "PROMOTED" in line for line in lines)


def test_a_viewer_on_a_third_host_follows_every_record_of_both_controllers_by_notify(
        tmp_path, state_dsn, prometheus, healthy_signals):
    from cockpit.config import StateConfig
    from cockpit.redaction import Redactor
    from cockpit.run.state_mirror import JournalMirror

    version = "v6.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn)
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn)
    _init_schema(host_a)
    holder = _canary(host_a, version)
    _wait(lambda: _stage_started(tmp_path / "host-a", version, 1), 30, "stage 1")
    view = tmp_path / "host-c" / version / "journal.jsonl"
    mirror = JournalMirror(StateConfig(dsn=state_dsn, service="web"), Redactor(), version, view)
    mirror.sync()
    mirror.start()
    seen: dict[int, float] = {}
    standby = _canary(host_b, version, "--standby")
    try:
        deadline = time.monotonic() + 120
        killed = False
        while time.monotonic() < deadline:
            now = time.time()
            for record in read_journal(view).records:
                seen.setdefault(record["seq"], now)
            if not killed and _stage_started(tmp_path / "host-a", version, 3):
                holder.send_signal(signal.SIGKILL)
                holder.wait(10)
                killed = True
            if standby.poll() is not None:
                break
            time.sleep(0.01)
        out, err = standby.communicate(timeout=30)
        run_journal = tmp_path / "host-b" / "evidence" / version / "journal.jsonl"
        final = read_journal(run_journal).records
        _wait(lambda: read_journal(view).records[-1:] == final[-1:], 10, "the viewer to catch up")
        now = time.time()
        for record in read_journal(view).records:
            seen.setdefault(record["seq"], now)
    finally:
        mirror.stop()
        for process in (holder, standby):
            if process.poll() is None:
                process.kill()
    assert standby.returncode == 0, out + err
    assert killed and mirror.error is None
    assert view.read_bytes() == run_journal.read_bytes()  # every record, the same lines, the same chain
    assert verify_journal(view).ok
    assert any(r["event"] == "lease_taken" for r in final)
    live = [seen[r["seq"]] - r["ts"] for r in final if r["seq"] in seen and r["ts"] >= final[0]["ts"]]
    late = sorted(live)[len(live) // 2]
    print(f"\nviewer: {len(final)} records, {mirror.notifications} notifications; record → viewer median "
          f"{late * 1000:.0f}ms, max {max(live) * 1000:.0f}ms (polled here every 10ms)")
    assert late < 0.5  # by notification, not a poll of seconds


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_cockpit_attach_from_state_shows_the_run_on_a_host_without_its_journal(
        tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v7.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn, hold="4s")
    viewer = _write_config(tmp_path / "host-c", prometheus.url, traffic_log, state_dsn)
    _init_schema(host_a)
    holder = _canary(host_a, version)
    socket = f"cockpit-state-{os.getpid()}"
    cockpit = str(Path(sys.executable).with_name("cockpit"))

    def screen() -> str:
        return subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True,
                              timeout=10).stdout

    try:
        _wait(lambda: _stage_started(tmp_path / "host-a", version, 1), 30, "stage 1")
        command = " ".join(f"'{part}'" for part in [cockpit, "attach", version, "--from-state", "--config", str(viewer),
                                                     "--no-mouse"])
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                        "-c", str(tmp_path / "host-c"), f"{command}; sleep 60"], check=True, timeout=10,
                       env={**os.environ, "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"})
        first = _wait(lambda: (lambda s: s if "READ-ONLY" in s and version in s else None)(screen()), 30,
                      "the attach screen")
        assert not (tmp_path / "host-c" / "evidence" / version / "journal.jsonl").exists()  # no local journal here
        assert f"{version} · Stage 1 (1%) · running" in first and "traffic → 1%" in first
        # the holder moves on: the viewer's screen follows (by notification) without a journal of its own
        later = _wait(lambda: (lambda s: s if f"{version} · Stage 2 (5%) · running" in s else None)(screen()), 30,
                      "stage 2 on the viewer's screen")
        assert "traffic → 5%" in later and "stage 2 (5%) started" in later
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
        holder.kill()
        holder.wait(10)


def test_ctl_from_state_reaches_the_holder_then_the_standby_that_took_over(tmp_path, state_dsn, prometheus, healthy_signals):
    version = "v8.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn, hold="30s")
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn, hold="30s")
    host_c = _write_config(tmp_path / "host-c", prometheus.url, traffic_log, state_dsn, hold="30s")
    _init_schema(host_a)

    def ctl(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cockpit", "ctl", version, *words, "--from-state",
                               "--config", str(host_c)], cwd=REPO, capture_output=True, text=True, timeout=90)

    none = ctl("status")
    assert none.returncode == 3 and "no controller holds web/v8.0.0" in none.stderr, none.stderr
    holder = _canary(host_a, version)
    standby = None
    try:
        _wait(lambda: _stage_started(tmp_path / "host-a", version, 1), 30, "stage 1")
        status = ctl("status")
        assert status.returncode == 0 and f"{version} stage 1/5 (1%)" in status.stdout, status.stdout + status.stderr
        note = ctl("note", "checked from host c", "--by", "AB")
        assert note.returncode == 0 and "note recorded" in note.stdout, note.stderr
        standby = _canary(host_b, version, "--standby")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        _wait(lambda: _stage_started(tmp_path / "host-b", version, 1) and any(
            r["event"] == "lease_taken" for r in read_journal(tmp_path / "host-b" / "evidence" / version / "journal.jsonl").records),
            30, "the standby's takeover")
        rollback = ctl("rollback", "--reason", "drill: abort from host c", "--by", "AB")
        assert rollback.returncode == 0 and "rollback done" in rollback.stdout, rollback.stdout + rollback.stderr
        out, err = standby.communicate(timeout=60)
    finally:
        for process in (holder, standby):
            if process is not None and process.poll() is None:
                process.kill()
    assert standby.returncode == 1 and "ROLLED BACK at stage 1" in err, out + err
    records = read_journal(tmp_path / "host-b" / "evidence" / version / "journal.jsonl").records
    notes = [r for r in records if r["event"] == "note"]
    assert len(notes) == 1 and notes[0]["text"] == "checked from host c" and notes[0]["by"].endswith("(AB)")
    assert "@" in notes[0]["by"]  # login@host of the sender, the same audit as the socket's
    operator = [r for r in records if r["event"] == "operator" and r["command"] == "rollback"]
    assert len(operator) == 1 and "drill: abort from host c" in operator[0]["reason"]
    shifts = _shifts(traffic_log)
    assert [(a, w) for a, w, _p, _t in shifts] == [("shift", 1), ("rollback", 0)]
    assert shifts[1][2] == standby.pid  # the standby, holding the lease, rolled back
