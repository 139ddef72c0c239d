"""The first night against the real Prometheus: hours missed while stopped are back-filled with query_range.

A gauge on the session's exporter takes a different value in each (4-second)
hour; the night is "started" in the journal at the first hour and the cockpit
only comes up in the third, so hours 00 and 01 (and the start of 02) come from
Prometheus' history, read through PrometheusSource.query_range.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig
from cockpit.evidence import EvidenceStore
from cockpit.run.first_night import run_first_night
from cockpit.run.journal import read_journal
from cockpit.sources.prometheus import PrometheusSource
from tests.exporter import JOB
from tests.release_journal import JournalWriter, promoted_journal

pytestmark = pytest.mark.integration

VERSION = "v2.0.0"
HOUR = 4.0
CASE = "night_backfill"


def _wait_until(at: float) -> None:
    # Waiting for a wall-clock time the test's data is laid out on, not for a condition.
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)


def _config(prometheus_url: str, case: str) -> CockpitConfig:
    query = f'max(cockpit_test_value{{case="{case}",{{selector}}}})'
    return CockpitConfig.model_validate({
        "prometheus": {"url": prometheus_url, "timeout": 2},
        "canary": {"evaluate_every": 1, "window": 60, "min_requests": 0, "selector": f'job="{JOB}"'},
        "signals": {"p95_latency": {"query": query, "unit": "s", "max": 0.25}},
        "triggers": [{"name": "night_breach", "expr": f"{query} > 0.25", "action": "rollback", "for": "0s"}],
    })


def test_missed_hours_are_back_filled_from_real_prometheus_history(tmp_path: Path, prometheus, exporter) -> None:
    gauge = exporter.value.labels(case=CASE)
    gauge.set(0.10)
    prometheus.wait_for_data(f'cockpit_test_value{{case="{CASE}"}} == 0.1')
    t0 = float(math.ceil(time.time()) + 1)
    # Each value is set a little before its hour starts, so a scrape lands before the hour's first point.
    _wait_until(t0 + HOUR - 0.6)
    gauge.set(0.30)
    _wait_until(t0 + 2 * HOUR - 0.6)
    gauge.set(0.20)
    prometheus.wait_for_data(f'cockpit_test_value{{case="{CASE}"}} == 0.2')
    _wait_until(t0 + 2 * HOUR + 1.6)  # the cockpit comes up well into hour 02: its start is history too

    promoted_journal(tmp_path / "evidence", VERSION, t0=t0 - 600)
    writer = JournalWriter(tmp_path / "evidence", VERSION, t0=t0)
    writer.add("first_night_started", version=VERSION, hours=3, hour_length=HOUR, resumed=False)
    writer.close()

    config = _config(prometheus.url, CASE)
    assert config.prometheus is not None
    source = PrometheusSource(config.prometheus)
    store = EvidenceStore(tmp_path / "evidence", VERSION)
    clock = ManualClock(time.time())  # the live part of hour 02 in compressed time
    try:
        outcome = asyncio.run(run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=3,
                                              hour_length=HOUR, evaluate_every=1.0))
    finally:
        source.close()

    assert outcome.closed == [0, 1, 2] and outcome.backfilled == [0, 1, 2] and outcome.resumed
    records = read_journal(store.dir / "journal.jsonl").records
    closed = {r["hour"]: r for r in records if r["event"] == "hour_closed"}
    hour0 = closed[0]["signals"]["p95_latency"]
    assert (hour0["min"], hour0["p50"], hour0["max"]) == (0.10, 0.10, 0.10)
    assert hour0["judged"] == 4 and closed[0]["live_samples"] == 0  # 4 one-second steps, all from history
    hour1 = closed[1]["signals"]["p95_latency"]
    assert hour1["p50"] == 0.30 and hour1["max"] == 0.30 and hour1["over"] >= 3
    assert closed[1]["triggers"]["night_breach"]["backfilled"] is True  # fired in history, not rolled back now
    hour2 = closed[2]["signals"]["p95_latency"]
    assert closed[2]["live_samples"] >= 1 and closed[2]["backfilled_points"] >= 1
    assert hour2["p50"] == 0.20 and hour2["min"] == 0.20
    assert not [r for r in records if r["event"] == "rollback_started"]
    text = store.path("hourly_log_01.txt").read_text()
    assert "BACK-FILLED from Prometheus history" in text and "night_breach" in text and "from history" in text
    report = store.path("stability_report_3h.md").read_text()
    assert "back-filled from Prometheus history: 00, 01, 02" in report


def test_first_night_command_runs_a_short_night_against_real_prometheus(tmp_path: Path, prometheus, exporter) -> None:
    case = "night_cli"
    exporter.value.labels(case=case).set(0.05)
    prometheus.wait_for_data(f'cockpit_test_value{{case="{case}"}}')
    promoted_journal(tmp_path / "evidence", VERSION, t0=time.time() - 600)
    query = f"max(cockpit_test_value{{case=\"{case}\",{{selector}}}})"
    (tmp_path / "night_playbook.toml").write_text(
        f"[signals.p95_latency]\nquery = '{query}'\nunit = \"s\"\nmax = 0.2\n\n"
        f"[[triggers]]\nname = \"night_breach\"\nexpr = '{query} > 0.2'\naction = \"rollback\"\n"
    )
    (tmp_path / "cockpit.toml").write_text(
        f'[playbook]\nfile = "night_playbook.toml"\n[prometheus]\nurl = "{prometheus.url}"\ntimeout = "2s"\n'
        f'[evidence]\ndir = "evidence"\n[canary]\nselector = \'job="{JOB}"\'\nmin_requests = 0\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "cockpit", "first-night", VERSION, "--hours", "2", "--hour-length", "2s", "--every", "500ms"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "first night done: STABLE, 2/2 hours" in result.stdout
    folder = tmp_path / "evidence" / VERSION
    assert (folder / "hourly_log_00.txt").is_file() and (folder / "hourly_log_01.txt").is_file()
    assert "**Verdict: STABLE**" in (folder / "stability_report_2h.md").read_text()
    row = next(line for line in (folder / "hourly_log_00.txt").read_text().splitlines() if line.startswith("p95_latency"))
    assert row.split()[1:4] == ["50ms", "50ms", "50ms"]
