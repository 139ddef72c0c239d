"""The live run's control socket: `cockpit ctl` rollback, hold/resume/promote, notes, owner-only access.

These runs use the wall clock (commands must arrive while a stage is live) with
short evaluation intervals, and the in-test boards of tests/canary_boards.py.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.clock import SystemClock
from cockpit.evidence import EvidenceStore
from cockpit.run.canary import run_canary
from cockpit.run.control import control_request, socket_path
from cockpit.run.journal import read_journal
from tests.canary_boards import ScriptedSignalBoard, ScriptedTriggerBoard, healthy, make_config, recording_command
from tests.services import temp_root

VERSION = "v2.0.0"
REPO = Path(__file__).resolve().parents[2]


class JumpClock(SystemClock):
    """The wall clock, which a test can move on by a minute (to see the next war-room minute line at once)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return super().now() + self.offset


class LiveRun:
    def __init__(self, root: Path, plan, values=healthy, ic: str | None = None, **canary):
        self.root = root
        self.ic = ic
        self.log = root / "traffic.log"
        self.config = make_config(root, stages=plan, evaluate_every=0.05,
                                  traffic={"set_weight": recording_command(self.log)},
                                  canary={"recovery_window": 0.2, **canary})
        self.clock = JumpClock()
        self.store = EvidenceStore(root / "evidence", VERSION, self.config.redactor())
        self.values = values
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(run_canary(
            self.config, VERSION, source=None, clock=self.clock, store=self.store, events=None,
            signal_board=ScriptedSignalBoard(self.config, self.clock, self.values),
            trigger_board=ScriptedTriggerBoard(self.clock), ic=self.ic,
        ))

    @property
    def socket(self) -> Path:
        return socket_path(self.store.dir)

    def journal(self) -> list[dict]:
        return read_journal(self.store.dir / "journal.jsonl").records

    def of(self, event: str) -> list[dict]:
        return [r for r in self.journal() if r["event"] == event]

    async def until(self, predicate, timeout: float = 10.0, what: str = "the run"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.task is not None and self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)
        raise TimeoutError(f"timed out waiting for {what}")

    async def ask(self, **request) -> dict:
        return await asyncio.to_thread(control_request, self.socket, request, 10.0)


