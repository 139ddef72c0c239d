"""Prints what the cockpit screen costs, measured in a real terminal (tmux, 80x24).

  .venv/bin/python bench/tui.py [--seconds 10]

- start-up: `cockpit attach` launched → its first full screen (the status bar drawn); the median of
  several starts, with the bytecode cache an installed copy has (pip compiles it at install time), and
  once from source without one (a fresh checkout, or PYTHONDONTWRITEBYTECODE=1 as in CI sandboxes);
  beside it the floor on this machine: a bare Textual app started the same way
- idle: CPU and bytes/s to the terminal while nothing new arrives (only the 1 s clock)
- busy: the same while a feeder appends a sample with all 8 signals every second, and beside it, in the
  same seconds and the same kind of pane, htop and btop (installed with apt where missing) at their
  default refresh: what a terminal tool an SRE already runs costs on this machine
- memory: resident set after replaying a compressed 24 h run (5760 samples, 1440
  war-room lines), and again after another hour of samples (flat = bounded state)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.run.journal import Journal  # noqa: E402
from tests.tui_fixtures import SIGNALS, VERSION, canary_events, journal_of  # noqa: E402

COCKPIT = str(Path(sys.executable).with_name("cockpit"))
TICK = os.sysconf("SC_CLK_TCK")
# How often the screen is looked at while it starts: each look runs a tmux client, and looking every 5 ms
# took a third of a core from a start that has two processes on two cores (the error is at most this).
POLL_S = 0.02


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10).stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample_event(ts: float, index: int) -> tuple[str, float, dict]:
    signals = {}
    for name, (unit, limit, base, _) in SIGNALS.items():
        value = base * (1 + ((index * 7 + len(name)) % 5) * 0.05)
        signals[name] = {"value": value, "state": "PASS", "limit": limit, "unit": unit, "window": 60, "reason": "",
                         "dry_run": False}
    return "sample", ts, {"stage": 5, "weight": 100, "signals": signals, "triggers": {}}


# The floor under any start-up figure on this machine: a Textual app with one line of text, a status line
# like the cockpit's and a footer (Textual's own import and first paint, nothing of the cockpit's).
FLOOR_APP = """
from textual.app import App
from textual.widgets import Footer, Static

class Floor(App):
    CSS = "#body { height: 1fr; } #status { height: 1; }"

    def compose(self):
        yield Static("body", id="body")
        yield Static(" READ-ONLY ", id="status")
        yield Footer()

