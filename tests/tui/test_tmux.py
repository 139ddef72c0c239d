"""The real `cockpit` in a real terminal (tmux, 80x24): what an IC sees in a tmux pane over SSH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui_fixtures import VERSION, canary_events, journal_of

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

COCKPIT = str(Path(sys.executable).with_name("cockpit"))
STATUS = re.compile(r"(✔ PASS|! WARN|▲ FAIL|\? UNKNOWN|◷ STALE \d+[smh])")


class Terminal:
    """One tmux server of our own (its own socket), one 80x24 window."""

    def __init__(self, name: str) -> None:
        self.socket = name

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10).stdout

    def start(self, command: list[str], cwd: Path) -> None:
        line = " ".join(f"'{part}'" for part in command)
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "t", "-x", "80", "-y", "24",
                        "-c", str(cwd), f"{line}; sleep 60"], check=True, timeout=10,
                       env={**os.environ, "TERM": "xterm-256color"})

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def wait(self, condition: Callable[[str], bool], what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if condition(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{text}")
            time.sleep(0.05)  # polling a terminal we do not own the loop of


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(f"cockpit-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def live_run(tmp_path: Path) -> Path:
    """A config and a journal of a run at stage 2 (started 20 minutes ago), as the canary process leaves them."""
    evidence = tmp_path / "evidence"
    journal_of(evidence / VERSION / "journal.jsonl", canary_events(t0=float(int(time.time()) - 1200))).close()
    config = tmp_path / "cockpit.toml"
    config.write_text('[evidence]\ndir = "evidence"\n')
    return config


def test_the_ic_can_read_the_war_room_at_80x24(terminal: Terminal, live_run: Path) -> None:
    terminal.start([COCKPIT, "tui", "--config", str(live_run), VERSION, "--no-mouse"], live_run.parent)
    screen = terminal.wait(lambda s: "STALE" in s and s.splitlines()[-2:][0].count("^r ROLLBACK") == 1,
                           "the replayed journal and the status bar")
    lines = screen.splitlines()
    assert "^r ROLLBACK" in lines[-1] and "^r ROLLBACK" in lines[-2]  # footer and status bar
    assert "! HOLD" in screen and "FIRING: gc_pause_hold" in screen
    for short in ("p95", "5xx", "ws", "risk", "idemp", "csp", "eloop", "gc"):
        row = next(line for line in lines if line.split()[:1] == [short])
        assert STATUS.search(row), f"no readable status on the {short} row: {row!r}"
    assert "Stage 2 (5%)" in lines[0] and "LIVE" in lines[0]

    terminal.keys("C-r")
    terminal.wait(lambda s: "ROLL BACK v1.4.0" in s, "the rollback confirmation")
    terminal.keys("Escape")
    terminal.wait(lambda s: "rollback cancelled" in s, "the cancel")

    terminal.keys("q")
    terminal.wait(lambda s: "keeps running" in s, "the quit question")
    terminal.keys("y")
    terminal.wait(lambda s: "ROLLBACK" not in s, "the cockpit to close")


def test_attach_is_read_only_in_a_real_terminal(terminal: Terminal, live_run: Path) -> None:
    terminal.start([COCKPIT, "attach", VERSION, "--config", str(live_run), "--low-color"], live_run.parent)
    screen = terminal.wait(lambda s: "STALE" in s, "the replayed journal")
    assert "READ-ONLY" in screen and "ROLLBACK" not in screen.replace("ROLLBACK started", "")
    terminal.keys("C-r")
    time.sleep(0.3)  # give a (wrong) modal the chance to appear before looking
    assert "ROLL BACK" not in terminal.screen()


def _select_waits(pid: int) -> int:
    """Voluntary context switches of the process's threads asleep in select(2) (the input thread among them)."""
    waits = [int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", (task / "status").read_text(), re.M).group(1))
             for task in Path(f"/proc/{pid}/task").iterdir() if "poll_schedule_timeout" in (task / "wchan").read_text()]
    assert waits, "no thread of the cockpit is waiting in select(2)"
    return sum(waits)


def test_the_input_thread_sleeps_until_a_key(terminal: Terminal, live_run: Path) -> None:
    """Textual's input thread wakes ten times a second; ours waits for a key, and esc alone is still a key."""
    terminal.start([COCKPIT, "attach", VERSION, "--config", str(live_run), "--no-mouse"], live_run.parent)
    terminal.wait(lambda s: "STALE" in s, "the replayed journal")
    shell = terminal.tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").strip()
    pid = int(subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True, timeout=10).stdout.split()[0])
    before = _select_waits(pid)
    time.sleep(2.0)
    assert _select_waits(pid) - before <= 2  # Textual's own: about 20 in 2 s
    terminal.keys("?")
    terminal.wait(lambda s: "esc closes" in s, "the help")
    terminal.keys("Escape")  # a lone ESC becomes a key only by its timeout: the thread must wake for it
    terminal.wait(lambda s: "esc closes" not in s, "the help to close on esc")


@pytest.fixture
def night_run(tmp_path: Path) -> Path:
    """A promoted canary and its first night in hour 05 that rolled back in hour 04, as the processes leave the journal."""
    from tests.tui_fixtures import NIGHT_NOW, night_events, shifted

    events = shifted(night_events(rollback=True), float(int(time.time() - NIGHT_NOW)))  # its "now" is now
    journal_of(tmp_path / "evidence" / VERSION / "journal.jsonl", events).close()
    config = tmp_path / "cockpit.toml"
    config.write_text('[evidence]\ndir = "evidence"\n')
    return config


