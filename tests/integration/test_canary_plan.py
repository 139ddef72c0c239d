"""The canary runner over a whole plan with a ManualClock: real traffic commands, a real webhook server.

The boards are small in-test boards (tests/canary_boards.py) whose signals follow
the weight the real traffic command last set, as a service's would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cockpit.clock import ManualClock
from cockpit.evidence import EvidenceStore
from cockpit.run.canary import CanaryError, run_canary
from cockpit.run.journal import read_journal, verify_journal
from tests.canary_boards import (
    ScriptedSignalBoard,
    ScriptedTriggerBoard,
    current_weight,
    healthy,
    make_config,
    recording_command,
)

VERSION = "v1.4.0"
SHORT_PLAN = [(1, 60), (5, 60), (25, 60), (50, 60), (100, 120)]
DEFAULT_PLAN = [(1, 900), (5, 900), (25, 900), (50, 900), (100, 1800)]


class Run:
    """One canary run in a test: config, clock, store, traffic log, what was said."""

    def __init__(self, tmp: Path, plan=SHORT_PLAN, traffic=None, values=healthy, firing=lambda: False, **config):
        self.tmp = tmp
        self.log = tmp / "traffic.log"
        if traffic is None:
            traffic = {"set_weight": recording_command(self.log), "retries": 2, "backoff": 1.0}
        self.config = make_config(tmp, stages=plan, traffic=traffic, **config)
        self.clock = ManualClock()
        self.store = EvidenceStore(tmp / "evidence", VERSION, self.config.redactor())
        self.said: list[tuple[str, bool]] = []
        self.events: list[dict] = []
        self.values = values
        self.firing = firing

    def emit(self, record: dict) -> None:
        self.events.append(record)

    async def __call__(self, **kwargs):
        self.board = ScriptedSignalBoard(self.config, self.clock, self.values)
        return await run_canary(
            self.config, VERSION, source=None, clock=self.clock, store=self.store, events=self,
            signal_board=self.board,
            trigger_board=ScriptedTriggerBoard(self.clock, self.firing),
            say=lambda text, loud=False: self.said.append((text, loud)), **kwargs,
        )

    def journal(self) -> list[dict]:
        return read_journal(self.store.dir / "journal.jsonl").records

    def of(self, event: str) -> list[dict]:
        return [r for r in self.journal() if r["event"] == event]

    def traffic_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


async def test_whole_plan_proceeds_to_promoted_in_well_under_a_second(tmp_path):
    run = Run(tmp_path)
    started = time.perf_counter()
    outcome = await run()
    elapsed = time.perf_counter() - started
    assert outcome.result == "promoted" and outcome.exit_code == 0
    assert run.traffic_lines() == [f"shift {w} {VERSION} {i}" for i, w in enumerate([1, 5, 25, 50, 100], start=1)]
    assert [r["stage"] for r in run.of("stage_passed")] == [1, 2, 3, 4, 5]
    assert run.journal()[-1]["event"] == "canary_done" and run.journal()[-1]["result"] == "promoted"
    assert verify_journal(run.store.dir / "journal.jsonl").ok
    assert run.events == run.journal()  # the event sink saw exactly what the journal holds
    # the stage clock: each stage lasted its hold, evaluated every 15 s
    starts = {r["stage"]: r for r in run.of("stage_started")}
    passes = {r["stage"]: r for r in run.of("stage_passed")}
    assert [passes[s]["ts"] - starts[s]["ts"] for s in range(1, 6)] == [60, 60, 60, 60, 120]
    for weight in ("1", "5", "25", "50", "100"):
        for kind in ("rollout", "db_health", "pgbouncer", "logs", "summary"):
            assert (run.store.dir / f"{kind}_stage_{weight}.txt").exists(), f"{kind}_stage_{weight}.txt"
    assert "not collected: no [postgres] in the configuration" in (run.store.dir / "db_health_stage_25.txt").read_text()
    summary = (run.store.dir / "summary_stage_25.txt").read_text()
    assert "result:    PASSED" in summary and "p95" in summary and "142ms" in summary
    warroom = (run.store.dir / "warroom_log.txt").read_text().splitlines()
    minute_lines = [line for line in warroom if line.count("|") == 5]
    assert len(minute_lines) == 7  # one per clock minute of a 7-minute plan
    assert minute_lines[0] == ":00 | Stage 1 (1%) | p95=142ms 5xx=0.2% | 2/2 PASS | engine: Continue | IC: —"
    assert warroom[-1].endswith("PROMOTED: v1.4.0 at 100%, every stage passed")
    assert run.store.verify().intact
    assert not (run.store.dir / "control.sock").exists()
    print(f"\n5-stage plan (7 clock minutes, 28 evaluations) in {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0


async def test_the_default_90_minute_plan_runs_in_seconds(tmp_path):
    run = Run(tmp_path, plan=DEFAULT_PLAN)
    started = time.perf_counter()
    outcome = await run()
    elapsed = time.perf_counter() - started
    assert outcome.result == "promoted"
    assert run.clock.now() - run.journal()[0]["ts"] == 90 * 60
    assert len(run.of("decision")) == 90 * 60 // 15
    assert len([r for r in run.of("warroom") if "minute" in r]) == 91  # minutes 0 to 90, the last evaluation's included
    print(f"\nthe default 90-minute plan (360 evaluations) in {elapsed:.2f} s")
    assert elapsed < 5


def reading_command(log: Path) -> list[str]:
    """A real read-back: prints the weight the recording command last set (0 before any shift)."""
    code = (f"import pathlib; p = pathlib.Path({str(log)!r}); "
            "lines = p.read_text().split(chr(10)) if p.exists() else []; "
            "lines = [line.split() for line in lines if line.strip()]; print(lines[-1][1] if lines else 0)")
    return [sys.executable, "-c", code]


async def test_the_weight_read_back_after_each_shift_and_the_rollback_is_on_the_war_rooms_record(tmp_path):
    def values():
        return {"p95": 0.350 if current_weight(log) >= 25 else 0.142, "errors": 0.002}

    run = Run(tmp_path, values=values)
    log = run.log
    signals = {"p95": {"short": "p95", "query": "q", "unit": "s", "max": 0.2},
               "errors": {"short": "5xx", "query": "q", "unit": "ratio", "max": 0.01}}
    run.config = make_config(tmp_path, stages=SHORT_PLAN, signals=signals, traffic={
        "set_weight": recording_command(log), "read_weight": reading_command(log), "read_timeout": "5s",
    })
    outcome = await run()
    assert outcome.result == "rolled_back"
    warroom = (run.store.dir / "warroom_log.txt").read_text()
    for weight in ("1%", "5%", "25%"):
        assert f"TRAFFIC AT {weight}: read back {weight} after" in warroom, warroom
    assert "ROLLED BACK (read back 0% after" in warroom, warroom
    shifted = run.of("traffic_shifted")
    assert [r["read_back_weight"] for r in shifted] == [1, 5, 25]
    assert "read back:" in (run.store.dir / "rollout_stage_25.txt").read_text()


async def test_a_fail_at_stage_3_runs_the_rollback_command_and_records_its_timings(tmp_path):
    def values():
        # The service degrades once 25 % of traffic reaches the canary, and recovers when it is rolled back.
        return {"p95": 0.350 if current_weight(log) >= 25 else 0.142, "errors": 0.002}

    run = Run(tmp_path, values=values)
    log = run.log
    signals = {"p95": {"short": "p95", "query": "q", "unit": "s", "max": 0.2, "for": "30s"},
               "errors": {"short": "5xx", "query": "q", "unit": "ratio", "max": 0.01}}
    run.config = make_config(tmp_path, stages=SHORT_PLAN, signals=signals, traffic={
        "set_weight": recording_command(log), "rollback": recording_command(log)[:3] + ["rollback", "0", "{version}", "{stage}"],
    })
    outcome = await run()
    assert outcome.result == "rolled_back" and outcome.exit_code == 1
    assert (outcome.stage, outcome.weight) == (3, 25.0)
    assert run.traffic_lines()[-1] == f"rollback 0 {VERSION} 3"  # the command really ran
    assert any("p95 FAIL" in r["message"] for r in outcome.reasons)
    decision = [d for d in run.of("decision") if d["action"] == "rollback"][-1]
    started, done = run.of("rollback_started")[0], run.of("rollback_done")[0]
    assert started["decided_at"] == decision["at"] == done["decided_at"]
    assert started["fired_at"] == started["decided_at"] - 30  # BREACHING from the first sample, FAIL after its `for`
    assert done["ok"] and done["attempts"] == 1
    assert done["decided_at"] <= done["command_started_at"] <= done["command_ended_at"]
    assert done["decision_to_command_ms"] == 0.0  # the clock did not move between decision and command
    assert 0 <= done["decision_to_command_wall_ms"] < 1000
    recovered = run.of("signals_recovered")
    assert recovered and recovered[0]["at"] > done["ts"] and outcome.recovered_at == recovered[0]["at"]
    assert [r["stage"] for r in run.of("stage_passed")] == [1, 2]
    assert "ROLLED BACK" in (run.store.dir / "summary_stage_25.txt").read_text()
    timeline = (run.store.dir / f"rollback_{VERSION}.txt").read_text()
    assert "first seen bad:" in timeline and "decision→command: 0.0 ms" in timeline and "command ended:" in timeline
    assert timeline.rstrip().splitlines()[-1].startswith("signals recovered: 20")
    print(f"\ndecision → rollback command start: {done['decision_to_command_wall_ms']:.1f} ms (measured)")


async def test_an_auto_trigger_rolls_back_immediately(tmp_path):
    run = Run(tmp_path, firing=lambda: current_weight(run.log) >= 5)
    outcome = await run()
    assert outcome.result == "rolled_back" and outcome.stage == 2
    assert run.of("rollback_started")[0]["action"] == "immediate_rollback"
    assert run.traffic_lines()[-1] == f"rollback 0 {VERSION} 2"  # set_weight with {weight}=0 is the default rollback


async def test_a_failing_traffic_command_is_retried_then_reported_loudly_never_done(tmp_path):
    log = tmp_path / "traffic.log"
    traffic = {"set_weight": recording_command(log, fail=True), "rollback": recording_command(log)[:3] + ["rollback", "0", "x", "y"],
               "retries": 2, "backoff": 1.0}
    run = Run(tmp_path, traffic=traffic)
    outcome = await run()
    shifts = run.of("traffic_shifted")
    assert len(shifts) == 1 and shifts[0]["ok"] is False and shifts[0]["attempts"] == 3
    assert "exit 3" in shifts[0]["error"]
    assert not any(r["event"] == "stage_started" for r in run.journal())  # the stage never began
    loud = [text for text, is_loud in run.said if is_loud]
    assert sum("TRAFFIC SHIFT FAILED (attempt" in t for t in loud) == 3
    assert any("ingress not found" in t for t in loud)
    assert outcome.result == "rolled_back" and "traffic shift to 1% FAILED" in outcome.reasons[0]["message"]
    rollout = (run.store.dir / "rollout_stage_1.txt").read_text()
    assert "result:    FAILED" in rollout and "ingress not found" in rollout and "attempts:  3" in rollout


async def test_a_failing_rollback_is_not_called_rolled_back(tmp_path):
    log = tmp_path / "traffic.log"
    traffic = {"set_weight": recording_command(log), "rollback": recording_command(log, fail=True), "retries": 1, "backoff": 0.5}
    run = Run(tmp_path, traffic=traffic, values=lambda: {"p95": 0.5, "errors": 0.0})
    outcome = await run()
    done = run.of("rollback_done")[0]
    assert done["ok"] is False and done["attempts"] == 2
    assert outcome.result == "aborted" and outcome.exit_code == 1
    assert "traffic may still reach the canary" in outcome.error


async def test_blind_signals_hold_then_roll_back(tmp_path):
    run = Run(tmp_path, values=lambda: {"p95": None, "errors": 0.001}, canary={"blind_limit": 10, "blind_for": "1h"})
    outcome = await run()
    holds = run.of("hold")
    start = run.of("stage_started")[0]
    # blind at the stage's end: hold 1 (to +120 s), still blind when it ends: hold 2, then the blind limit
    assert [(h["holds_used"], h["ends_at"] - start["ts"]) for h in holds] == [(1, 120), (2, 180)]
    assert outcome.result == "rolled_back" and outcome.stage == 1
    assert any("blind for 10 evaluations" in r["message"] for r in outcome.reasons)
    assert ":0" in (run.store.dir / "warroom_log.txt").read_text() and "p95=—" in (run.store.dir / "warroom_log.txt").read_text()


async def test_without_traffic_the_run_does_not_pretend(tmp_path):
    run = Run(tmp_path, traffic={})
    outcome = await run()
    shift = run.of("traffic_shifted")[0]
    assert shift["ok"] is False and shift["error"] == "no [traffic] configured"
    assert outcome.result == "aborted" and outcome.error == "no [traffic] configured"
    assert not run.of("stage_started")


async def test_dry_traffic_watches_every_stage_without_moving_traffic(tmp_path):
    run = Run(tmp_path, traffic={})
    outcome = await run(dry_traffic=True)
    assert outcome.result == "promoted"
    shifts = run.of("traffic_shifted")
    assert len(shifts) == 5 and all(not s["ok"] and s["dry"] for s in shifts)
    assert all(s["error"].startswith("no [traffic] configured") for s in shifts)


async def test_a_finished_run_is_not_run_again(tmp_path):
    run = Run(tmp_path)
    first = await run()
    records = len(run.journal())
    again = await run()
    assert again.already_finished and again.result == first.result == "promoted"
    assert len(run.journal()) == records and len(run.traffic_lines()) == 5


async def test_one_live_run_per_version(tmp_path):
    run = Run(tmp_path, plan=[(1, 3600)])
    task = asyncio.create_task(run())
    while not run.of("stage_started"):
        await asyncio.sleep(0.01)
    # the ManualClock run above is busy; a second run for the same version must refuse
    second = Run(tmp_path)
    with pytest.raises(CanaryError, match="already live"):
        await second()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_mid_stage_then_resumed_from_the_journal(tmp_path):
    """A stop mid-stage (and a torn last line) resumes the same stage: ends_at kept, no second shift."""
    stop = {"armed": True}

    def values():
        if stop["armed"] and current_weight(run.log) == 5 and run.clock.now() - run.of("stage_started")[-1]["ts"] >= 30:
            stop["armed"] = False
            raise asyncio.CancelledError  # the process stops here, mid-stage 2
        return healthy()

    run = Run(tmp_path, values=values)
    with pytest.raises(asyncio.CancelledError):
        await run()
    before = run.journal()
    assert before[-1]["event"] != "canary_done"
    with (run.store.dir / "journal.jsonl").open("ab") as handle:
        handle.write(b'{"seq": 999, "event": "sam')  # a torn last line
    stage2 = run.of("stage_started")[-1]
    assert stage2["stage"] == 2

    outcome = await run()
    after = run.journal()
    assert outcome.result == "promoted" and outcome.resumed
    assert [r["seq"] for r in after] == list(range(1, len(after) + 1))
    assert after[: len(before)] == before  # nothing lost, nothing rewritten
    resumed = [r for r in run.of("run_started") if r.get("resumed")]
    assert len(resumed) == 1 and resumed[0]["stage"] == 2 and resumed[0]["torn_bytes"] > 0
    assert [r for r in run.of("stage_started") if r["stage"] == 2] == [stage2]  # same stage, same ends_at
    last_sample = [r for r in before if r["event"] == "sample"][-1]
    assert run.board.restored[0] == last_sample["board"]["signals"]  # the timers, from the last sample
    history = run.board.restored[1]["history"]["p95"]
    assert history[-1] == [last_sample["ts"], 0.142] and len(history) == len([r for r in before if r["event"] == "sample"])
    assert run.of("stage_passed")[1]["ts"] == stage2["ends_at"]
    ok_shifts = [r["stage"] for r in run.of("traffic_shifted") if r["ok"]]
    assert ok_shifts == [1, 2, 3, 4, 5] and len(run.traffic_lines()) == 5
    minutes = [r["minute"] for r in run.of("warroom") if "minute" in r]
    assert len(minutes) == len(set(minutes))
    warroom = (run.store.dir / "warroom_log.txt").read_text().splitlines()
    assert warroom == [r["line"] for r in run.of("warroom")]  # rebuilt from the journal, never doubled


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []
    fail_first = 0

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"ingress controller busy")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"applied": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Webhook.received = []
    _Webhook.fail_first = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_port}/canary"
    finally:
        server.shutdown()
        server.server_close()


async def test_webhook_moves_traffic_and_rolls_back(tmp_path, webhook):
    server, url = webhook
    _Webhook.fail_first = 1  # the first call answers 503: retried
    weight = {"now": 0.0}

    def values():
        latest = _Webhook.received[-1] if _Webhook.received else {"weight": 0}
        weight["now"] = latest["weight"]
        return {"p95": 0.4 if latest["weight"] >= 50 else 0.1, "errors": 0.0}

    run = Run(tmp_path, traffic={"webhook": url, "retries": 2, "backoff": 0.5}, values=values)
    outcome = await run()
    assert outcome.result == "rolled_back" and outcome.stage == 4
    sent = [(b["action"], b["weight"], b["stage"]) for b in _Webhook.received]
    assert sent == [("shift", 1.0, 1), ("shift", 1.0, 1), ("shift", 5.0, 2), ("shift", 25.0, 3), ("shift", 50.0, 4), ("rollback", 0.0, 4)]
    assert all(b["version"] == VERSION for b in _Webhook.received)
    first = run.of("traffic_shifted")[0]
    assert first["ok"] and first["attempts"] == 2
    assert "HTTP 503" in (run.store.dir / "rollout_stage_1.txt").read_text()
    assert run.of("rollback_done")[0]["ok"]


async def test_the_run_records_the_baseline_it_judges_against(tmp_path):
    run = Run(tmp_path)
    await run(baseline={"p95": 0.120, "errors": None})
    assert run.of("run_started")[0]["baseline"] == {"p95": 0.120, "errors": None}


async def test_an_unwritable_journal_still_rolls_back(tmp_path, monkeypatch):
    """Disk full at the worst moment: the decision cannot be journaled, the rollback command runs anyway."""
    import errno

    from cockpit.run.journal import Journal

    run = Run(tmp_path, firing=lambda: current_weight(run.log) >= 5)
    append = Journal.append

    def full_disk_at_rollback(self, event, ts, **fields):
        if event == "rollback_started":
            raise OSError(errno.ENOSPC, "No space left on device")
        return append(self, event, ts, **fields)

    monkeypatch.setattr(Journal, "append", full_disk_at_rollback)
    with pytest.raises(OSError):
        await run()
    assert run.traffic_lines()[-1] == f"rollback 0 {VERSION} 2"  # the command ran although nothing could be journaled
    assert any("JOURNAL NOT WRITABLE" in text and loud for text, loud in run.said)