Floor().run(mouse=False)
"""


class Session:
    def __init__(self, evidence: Path, config: Path, env: dict[str, str] | None = None,
                 command: str | None = None, ready: Callable[[str], bool] | None = None) -> None:
        self.socket = f"cockpit-bench-{os.getpid()}-{time.monotonic_ns()}"
        self.evidence, self.config = evidence, config
        self.command = command or f"{COCKPIT} attach {VERSION} --config {config} --no-mouse"
        self.env = env if env is not None else dict(os.environ)
        self.pid = 0
        self.startup_cpu = 0.0
        self.figures = (0.0, 0.0)
        # The first full screen: the status bar (its line above the footer) says READ-ONLY.
        self.ready = ready or (lambda screen: "READ-ONLY" in (screen.splitlines()[-2:] or [""])[0])

    def start(self) -> float:
        """Start `cockpit attach` in a running tmux (as a user would); seconds until its first full screen."""
        # The tmux server is up before the clock starts: its own start-up is not the cockpit's.
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "idle", "sleep 3600"], check=True,
                       env=self.env)
        started = time.perf_counter()
        # tmux hands its server's environment to the pane; the variables that matter are set on the command
        cache = {k: self.env[k] for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE") if k in self.env}
        prefix = " ".join(f"{k}={v}" for k, v in cache.items())
        unset = "" if "PYTHONDONTWRITEBYTECODE" in cache else "-u PYTHONDONTWRITEBYTECODE "
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "b", "-x", "80", "-y", "24",
                        f"exec env {unset}{prefix} {self.command}"],
                       check=True, env={**self.env, "TERM": "xterm-256color"})
        while not self.ready(tmux(self.socket, "capture-pane", "-p", "-t", "b")):
            if time.perf_counter() - started > 30:
                raise SystemExit("the cockpit did not draw its first screen within 30 s")
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - started
        self.pid = int(tmux(self.socket, "list-panes", "-t", "b", "-F", "#{pane_pid}").strip())
        self.startup_cpu = cpu_seconds(self.pid)  # less sensitive than wall time to a busy machine
        return elapsed

    def measure(self, seconds: float, feeder: threading.Thread | None = None,
                beside: Sequence[Session] = ()) -> tuple[float, float]:
        """(CPU % of one core, bytes per second written to the terminal) over `seconds`.

        `beside`: other sessions measured over the same seconds (their figures in their `figures`).
        """
        sessions = [self, *beside]
        outs = [self.evidence.parent / f"pipe-{time.monotonic_ns()}-{i}.out" for i in range(len(sessions))]
        for session, out in zip(sessions, outs):
            tmux(session.socket, "pipe-pane", "-o", "-t", "b", f"cat >> {out}")
        cpus0, wall0 = [cpu_seconds(s.pid) for s in sessions], time.perf_counter()
        if feeder is not None:
            feeder.start()
        time.sleep(seconds)
        cpus1, wall1 = [cpu_seconds(s.pid) for s in sessions], time.perf_counter()
        for session in sessions:
            tmux(session.socket, "pipe-pane", "-t", "b")
        if feeder is not None:
            feeder.join()
        for session, out, cpu0, cpu1 in zip(sessions, outs, cpus0, cpus1):
            size = out.stat().st_size if out.exists() else 0
            session.figures = (100 * (cpu1 - cpu0) / (wall1 - wall0), size / (wall1 - wall0))
        return self.figures

    def stop(self) -> None:
        tmux(self.socket, "kill-server")


def neighbours(work: Path) -> list[tuple[str, Session]]:
    """htop and btop in panes like the cockpit's (installed with apt where missing; skipped if that fails)."""
    missing = [tool for tool in ("htop", "btop") if shutil.which(tool) is None]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], capture_output=True,
                       timeout=300)
    tools = []
    for tool, ready in (("htop", "Load average"), ("btop", "cpu")):
        path = shutil.which(tool)
        if path is None:
            print(f"bench/tui.py: {tool} is not installed and apt could not install it: left out", file=sys.stderr)
            continue
        # btop keeps its config in $HOME: a private one, so a user's settings do not change its figures
        home = work / f"home-{tool}"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "HOME": str(home), "LANG": "C.UTF-8"}
        tools.append((tool, Session(home / tool, work, env, f"{path}", ready=lambda screen, word=ready: word in screen)))
    return tools


def write_run(evidence: Path) -> Journal:
    """A canary at stage 2 whose last sample was 15 s ago (tests.tui_fixtures.canary_events), left open."""
    return journal_of(evidence / VERSION / "journal.jsonl", canary_events(t0=float(int(time.time()) - 1200)))


