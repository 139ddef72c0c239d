"""A real `cockpit canary` on the session's Prometheus: it never starts dark, judges only its own data, and says what comes after a rollback.

The service is the session's prometheus_client exporter (tests/exporter.py): a
thread here counts requests into `http_requests_total{code, track}` as a real
service would. Each test uses its own track value as the selector, so tests do
not see each other's traffic. The traffic command is a real program writing a
line per shift into a file: a missing file means no traffic ever moved.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cockpit.run.journal import read_journal

REPO = Path(__file__).resolve().parents[2]
ERRORS_QUERY = '(sum(rate(http_requests_total{code=~"5..",{selector}}[{window}])) or vector(0)) / sum(rate(http_requests_total{{selector}}[{window}]))'
# The default playbook's error_rate_breach: a fixed [2m] window, as an alert rule has.
TRIGGER_EXPR = 'sum(rate(http_requests_total{code=~"5..",{selector}}[2m])) / sum(rate(http_requests_total{{selector}}[2m])) > 0.01'


class Traffic:
    """Requests counted on one track, 20 a second, a share of them 5xx while `failing`."""

    def __init__(self, exporter, track: str) -> None:
        self.ok = exporter.requests.labels(code="200", track=track)
        self.errors = exporter.requests.labels(code="500", track=track)
        self.errors.inc(0)  # exported at 0 from the start, as a client library does
        self.failing = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(0.05):
            self.ok.inc()
            if self.failing:
                self.errors.inc()

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(2)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _recorder(log: Path) -> list[str]:
    return [sys.executable, "-c", f"import sys; open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')"]


def _own_config(root: Path, prometheus_url: str, track: str, recovery: str = "1s") -> Path:
    """A run judged on one error-rate signal and the default playbook's error_rate_breach trigger."""
    (root / "empty_playbook.toml").write_text("# no checks, signals or triggers: the test brings its own\n")
    log = root / "traffic.log"
    text = """
[playbook]
file = "empty_playbook.toml"

[prometheus]
url = "PROM"
timeout = "2s"

[evidence]
dir = "evidence"

[canary]
evaluate_every = "0.5s"
window = "30s"
min_window = "3s"
min_requests = 0
recovery_window = "RECOVERY"
selector = 'track="TRACK"'
stable_selector = 'track="TRACK_stable"'
stages = [{weight = 10, hold = "5s"}, {weight = 100, hold = "2s"}]

[signals.errors]
short = "5xx"
unit = "ratio"
max = 0.01
query = 'ERRORS'

[[triggers]]
name = "error_rate_breach"
expr = 'TRIGGER'
for = "0s"
action = "rollback"

[traffic]
set_weight = SHIFT
rollback = ROLLBACK
retries = 0
"""
    for key, value in (("PROM", prometheus_url), ("RECOVERY", recovery), ("ERRORS", ERRORS_QUERY), ("TRIGGER", TRIGGER_EXPR),
                       ("TRACK", track), ("SHIFT", _toml_list(_recorder(log) + ["shift", "{weight}", "{version}"])),
                       ("ROLLBACK", _toml_list(_recorder(log) + ["rollback", "{version}"]))):
        text = text.replace(key, value)
    config = root / "cockpit.toml"
    config.write_text(text)
    return config


def _canary(config: Path, version: str, *extra: str) -> list[str]:
    # Past the GO gate on record: these runs are about what the probe and the windows judge, not about GO.
    return [sys.executable, "-m", "cockpit", "canary", version, "--config", str(config), "--headless",
            "--without-go", "--reason", "test of the probe and windows", "--by", "TS", *extra]


def _wait(predicate, timeout: float, what: str, *logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    said = "".join(log.read_text() for log in logs)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}" + (f"; the run said:\n{said}" if said else ""))


def _has_rate(prometheus, track: str) -> None:
    """Wait for two scrapes of the track's requests: a rate (what the signal asks) needs them."""
    prometheus.wait_for_data(f'rate(http_requests_total{{track="{track}"}}[30s])')


def _records(root: Path, version: str) -> list[dict]:
    return read_journal(root / "evidence" / version / "journal.jsonl").records


