"""The sequential rule on a real Prometheus: a real `cockpit canary` judging a real exporter's counters.

A thread counts requests into the session exporter's `http_requests_total{code, track}` and
`cockpit_test_latency_seconds` histogram, as a service would (each test its own track). The run's
5xx and p95 signals are judged from their counts (events/requests, histogram buckets); the traffic
command is a real program writing a line per shift.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from cockpit.run.journal import read_journal

EVENTS = 'sum(increase(http_requests_total{code=~"5..",{selector}}[{window}])) or vector(0)'
REQUESTS = 'sum(increase(http_requests_total{{selector}}[{window}]))'
RATIO = '(sum(rate(http_requests_total{code=~"5..",{selector}}[{window}])) or vector(0)) / sum(rate(http_requests_total{{selector}}[{window}]))'
BUCKETS = 'sum by (le) (increase(cockpit_test_latency_seconds_bucket{{selector}}[{window}]))'
P95 = 'histogram_quantile(0.95, sum by (le) (rate(cockpit_test_latency_seconds_bucket{{selector}}[{window}])))'


class Service:
    """40 requests a second on one track: every `error_every`-th a 5xx, each taking `latency` seconds."""

    def __init__(self, exporter, track: str, error_every: int, latency: float) -> None:
        self.ok = exporter.requests.labels(code="200", track=track)
        self.errors = exporter.requests.labels(code="500", track=track)
        self.latency = exporter.latency.labels(track=track)
        self.errors.inc(0)
        self.error_every, self.seconds = error_every, latency
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        count = 0
        while not self.stopped.wait(0.025):
            count += 1
            (self.errors if count % self.error_every == 0 else self.ok).inc()
            self.latency.observe(self.seconds)

    def __enter__(self) -> Service:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(2)


def _config(root: Path, prometheus_url: str, track: str) -> Path:
    (root / "empty_playbook.toml").write_text("# the test brings its own signals\n")
    log = root / "traffic.log"
    recorder = [sys.executable, "-c", f"import sys; open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')"]
    shift, rollback = json.dumps([*recorder, "shift", "{weight}"]), json.dumps([*recorder, "rollback"])
    config = root / "cockpit.toml"
    config.write_text(f"""
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
min_window = "3s"
min_requests = 50
recovery_window = "0s"
selector = 'track="{track}"'
stable_selector = 'track="{track}_stable"'
stages = [{{weight = 10, hold = "6s"}}, {{weight = 100, hold = "3s"}}]

[signals.error_rate]
short = "5xx"
unit = "ratio"
max = 0.01
query = '{RATIO}'
events_query = '{EVENTS}'
requests_query = '{REQUESTS}'

[signals.p95_latency]
short = "p95"
unit = "s"
max = 0.2
query = '{P95}'
buckets_query = '{BUCKETS}'
quantile = 0.95

[traffic]
set_weight = {shift}
rollback = {rollback}
retries = 0
""")
    return config


def _run(tmp_path: Path, prometheus, exporter, track: str, error_every: int, latency: float):
    config = _config(tmp_path, prometheus.url, track)
    with Service(exporter, track, error_every, latency):
        prometheus.wait_for_data(f'rate(http_requests_total{{track="{track}"}}[30s])')
        done = subprocess.run(
            [sys.executable, "-m", "cockpit", "canary", "v1.0.0", "--config", str(config), "--headless",
             "--without-go", "--reason", "test of the sequential rule", "--by", "TS"],
            cwd=tmp_path, capture_output=True, text=True, timeout=90)
    records = read_journal(tmp_path / "evidence" / "v1.0.0" / "journal.jsonl").records
    return done, records


def test_a_healthy_canary_at_half_the_limit_is_promoted_on_its_counts(tmp_path, prometheus, exporter):
    done, records = _run(tmp_path, prometheus, exporter, "seq_healthy", error_every=200, latency=0.03)
    assert done.returncode == 0, done.stdout + done.stderr
    samples = [r for r in records if r["event"] == "sample" and r.get("phase") != "recovery"]
    judged = [s["signals"]["error_rate"] for s in samples if s["signals"]["error_rate"]["state"] == "PASS"]
    assert judged, "the 5xx signal was never judged"
    last = judged[-1]
    assert last["evidence"]["judge"] == "sequential" and last["evidence"]["requests"] >= 50
    assert " requests: " in last["reason"] and " bound " in last["reason"]
    p95 = [s["signals"]["p95_latency"] for s in samples if s["signals"]["p95_latency"]["state"] == "PASS"]
    assert p95 and "slower than 200ms" in p95[-1]["reason"]
    assert (tmp_path / "traffic.log").read_text().split("\n")[:2] == ["shift 10", "shift 100"]


def test_a_canary_serving_a_fifth_5xx_is_rolled_back_on_evidence(tmp_path, prometheus, exporter):
    done, records = _run(tmp_path, prometheus, exporter, "seq_errors", error_every=5, latency=0.03)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ROLLED BACK at stage 1" in done.stderr
    decision = next(r for r in records if r["event"] == "decision" and r["action"] == "rollback")
    reason = next(r for r in decision["reasons"] if r["name"] == "error_rate")
    assert "above the limit of 1%" in reason["message"] and " bound " in reason["message"]
    assert "shift 100" not in (tmp_path / "traffic.log").read_text()


def test_a_slow_canary_is_rolled_back_from_its_histogram(tmp_path, prometheus, exporter):
    done, records = _run(tmp_path, prometheus, exporter, "seq_slow", error_every=10**9, latency=0.3)
    assert done.returncode == 1, done.stdout + done.stderr
    decision = next(r for r in records if r["event"] == "decision" and r["action"] == "rollback")
    reason = next(r for r in decision["reasons"] if r["name"] == "p95_latency")
    assert "slower than 200ms" in reason["message"] and "above the 5% a p95 of 200ms allows" in reason["message"]
