"""Whole drills, headless through the real CLI: each fault rolls back (or holds) at the right stage, healthy reaches 100 %.

Every scenario runs at once as its own `cockpit drill` process with its own
simulator port and its own real Prometheus (a few also without Prometheus, on
the built-in source), so the set takes about as long as the longest drill.
Meanwhile one drill runs in this process and has its Prometheus killed
mid-run: blindness must never lead to PROCEED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.drill.scenario import builtin_names, load_scenario
from cockpit.drill.session import DrillOptions, DrillSession

pytestmark = pytest.mark.integration

RUN_TIMEOUT_S = 150
SIMULATOR_ONLY = ("healthy", "latency_spike", "no_data")  # also run on the built-in source


@dataclass
class Drill:
    scenario: str
    source: str
    process: subprocess.Popen[str]
    events_path: Path
    code: int | None = None
    stdout: str = ""
    stderr: str = ""

    def finish(self) -> Drill:
        if self.code is None:
            try:
                self.stdout, self.stderr = self.process.communicate(timeout=RUN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.stdout, self.stderr = self.process.communicate()
                pytest.fail(f"drill {self.scenario} ({self.source}) did not finish in {RUN_TIMEOUT_S}s: {self.stderr[-500:]}")
            self.code = self.process.returncode
        return self

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    def done(self) -> dict[str, Any]:
        [done] = self.of("canary_done")
        return done


@pytest.fixture(scope="module")
def drills(tmp_path_factory) -> Iterator[dict[tuple[str, str], Drill]]:
    root = tmp_path_factory.mktemp("drills")
    runs: dict[tuple[str, str], Drill] = {}
    plan = [(name, "prometheus") for name in builtin_names()] + [(name, "simulator") for name in SIMULATOR_ONLY]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, source in plan:
        events = root / f"{name}-{source}.jsonl"
        command = [sys.executable, "-m", "cockpit", "drill", name, "--headless", "--source", source,
                   "--events", str(events), "--evidence-dir", str(root / f"evidence-{name}-{source}")]
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs[(name, source)] = Drill(name, source, process, events)
    try:
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.communicate()


def stages_before_fault_passed_cleanly(drill: Drill, fault_stage: int) -> None:
    passed = [e["stage"] for e in drill.of("stage_passed")]
    assert passed[: fault_stage - 1] == list(range(1, fault_stage)), passed
    early = [e for e in drill.of("decision") if e["stage"] < fault_stage]
    assert {e["action"] for e in early} <= {"continue", "proceed"}, [(e["stage"], e["action"]) for e in early]


def reason_names(record: dict[str, Any]) -> set[str]:
    return {str(r.get("name")) for r in record.get("reasons") or []}


async def test_a_dead_prometheus_never_leads_to_proceed(drills, tmp_path):
    # Runs in this process while the CLI drills run beside it.
    killed_at: list[float] = []
    records: list[dict[str, Any]] = []

    async with DrillSession(DrillOptions(load_scenario("healthy"), evidence_dir=tmp_path, use_prometheus=True,
                                         recovery_window=3.0)) as drill:
        assert drill.prometheus is not None

        class KillAtStage2:
            def emit(self, record: dict[str, Any]) -> None:
                records.append(record)
                if record.get("event") == "stage_started" and record.get("stage") == 2 and not killed_at:
                    drill.prometheus.kill()
                    killed_at.append(record["ts"])

        outcome = await drill.run(events=KillAtStage2())
    assert killed_at, "the drill never reached stage 2"
    after = [r for r in records if r["ts"] >= killed_at[0]]
    decisions = [r for r in after if r["event"] == "decision"]
    assert decisions and "proceed" not in {d["action"] for d in decisions}
    samples = [r for r in after if r["event"] == "sample" and r.get("phase") != "recovery"]
    assert samples and all(all(s["state"] == "BLIND" for s in r["signals"].values()) for r in samples)
    assert outcome.result == "rolled_back" and outcome.stage == 2  # blind too long: rolled back, by the real command
    assert any(r.get("source") == "blind" for r in outcome.reasons)
    assert outcome.rollback and outcome.rollback["ok"] and drill.simulator.weight == 0
    assert all(r.get("drill") is True for r in records)


def test_healthy_reaches_100_percent(drills):
    for source in ("prometheus", "simulator"):
        drill = drills[("healthy", source)].finish()
        assert drill.code == 0, drill.stderr[-2000:]
        assert drill.done()["result"] == "promoted"
        assert [e["stage"] for e in drill.of("stage_passed")] == [1, 2, 3, 4, 5]
        assert not drill.of("hold") and not drill.of("rollback_started")
        assert {e["weight"] for e in drill.of("traffic_shifted") if e["ok"]} == {1, 5, 25, 50, 100}
        lines = [line for line in drill.stdout.splitlines() if line.strip()]
        assert lines and all(line.startswith("DRILL ") for line in lines)
        assert "outcome: PROMOTED" in drill.stdout


ROLLBACKS = {
    # scenario: names of which at least one must be among the rollback's reasons
    "latency_spike": {"p95_latency", "p95_latency_breach"},
    "error_burst": {"error_rate", "error_rate_breach", "error_budget_fast_burn", "error_risk_correlation"},
    "slow_creep": {"p95_latency", "p95_latency_breach"},
    "eventloop_stall": {"eventloop_lag"},
    "connection_creep": {"connection_creep", "pgbouncer_saturation"},
    "error_risk_guard": {"error_risk_correlation"},
}


@pytest.mark.parametrize("scenario", sorted(ROLLBACKS))
def test_each_fault_rolls_back_at_its_stage(drills, scenario):
    drill = drills[(scenario, "prometheus")].finish()
    assert drill.code == 1, drill.stderr[-2000:]
    stages_before_fault_passed_cleanly(drill, 3)
    [started] = drill.of("rollback_started")
    assert started["stage"] == 3 and started["weight"] == 25
    assert reason_names(started) & ROLLBACKS[scenario], reason_names(started)
    [done] = drill.of("rollback_done")
    assert done["ok"] and done["decision_to_command_wall_ms"] is not None
    assert drill.done()["result"] == "rolled_back"
    assert drill.of("signals_recovered"), "the reverted canary's signals should come back within limits"
    phases = [e["phase"] for e in drill.of("drill_fault")]
    assert phases == ["started", "observed", "ended"]
    assert "outcome: ROLLED BACK at stage 3 (25%)" in drill.stdout


def test_eventloop_stall_is_rolled_back_by_the_eventloop_signal(drills):
    drill = drills[("eventloop_stall", "prometheus")].finish()
    [started] = drill.of("rollback_started")
    acting = [r for r in started["reasons"] if not r.get("dry_run")]
    # The cause is the event-loop signal itself, over its limit, and nothing latency-shaped beside it.
    assert [(r["source"], r["name"]) for r in acting] == [("signal", "eventloop_lag")], acting
    assert acting[0]["value"] > 2 * acting[0]["limit"], acting[0]
    stalled = [e for e in drill.of("sample") if e["stage"] == 3 and e.get("phase") != "recovery"]
    assert all(e["signals"]["p95_latency"]["state"] == "PASS" for e in stalled), "p95 must not breach before the loop"


def test_error_risk_guard_rolls_back_at_once_through_the_auto_guard(drills):
    drill = drills[("error_risk_guard", "prometheus")].finish()
    [started] = drill.of("rollback_started")
    assert started["action"] == "immediate_rollback", started
    assert [(r["source"], r["name"]) for r in started["reasons"] if not r.get("dry_run")] == [
        ("trigger", "error_risk_correlation")]
    [decision] = [e for e in drill.of("decision") if e["action"] == "immediate_rollback"]
    assert decision["stage"] == 3


def test_gc_pauses_hold_the_stage_before_the_longer_signal_rolls_back(drills):
    drill = drills[("gc_pauses", "prometheus")].finish()
    stages_before_fault_passed_cleanly(drill, 3)
    [hold, *_] = drill.of("hold")
    assert hold["stage"] == 3 and "gc_pause_hold" in reason_names(hold)
    [started] = drill.of("rollback_started")
    assert started["stage"] == 3 and "gc_pause" in reason_names(started)
    assert hold["ts"] < started["ts"]


def test_no_data_goes_blind_then_rolls_back(drills):
    for source in ("prometheus", "simulator"):
        drill = drills[("no_data", source)].finish()
        assert drill.code == 1, drill.stderr[-2000:]
        stages_before_fault_passed_cleanly(drill, 3)
        [started] = drill.of("rollback_started")
        assert started["stage"] == 3
        assert {r["source"] for r in started["reasons"]} >= {"blind"}
        blind_decisions = [e for e in drill.of("decision") if e["stage"] == 3]
        assert "proceed" not in {e["action"] for e in blind_decisions}


def test_latency_spike_on_the_built_in_source(drills):
    drill = drills[("latency_spike", "simulator")].finish()
    assert drill.code == 1, drill.stderr[-2000:]
    [started] = drill.of("rollback_started")
    assert started["stage"] == 3 and reason_names(started) & ROLLBACKS["latency_spike"]
    assert "read directly" in drill.stdout and all(e.get("drill") is True for e in drill.events)


def test_drill_evidence_is_written_and_sealed_in_the_manifest(drills):
    drill = drills[("latency_spike", "prometheus")].finish()
    [version_dir] = [p for p in (drill.events_path.parent / "evidence-latency_spike-prometheus").iterdir() if p.is_dir()]
    names = {p.name for p in version_dir.iterdir()}
    assert {"journal.jsonl", "warroom_log.txt", "manifest.sha256"} <= names
    assert any(n.startswith("baseline_") for n in names) and any(n.startswith("rollback_") for n in names)
    manifest = (version_dir / "manifest.sha256").read_text()
    assert "journal.jsonl" in manifest
    assert time.time() - version_dir.stat().st_mtime < 600