async def _ctl(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cockpit", "ctl", *args, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def test_rollback_by_cockpit_ctl_during_a_run(tmp_path):
    run = LiveRun(tmp_path, plan=[(1, 0.2), (5, 3600)])
    run.start()
    await run.until(lambda: [s for s in run.of("stage_started") if s["stage"] == 2], what="stage 2")
    mode = stat.S_IMODE(os.stat(run.socket).st_mode)
    assert mode == 0o600 and stat.S_ISSOCK(os.stat(run.socket).st_mode)

    code, out, err = await _ctl(VERSION, "rollback", "--reason", "error budget burning on checkout", "--by", "AB",
                                "--evidence-dir", str(run.store.root))
    assert code == 0, err
    assert "rollback done" in out
    outcome = await asyncio.wait_for(run.task, 10)
    assert outcome.result == "rolled_back" and (outcome.stage, outcome.weight) == (2, 5.0)
    assert "error budget burning on checkout" in outcome.reasons[0]["message"]
    operator = run.of("operator")[0]
    assert operator["command"] == "rollback" and operator["by"].endswith("(AB)")
    assert run.log.read_text().splitlines()[-1] == f"rollback 0 {VERSION} 2"
    done = run.of("rollback_done")[0]
    lag = done["command_started_at"] - done["decided_at"]
    assert 0 <= lag < 0.5  # applied at once, not at the next evaluation
    print(f"\noperator rollback → command start: {lag * 1000:.1f} ms")
    assert not run.socket.exists()


async def test_hold_resume_promote_note_and_status(tmp_path):
    run = LiveRun(tmp_path, plan=[(1, 0.6), (5, 3600), (25, 3600)])
    run.start()
    await run.until(lambda: run.of("stage_started"), what="stage 1")

    held = await run.ask(command="hold", reason="waiting for the DBA", by="CD")
    assert held["ok"], held
    stage1 = run.of("stage_started")[0]
    await run.until(lambda: time.time() > stage1["ends_at"] + 0.4, what="stage 1's end to pass")
    assert not run.of("stage_passed")  # held: the stage does not proceed at its end
    late = [d for d in run.of("decision") if d["ts"] > stage1["ends_at"]]
    assert late and all(d["action"] == "hold" for d in late)
    assert any(r["source"] == "operator" for r in late[-1]["reasons"])
    status = (await run.ask(command="status"))["status"]
    assert status["stage"] == 1 and status["held_by"].endswith("(CD)") and status["last_decision"]["action"] == "hold"

    # several clients at once
    replies = await asyncio.gather(*(run.ask(command="status") for _ in range(8)))
    assert all(r["ok"] and r["status"]["stage"] == 1 for r in replies)

    assert (await run.ask(command="resume"))["ok"]
    await run.until(lambda: run.of("stage_passed"), timeout=2, what="stage 1 to pass after resume")

    await run.until(lambda: any(s.get("stage") == 2 for s in run.of("sample")), what="a sample in stage 2")
    code, out, err = await _ctl(VERSION, "note", "checkout", "latency", "looks", "fine", "--evidence-dir", str(run.store.root))
    assert code == 0, err
    code, out, err = await _ctl(VERSION, "status", "--evidence-dir", str(run.store.root))
    assert code == 0 and f"{VERSION} stage 2/3 (5%)" in out and "last decision: continue" in out

    secret = await run.ask(command="note", text="pasted postgresql://app:hunter22@db:5432/shop by mistake")
    assert secret["ok"]
    promoted = await run.ask(command="promote", reason="IC call: metrics flat")
    assert promoted["ok"], promoted
    await run.until(lambda: any(s.get("stage") == 3 for s in run.of("sample")), what="a sample in stage 3")
    assert (await run.ask(command="promote"))["ok"]
    outcome = await asyncio.wait_for(run.task, 10)
    assert outcome.result == "promoted"
    passed = run.of("stage_passed")
    assert [p["stage"] for p in passed] == [1, 2, 3] and "by" not in passed[0] and passed[1]["by"] and passed[2]["by"]

    note = run.of("note")[0]
    assert note["text"] == "checkout latency looks fine" and note["stage"] == 2
    warroom = (run.store.dir / "warroom_log.txt").read_text()
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert f"NOTE {me}: checkout latency looks fine" in warroom
    assert "HOLD by" in warroom and "RESUME by" in warroom and "PROMOTE NOW by" in warroom
    assert "postgresql://app:***@db:5432/shop" in run.of("note")[1]["text"]
    for name in ("journal.jsonl", "warroom_log.txt"):
        assert "hunter22" not in (run.store.dir / name).read_text()  # secrets never reach the record
    commands = [o["command"] for o in run.of("operator")]
    assert commands == ["hold", "resume", "promote", "promote"]


async def test_promote_is_refused_on_a_blind_signal_and_ctl_reports_it(tmp_path):
    run = LiveRun(tmp_path, plan=[(1, 3600)], values=lambda: {"p95": None, "errors": 0.0}, blind_limit=100000)
    run.start()
    await run.until(lambda: run.of("sample"), what="a sample")
    code, out, err = await _ctl(VERSION, "promote", "--evidence-dir", str(run.store.root))
    assert code == 1 and "refused" in err and "p95 BLIND" in err
    reply = await run.ask(command="rollback", reason="cannot see p95")
    assert reply["ok"] and reply["rollback"]["ok"]
    outcome = await asyncio.wait_for(run.task, 10)
    assert outcome.result == "rolled_back"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
async def test_another_uid_is_refused_even_if_the_file_mode_lets_it_connect():
    root = temp_root("cockpit-ctl-")
    try:
        run = LiveRun(root, plan=[(1, 3600)])
        run.start()
        await run.until(lambda: run.of("sample"), what="a sample")
        os.chmod(run.socket, 0o666)  # as if someone loosened the mode: the peer check must still refuse
        client = (
            "import json, socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
            "s.sendall(b'{\"command\": \"rollback\", \"reason\": \"not mine\"}\\n'); print(s.makefile().readline())"
        )
        # a Python the other user may run (not one under /root)
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
        result = await asyncio.to_thread(
            subprocess.run, [python, "-c", client, str(run.socket)], user="nobody", capture_output=True, text=True, timeout=10,
        )
        assert "permission denied: uid" in result.stdout, result.stderr
        assert not run.of("operator") and not run.of("rollback_started")
        assert (await run.ask(command="status"))["ok"]
        run.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run.task
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_the_ics_own_call_is_recorded_beside_the_engines_decision_and_moves_no_traffic(tmp_path):
    run = LiveRun(tmp_path, plan=[(1, 0.3), (5, 3600)], ic="AB")
    run.start()
    await run.until(lambda: any(s.get("stage") == 2 for s in run.of("sample")), what="a sample in stage 2")
    assert run.of("run_started")[0]["ic"] == "AB"
    shifts = run.log.read_text().splitlines()

    code, out, err = await _ctl(VERSION, "note", "p95", "creeping", "--call", "rollback", "--by", "AB",
                                "--evidence-dir", str(run.store.root))
    assert code == 0, err
    assert "IC call ROLLBACK recorded for stage 2" in out and "moves no traffic" in out
    [call] = run.of("ic_call")
    assert (call["call"], call["stage"], call["reason"]) == ("ROLLBACK", 2, "p95 creeping") and call["by"].endswith("(AB)")
    # A call is not the rollback key: nothing shifted, no rollback, the engine keeps deciding.
    run.clock.offset += 60  # the next evaluation opens war-room minute :01
    await run.until(lambda: [w for w in run.of("warroom") if w.get("minute") == 1], what="minute :01's line")
    assert run.log.read_text().splitlines() == shifts
    assert not run.of("rollback_started") and not run.of("operator")
    [minute] = [w["line"] for w in run.of("warroom") if w.get("minute") == 1]
    assert minute.endswith("| engine: Continue | IC (AB): ROLLBACK"), minute
    warroom = (run.store.dir / "warroom_log.txt").read_text()
    assert "IC CALL ROLLBACK by" in warroom and "(IC AB): p95 creeping" in warroom

    code, out, err = await _ctl(VERSION, "note", "--call", "maybe", "--evidence-dir", str(run.store.root))
    assert code == 2 and "invalid choice" in err
    code, out, err = await _ctl(VERSION, "hold", "--call", "GO", "--evidence-dir", str(run.store.root))
    assert code == 2 and "--call goes with `note`" in err
    assert (await run.ask(command="note", call="SHIP IT"))["error"].startswith("unknown call")
    assert (await run.ask(command="rollback", reason="done here", wait=5))["ok"]
    await asyncio.wait_for(run.task, 10)
