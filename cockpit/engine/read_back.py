"""Reading the canary's weight back from the traffic system after a shift or rollback.

A command that exits 0 has only said it tried. The weight is read back (a command
printing it, a PromQL query, or the preset's own API) until it matches what was
asked or `read_timeout` passes; only a match makes the move done. The wait is in
real time, not the cockpit's clock: it waits for another system to converge.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cockpit.clock import SystemClock
from cockpit.format import format_weight

if TYPE_CHECKING:
    from cockpit.config import PrometheusConfig
    from cockpit.engine.traffic import CommandTemplate
    from cockpit.redaction import Redactor

NOT_CONFIGURED = "not read back (no [traffic] read_weight, weight_query or preset)"


class WeightReader(Protocol):
    """Something that tells the canary's current weight in percent."""

    target: str

    async def read(self, version: str, stage: int) -> tuple[float | None, str | None]:
        """(weight, None), or (None, why it could not be read)."""
        ...


@dataclass
class ReadBack:
    """What the traffic system said the weight was, after a move."""

    expected: float
    value: float | None  # the last weight read; None if no read gave a number
    matched: bool
    reads: int
    waited_s: float  # real seconds from the first read to the last
    timeout: float
    source: str  # what was read (command, query, socket), secrets scrubbed
    problem: str | None = None  # why the last read gave no number

    def as_text(self) -> str:
        """"read back 5% after 0.3s (2 reads)" or "read back 0% after 30s, expected 5%"."""
        if self.matched:
            return f"read back {format_weight(self.expected)} after {self.waited_s:.1f}s ({self.reads} read(s))"
        if self.value is None:
            return f"could not read back after {self.timeout:g}s, expected {format_weight(self.expected)}: {self.problem}"
        last = f" (last read: {self.problem})" if self.problem else ""
        return f"read back {format_weight(self.value)} after {self.timeout:g}s, expected {format_weight(self.expected)}{last}"

    def as_fields(self) -> dict[str, object]:
        """The read-back as journal fields."""
        return {"read_back": self.as_text(), "read_back_weight": self.value, "read_back_ok": self.matched}


async def read_back(
    reader: WeightReader, expected: float, version: str, stage: int, *, timeout: float, interval: float, tolerance: float
) -> ReadBack:
    """Read until the weight is `expected` (± tolerance) or `timeout` real seconds passed; at least one read."""
    t0 = time.monotonic()
    reads, value, problem = 0, None, None
    while True:
        got, why = await reader.read(version, stage)
        reads += 1
        # Keep the last number seen: a later failed read does not erase what the system said.
        value, problem = (got, None) if got is not None else (value, why)
        elapsed = time.monotonic() - t0
        if got is not None and abs(got - expected) <= tolerance + 1e-9:
            return ReadBack(expected, got, True, reads, elapsed, timeout, reader.target)
        if elapsed >= timeout:
            return ReadBack(expected, value, False, reads, elapsed, timeout, reader.target, problem)
        await asyncio.sleep(min(interval, max(0.0, timeout - elapsed)))


def parse_weight(text: str) -> float | None:
    """The weight in a command's output: its last non-empty line, a number, "%" allowed ("5", "5.0", "5%")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return float(lines[-1].removesuffix("%").strip())
    except ValueError:
        return None


class CommandReader:
    """`[traffic] read_weight`: an argument list whose last line of output is the canary weight."""

    def __init__(self, command: CommandTemplate) -> None:
        self.command = command
        self.target = command.target

    async def read(self, version: str, stage: int) -> tuple[float | None, str | None]:
        record = await self.command.attempt("read", 0.0, version, stage, 1, SystemClock())
        if not record.ok:
            tail = (record.stderr or record.stdout).strip().splitlines()
            return None, record.detail + (f": {tail[-1][:200]}" if tail else "")
        value = parse_weight(record.stdout)
        if value is None:
            shown = record.stdout.strip().splitlines()[-1][:80] if record.stdout.strip() else ""
            return None, f"printed {shown!r}, not a weight" if shown else "printed nothing"
        return value, None


class QueryReader:
    """`[traffic] weight_query`: PromQL whose first sample is the canary weight."""

    def __init__(self, config: PrometheusConfig, query: str, redactor: Redactor | None = None) -> None:
        from cockpit.sources.prometheus import PrometheusSource

        self.query = query
        self.source = PrometheusSource(config, redactor)
        self.target = f"PromQL {query}"

    async def read(self, version: str, stage: int) -> tuple[float | None, str | None]:
        result = await self.source.query(self.query)
        value = result.scalar()
        return (value, None) if value is not None else (None, result.describe_missing())
