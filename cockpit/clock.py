"""Injectable time: the engine asks a Clock, never the wall, so tests and drills compress hours."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""

    async def sleep(self, seconds: float) -> None:
        """Wait this many clock seconds."""


def utc_datetime(ts: float) -> datetime:
    """A UTC datetime for an epoch timestamp."""
    return datetime.fromtimestamp(ts, tz=UTC)


def iso_utc(ts: float) -> str:
    """ISO-8601 UTC text with a Z, to the millisecond."""
    return utc_datetime(ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Wall time sped up by `factor` from a start point: a drill's 90 minutes in 90 seconds."""

    def __init__(self, factor: float, start: float | None = None) -> None:
        self.factor = factor
        self._wall_start = time.time()
        self._start = self._wall_start if start is None else start

    def now(self) -> float:
        return self._start + (time.time() - self._wall_start) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)


class ManualClock:
    """A clock that moves only when told; sleeping advances it at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)