def test_the_first_night_reads_at_80x24(terminal: Terminal, night_run: Path) -> None:
    terminal.start([COCKPIT, "watch", VERSION, "--config", str(night_run), "--no-mouse"], night_run.parent)
    screen = terminal.wait(lambda s: "FIRST NIGHT" in s and "READ-ONLY" in s.splitlines()[-2:][0] and " 04 " in s,
                           "the first-night screen with its hours")
    lines = screen.splitlines()
    assert "FIRST NIGHT · hour 05, the 6th of 24" in lines[0] and "READ-ONLY" in lines[0]
    assert lines[1].startswith(" next: hour 05 summary in ")
    assert "▲ ROLLED BACK in hour 04" in screen and "▲ FIRST-NIGHT ROLLBACK in hour 04" in screen
    assert "✔ rolled back 2.3s after the decision" in screen
    # Every closed hour in a row that reads without colour; the open hour marked; the rollback named.
    hours = {line.split()[0]: line for line in lines if re.match(r"^ \d\d[ ▶]", line)}
    assert sorted(hours) == ["00", "01", "02", "03", "04", "05▶"]
    assert "✔ WITHIN" in hours["02"] and "BACK-FILLED" in hours["02"]
    assert "! WARN" in hours["03"] and "gc_pause_hold" in hours["03"]
    assert "▲ FAIL" in hours["04"] and "ROLLBACK" in hours["04"] and "p95_latency_breach" in hours["04"]
    # The golden signals now, each with a readable status.
    for short in ("p95", "5xx", "ws", "risk", "idemp", "csp", "eloop", "gc"):
        row = next(line for line in lines if line.split()[:1] == [short])
        assert STATUS.search(row), f"no readable status on the {short} row: {row!r}"
    # A viewer: no rollback key, no modal; q closes the screen.
    assert "^r" not in screen
    terminal.keys("C-r")
    time.sleep(0.3)  # give a (wrong) modal the chance to appear before looking
    assert "ROLL BACK" not in terminal.screen()
    terminal.keys("q")
    terminal.wait(lambda s: "FIRST NIGHT" not in s, "the screen to close")


def test_cockpit_alone_without_a_config_opens_the_drill(terminal: Terminal, tmp_path: Path) -> None:
    terminal.start([COCKPIT], tmp_path)
    screen = terminal.wait(lambda s: "DRILL" in s, "the drill screen")
    assert "NO CANARY RUNNING" in screen
    terminal.keys("4")
    terminal.wait(lambda s: "GO / NO-GO" in s and "IC says GO" in s, "the GO/NO-GO pane")


def test_the_drill_checklists_turn_green_and_the_run_of_show_marks_preflight_done(terminal: Terminal,
                                                                                    tmp_path: Path) -> None:
    """`cockpit` alone: the preflight runs for real against the drill's service, Prometheus and database; T-10 is done."""
    from cockpit.drill.database import missing_programs
    from cockpit.drill.prometheus import prometheus_binary

    if missing_programs() or prometheus_binary() is None:
        pytest.skip("the drill's database part needs PostgreSQL and pgBouncer, its Prometheus part prometheus")
    terminal.start([COCKPIT], tmp_path)
    screen = terminal.wait(lambda s: "DRILL" in s and "▶freeze" in s, "the drill's run-of-show at T-30")
    assert "✔pre" not in screen and "pre " in screen  # preflight is due, not done
    terminal.keys("2")
    terminal.wait(lambda s: "Preflight:" in s, "the preflight pane")
    terminal.keys("a")
    screen = terminal.wait(lambda s: "Preflight: 12/12 required items green" in s, "a green preflight", timeout=120)
    statuses = STATUS.findall(screen)
    assert statuses == ["✔ PASS"] * 12, screen
    terminal.keys("1")
    screen = terminal.wait(lambda s: "✔pre" in s, "the T-10 milestone marked done")
    assert "✔blast" in screen  # the blast radius ran with the preflight pane: T-9 done too
    assert "✔red" not in screen and "✔freeze" not in screen  # not run / no work attached: never ✔


def test_drill_end_to_end_an_injected_fault_leads_to_the_rollback(terminal: Terminal, tmp_path: Path) -> None:
    """Start, walk the checklists, start the canary, see the injected latency spike roll it back (DRILL)."""
    terminal.start([COCKPIT, "tui", "--drill", "latency_spike", "--stage-seconds", "4", "--evidence-dir",
                    str(tmp_path)], tmp_path)
    terminal.wait(lambda s: "DRILL" in s and "NO CANARY RUNNING" in s, "the drill screen")
    terminal.keys("2")
    terminal.wait(lambda s: "Preflight:" in s, "the preflight pane")
    terminal.keys("j", "j", "k")
    terminal.keys("4", "j", "j", "j", "j", "Space")  # the first four GO/NO-GO items are computed: never ticked
    terminal.wait(lambda s: "Tick: Backup / PITR verified" in s, "the tick dialog")
    terminal.keys("a", "b", "Enter")
    terminal.wait(lambda s: "TICKED" in s, "the ticked item")
    terminal.keys("5", "t")
    terminal.wait(lambda s: "start the DRILL canary?" in s, "the T-0 question")
    terminal.keys("y", "1")
    screen = terminal.wait(lambda s: "ROLLED BACK" in s and "no further stages" in s, "the rollback", timeout=120)
    assert "DRILL" in screen.splitlines()[0]
    assert "ROLLBACK" in screen and "p95" in screen
    journal = (tmp_path / "v0.0.0-drill" / "journal.jsonl").read_text()
    assert '"event": "rollback_done"' in journal  # the canary's own record of it