def startups(evidence: Path, config: Path, kinds: dict[str, tuple[dict[str, str], str | None]],
             runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Start each kind (env, command; None: `cockpit attach`) `runs` times, taking turns so that a machine
    getting busier or quieter meanwhile weighs on every kind alike; (wall, CPU seconds) to the first full screen."""
    results: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind in kinds}
    for _ in range(runs):
        for kind, (env, command) in kinds.items():
            session = Session(evidence, config, env, command)
            try:
                results[kind][0].append(session.start())
                results[kind][1].append(session.startup_cpu)
            finally:
                session.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each steady-state measurement")
    parser.add_argument("--starts", type=int, default=5, help="start-ups measured (the median is printed)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("bench/tui.py needs tmux", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    evidence = work / "evidence"
    config = work / "cockpit.toml"
    config.write_text('[evidence]\ndir = "evidence"\n')
    write_run(evidence).close()

    # Installed: bytecode cached (in a private prefix, so the source tree gets no __pycache__); one start warms it.
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    # From source: this checkout's own modules compiled on every start (libraries keep their installed bytecode).
    source = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    floor_app = work / "floor_app.py"
    floor_app.write_text(FLOOR_APP)
    kinds = {"cached": (cached, None), "source": (source, None), "floor": (cached, f"{sys.executable} {floor_app}")}
    startups(evidence, config, kinds, 1)  # warms the bytecode caches
    started = startups(evidence, config, kinds, max(1, args.starts))
    (walls, cpus), (source_walls, source_cpus), (floor_walls, floor_cpus) = (started[k] for k in kinds)

    # The steady state on a journal written just now (its last sample 15 s old, as in a live run): the
    # start-ups above took long enough for the first journal's signals to go STALE, which repaints every second.
    steady = work / "steady"
    steady_config = work / "steady.toml"
    steady_config.write_text(f'[evidence]\ndir = "{steady}"\n')
    journal = write_run(steady)
    session = Session(steady, steady_config, cached)
    others = neighbours(work)
    try:
        session.start()
        for _, other in others:
            other.start()
        time.sleep(1.0)  # let the replay settle before measuring the steady state
        idle_cpu, idle_bytes = session.measure(args.seconds)

        def feed() -> None:
            for i in range(int(args.seconds)):
                journal.append(*sample_event(time.time(), i)[:2], **sample_event(time.time(), i)[2])
                time.sleep(1.0)

        busy_cpu, busy_bytes = session.measure(args.seconds, threading.Thread(target=feed),
                                               beside=[other for _, other in others])
    finally:
        session.stop()
        for _, other in others:
            other.stop()

    # Memory: a compressed first night — 24 h of samples every 15 s — replayed, then one more hour.
    night = work / "night"
    night_config = work / "night.toml"
    night_config.write_text(f'[evidence]\ndir = "{night}"\n')
    long = Journal(night / VERSION / "journal.jsonl")
    t0 = time.time() - 86400
    long.append("run_started", t0, version=VERSION, plan=[{"weight": 100, "hold": 86400}], pid=1, drill=True)
    long.append("stage_started", t0, stage=1, weight=100, hold=86400, ends_at=t0 + 86400)
    for i in range(5760):
        name, ts, fields = sample_event(t0 + i * 15, i)
        long.append(name, ts, **fields)
        if i % 4 == 0:
            long.append("warroom", ts, line=f":{i // 4 % 60:02d} | night | p95=130ms | 8/8 PASS")
    size_mb = (night / VERSION / "journal.jsonl").stat().st_size / 1e6
    night_session = Session(night, night_config, cached)
    try:
        replay = night_session.start()
        deadline = time.time() + 120
        while "journal" not in tmux(night_session.socket, "capture-pane", "-p", "-t", "b") and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)
        rss_24h = rss_mb(night_session.pid)
        for i in range(240):  # one more hour
            name, ts, fields = sample_event(time.time(), i)
            long.append(name, ts, **fields)
        time.sleep(3.0)
        rss_25h = rss_mb(night_session.pid)
    finally:
        night_session.stop()
        long.close()
        journal.close()
        shutil.rmtree(work, ignore_errors=True)

    print("cockpit TUI (cockpit attach, tmux 80x24, 256 colours, --no-mouse)")
    print(f"  start-up to first full screen   {statistics.median(walls):6.2f} s wall, {statistics.median(cpus):.2f} s CPU"
          f" (median of {len(walls)}, min {min(walls):.2f} s; bytecode cached as installed;"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"    from source, no bytecode cache {statistics.median(source_walls):5.2f} s wall,"
          f" {statistics.median(source_cpus):.2f} s CPU (median of {len(source_walls)})")
    print(f"    floor: a bare Textual app     {statistics.median(floor_walls):5.2f} s wall,"
          f" {statistics.median(floor_cpus):.2f} s CPU (a Static, a status line and a Footer; Textual alone)")
    print(f"    start-up / floor              {statistics.median(walls) / statistics.median(floor_walls):5.2f}x wall,"
          f" {statistics.median(cpus) / statistics.median(floor_cpus):.2f}x CPU (medians of the same run)")
    print(f"  idle (1 s clock only)           {idle_cpu:6.2f} % of a core   {idle_bytes:7.0f} B/s to the terminal")
    print(f"  8 sparklines updating at 1 Hz   {busy_cpu:6.2f} % of a core   {busy_bytes:7.0f} B/s to the terminal")
    for tool, other in others:
        cpu, rate = other.figures
        print(f"    beside it: {tool:<18} {cpu:6.2f} % of a core   {rate:7.0f} B/s (same seconds, default refresh)")
    print(f"  24 h journal ({size_mb:.0f} MB) replayed   {replay:6.2f} s to first screen, RSS {rss_24h:.0f} MB;"
          f" +1 h of samples: RSS {rss_25h:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