def test_a_minimal_configs_dark_signals_stop_the_start_before_any_traffic_moves(tmp_path, prometheus, exporter):
    # The config: [prometheus], [service] and [traffic] only; the default playbook's 8 signals and 20 triggers.
    marker = tmp_path / "traffic-moved"
    config = tmp_path / "cockpit.toml"
    config.write_text(f"""
[prometheus]
url = "{prometheus.url}"
timeout = "2s"

[service]
canary_url = "http://127.0.0.1:9/"
stable_url = "http://127.0.0.1:9/"

[evidence]
dir = "evidence"

[traffic]
set_weight = {_toml_list(_recorder(marker) + ["{weight}"])}
rollback = {_toml_list(_recorder(marker) + ["0"])}
""")
    run = subprocess.run(_canary(config, "v9.0.0"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert not marker.exists()  # no traffic command ever ran
    err = run.stderr
    # One line each, naming the fix: the WebSocket signal the service never had, disabled by name.
    ws = [line for line in err.splitlines() if "signal ws_staleness:" in line]
    assert len(ws) == 1 and "[signals.ws_staleness] enabled = false" in ws[0] and "ws_staleness_seconds" in ws[0]
    assert "signal csp_violations:" in err  # its relative limit, or its metrics: stops either way
    assert "no traffic moved" in err.splitlines()[-1]
    assert "Traceback" not in err

    probe = subprocess.run([sys.executable, "-m", "cockpit", "signals", "probe", "--config", str(config)],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 1, probe.stdout + probe.stderr
    assert "STOPS   signal ws_staleness:" in probe.stdout
    assert "DARK    trigger ws_reconnect_storm: can never fire: ws_reconnects_total, ws_connections_open" in probe.stdout


def test_dark_triggers_are_said_and_journaled_and_strict_stops_them(tmp_path, prometheus, exporter):
    track = "dark_triggers"
    config = _own_config(tmp_path, prometheus.url, track)
    text = config.read_text() + """
[[triggers]]
name = "ws_reconnect_storm"
expr = 'sum(rate(ws_reconnects_total{{selector}}[2m])) * 60 > 0.5 * sum(ws_connections_open{{selector}})'
action = "rollback"
"""
    config.write_text(text)
    with Traffic(exporter, track):
        _has_rate(prometheus, track)
        strict = subprocess.run(_canary(config, "v9.1.0", "--strict"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert strict.returncode == 2, strict.stdout + strict.stderr
        assert not (tmp_path / "traffic.log").exists()
        assert "trigger ws_reconnect_storm: can never fire: ws_reconnects_total, ws_connections_open" in strict.stderr

        run = subprocess.run(_canary(config, "v9.1.0"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    loud = [line for line in run.stderr.splitlines() if "TRIGGER CAN NEVER FIRE" in line]
    assert len(loud) == 1 and "ws_reconnect_storm" in loud[0]
    records = _records(tmp_path, "v9.1.0")
    probed = [r for r in records if r["event"] == "signals_probed"]
    assert len(probed) == 1 and [d["name"] for d in probed[0]["dark_triggers"]] == ["ws_reconnect_storm"]
    first_shift = next(r for r in records if r["event"] == "traffic_shifted")
    assert probed[0]["seq"] < first_shift["seq"]  # said before any traffic moved
    # The shift's read-back reaches the journal and the progress line (none is configured here: it says so).
    from cockpit.engine.read_back import NOT_CONFIGURED

    assert first_shift["read_back"] == NOT_CONFIGURED and first_shift["read_back_weight"] is None
    assert "traffic at 10% (1 attempt(s)" in run.stdout and f"; {NOT_CONFIGURED}" in run.stdout


def test_a_fix_canaried_right_after_a_rollback_is_judged_on_its_own_data(tmp_path, prometheus, exporter):
    track = "fix_after_rollback"
    config = _own_config(tmp_path, prometheus.url, track)
    with Traffic(exporter, track) as traffic:
        _has_rate(prometheus, track)
        traffic.failing = True  # the first canary serves 5xx
        out_path, err_path = tmp_path / "first.out", tmp_path / "first.err"
        with open(out_path, "w") as out, open(err_path, "w") as err:
            first = subprocess.Popen(_canary(config, "v5.0.0"), cwd=tmp_path, stdout=out, stderr=err)
        try:
            _wait(lambda: first.poll() is not None or "ROLLBACK at stage 1" in err_path.read_text(), 40, "the rollback",
                  out_path, err_path)
            traffic.failing = False  # rolled back: the errors stop with the bad version
            first.wait(30)
        finally:
            first.kill()
        out, err = out_path.read_text(), err_path.read_text()
        assert first.returncode == 1, out + err
        assert "ROLLED BACK at stage 1" in err

        # The fix, on the same selector a moment later: the [2m] and 30s windows still hold the first canary's 5xx.
        second = subprocess.run(_canary(config, "v5.0.1"), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "v5.0.1: PROMOTED" in second.stdout
    records = _records(tmp_path, "v5.0.1")
    started = min(r["ts"] for r in records if r["event"] == "stage_started")
    samples = [r for r in records if r["event"] == "sample"]
    # Every window it judged on fits inside the run; the first seconds were not judged (nor blind).
    for sample in samples:
        reading = sample["signals"]["errors"]
        if reading["window"] is not None:
            assert reading["window"] <= sample["ts"] - started + 1e-6
        else:
            assert reading["state"] == "INSUFFICIENT" and sample["consecutive_blind"] == 0
    assert any(s["signals"]["errors"]["state"] == "INSUFFICIENT" for s in samples)
    assert any(s["signals"]["errors"]["state"] == "PASS" for s in samples)
    decisions = [r for r in records if r["event"] == "decision"]
    assert not any(d["action"] in ("rollback", "immediate_rollback") for d in decisions)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_during_the_recovery_watch_ends_with_the_rollback(tmp_path, prometheus, exporter, signum):
    track = f"stop_in_watch_{signum.name.lower()}"
    config = _own_config(tmp_path, prometheus.url, track, recovery="5m")
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with Traffic(exporter, track) as traffic, open(out_path, "w") as out, open(err_path, "w") as err:
        _has_rate(prometheus, track)
        traffic.failing = True
        run = subprocess.Popen(_canary(config, "v6.0.0"), cwd=tmp_path, stdout=out, stderr=err)
        try:
            _wait(lambda: run.poll() is not None or "watching recovery for up to 5m; ctrl-c ends the watch" in out_path.read_text(),
                  40, "the recovery watch", out_path, err_path)
            run.send_signal(signum)
            code = run.wait(30)
        finally:
            run.kill()
    stderr = err_path.read_text()
    assert code == 1, out_path.read_text() + stderr
    assert "ROLLED BACK at stage 1 (10%)" in stderr
    assert "paused" not in stderr
    records = _records(tmp_path, "v6.0.0")
    assert records[-1]["event"] == "canary_done" and records[-1]["result"] == "rolled_back"
    assert [line.split()[0] for line in (tmp_path / "traffic.log").read_text().splitlines()] == ["shift", "rollback"]
