"""A real Prometheus for the drill: a temporary folder, a free loopback port, a 1 s scrape of the simulator.

Started only when a `prometheus` binary is on PATH; stopped (and its folder
removed) when the drill ends. It keeps no data beyond the drill.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from cockpit.errors import UnavailableError

SCRAPE_INTERVAL_S = 1.0
JOB = "drill"


class DrillPrometheusError(UnavailableError):
    """Prometheus could not be started or did not get data in time: one line."""


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DrillPrometheus:
    """Prometheus scraping one target (the simulator) every second."""

    def __init__(self, target: str, binary: str | None = None, root: Path | None = None, port: int = 0) -> None:
        self.target = target
        self.fixed_port = port  # 0: a free port at each launch (a drill's checks need to know it beforehand)
        self.binary = binary or prometheus_binary() or "prometheus"
        self._own_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="cockpit-drill-prom-"))
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 20.0) -> DrillPrometheus:
        """Launch and wait until ready (a port taken between picking and binding: try again, up to 3 times)."""
        for _ in range(3):
            self.launch()
            if self.wait_ready(timeout):
                return self
            self.stop()
        raise DrillPrometheusError(f"Prometheus did not become ready: {self.last_log_line()}")

    def launch(self) -> None:
        """Start the process on a free port (returns at once; see wait_ready).

        Call it from a thread that lives as long as the drill (the event loop's): with
        setpriv on PATH, Prometheus gets SIGTERM when that thread's process dies, so
        a drill killed with SIGKILL leaves no Prometheus behind.
        """
        config = self.root / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_S:g}s\n"
            f"  scrape_timeout: {SCRAPE_INTERVAL_S:g}s\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL_S:g}s\n"
            "scrape_configs:\n"
            f"  - job_name: {JOB}\n"
            "    static_configs:\n"
            f"      - targets: [\"{self.target}\"]\n"
        )
        self.port = self.fixed_port or free_port()
        guard = shutil.which("setpriv")
        argv = [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        if guard is not None:
            argv = [guard, "--pdeathsig", "TERM", "--", *argv]
        with open(self.root / "prometheus.log", "wb") as log:
            try:
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
            except OSError as exc:
                raise DrillPrometheusError(f"cannot start {self.binary}: {exc.strerror or exc}") from None

    def wait_ready(self, timeout: float = 20.0) -> bool:
        """Wait for /-/ready; False when it did not come up (or exited: a taken port)."""
        return self._wait(self._ready, timeout)

    def last_log_line(self) -> str:
        try:
            lines = (self.root / "prometheus.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return lines[-1][:200] if lines else "no log"

    def _wait(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            if predicate():
                return True
            time.sleep(0.1)
        return False

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result list ([] on no data or any failure): for waiting, not for decisions."""
        try:
            url = f"{self.url}/api/v1/query?query={urllib.parse.quote(expr)}"
            with urllib.request.urlopen(url, timeout=2) as response:
                return list(json.load(response)["data"]["result"])
        except (OSError, ValueError, KeyError):
            return []

    def wait_for_data(self, expr: str, timeout: float = 30.0) -> bool:
        """Wait until `expr` returns a sample (the first scrapes land seconds after ready)."""
        return self._wait(lambda: bool(self.query(expr)), timeout)

    def kill(self) -> None:
        """Stop Prometheus abruptly (drills and tests of a source that dies mid-run)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def terminate(self) -> None:
        """Ask Prometheus to stop, without waiting (safe from an event loop that is being torn down)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
