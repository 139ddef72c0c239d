"""One try at moving traffic, as every mover (command, webhook, HAProxy's socket) reports it."""

from __future__ import annotations

from dataclasses import dataclass

OUTPUT_LIMIT = 8192  # bytes kept of a command's stdout and of its stderr


@dataclass
class AttemptRecord:
    """One try at moving traffic."""

    attempt: int
    started_at: float  # clock time
    duration_s: float  # measured with a monotonic timer
    ok: bool
    detail: str  # "exit 0", "exit 1", "timed out after 30s", "HTTP 503", "command not found: kubectl"
    stdout: str = ""
    stderr: str = ""
    started_perf: float = 0.0  # time.perf_counter() at the start: decision→command latency in real time
