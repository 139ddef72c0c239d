"""The `clock_drift` check: the local clock against NTP and against the database's clock_timestamp().

Each comparison that could not be measured makes the result UNKNOWN (never
PASS) with its reason. The database is read at the round-trip midpoint, with
clock_timestamp() (now() is the transaction's start, not the present).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cockpit.checks.database import NO_POSTGRES, postgres_source, write_evidence
from cockpit.checks.runner import CheckContext
from cockpit.checks.specs import ClockDriftSpec
from cockpit.clock import iso_utc
from cockpit.format import format_duration
from cockpit.results import Outcome, Status, worst_status
from cockpit.sources.ntp import NtpError, query_ntp
from cockpit.sources.postgres import DatabaseError


@dataclass
class Comparison:
    """One pair of clocks: `offset` is the other clock minus ours; None with `problem` when not measured."""

    label: str
    offset: float | None = None
    uncertainty: float = 0.0  # half the round trip
    source: str = ""
    problem: str | None = None
    status: Status = Status.UNKNOWN


def show_offset(seconds: float) -> str:
    """Signed milliseconds below 10 s, signed seconds above."""
    if abs(seconds) < 10:
        return f"{seconds * 1000:+.1f} ms".replace("-0.0 ms", "+0.0 ms")
    return f"{seconds:+.3f} s"


def judge_offset(offset: float, max_drift: float, warn_drift: float) -> Status:
    drift = abs(offset)
    if drift > max_drift:
        return Status.FAIL
    if drift > warn_drift:
        return Status.WARN
    return Status.PASS


async def _against_ntp(spec: ClockDriftSpec, ctx: CheckContext, timeout: float) -> Comparison:
    part = Comparison("local vs NTP", source=spec.ntp_server or "")
    try:
        reading = await query_ntp(spec.ntp_server or "", timeout, ctx.clock.now)
    except NtpError as exc:
        part.problem = str(exc)
        return part
    part.offset, part.uncertainty = reading.offset, max(reading.delay, 0.0) / 2
    part.source = f"{reading.server} (stratum {reading.stratum}, ref {reading.reference}, delay {reading.delay * 1000:.2f} ms)"
    return part


async def _against_database(ctx: CheckContext) -> Comparison:
    part = Comparison("local vs database")
    source = postgres_source(ctx)
    if source is None:
        part.problem = NO_POSTGRES
        return part
    try:
        reading = await source.read_clock(ctx.clock.now)
    except DatabaseError as exc:
        part.problem = str(exc)
        return part
    part.offset, part.uncertainty = reading.offset, reading.round_trip / 2
    part.source = f"clock_timestamp() at {source.address} (round trip {reading.round_trip * 1000:.2f} ms)"
    return part


def compare(parts: list[Comparison], spec: ClockDriftSpec) -> list[Comparison]:
    """Judge each measured pair; add database vs NTP when both were measured (the database's own clock)."""
    measured = {p.label: p for p in parts if p.offset is not None}
    ntp, db = measured.get("local vs NTP"), measured.get("local vs database")
    result = list(parts)
    if ntp is not None and db is not None and ntp.offset is not None and db.offset is not None:
        result.append(Comparison(
            "database vs NTP",
            offset=db.offset - ntp.offset,
            uncertainty=db.uncertainty + ntp.uncertainty,
            source="the two measurements above",
        ))
    for part in result:
        if part.offset is not None:
            part.status = judge_offset(part.offset, spec.max_drift, spec.warn_drift)
    return result


def _line(part: Comparison) -> str:
    if part.offset is None:
        return f"{part.label}: UNKNOWN: {part.problem}"
    return (f"{part.label}: {part.status.value}: offset {show_offset(part.offset)} "
            f"± {part.uncertainty * 1000:.2f} ms via {part.source}")


async def run_clock_drift(spec: ClockDriftSpec, ctx: CheckContext) -> Outcome:
    limits = f"warn {format_duration(spec.warn_drift)}, max {format_duration(spec.max_drift)}"
    looks = []
    if spec.ntp_server:
        # Leave the check time to report: NTP gets at most half its budget.
        looks.append(_against_ntp(spec, ctx, max(0.2, min(spec.timeout / 2, 5.0))))
    if spec.use_database:
        looks.append(_against_database(ctx))
    if not looks:
        return Outcome(Status.UNKNOWN, "nothing to compare with: set ntp_server or use_database = true")
    parts = compare(list(await asyncio.gather(*looks)), spec)

    status = worst_status([p.status for p in parts])
    unmeasured = [p for p in parts if p.offset is None]
    measured = [p for p in parts if p.offset is not None]
    pieces = [f"{p.label.removeprefix('local vs ')} {show_offset(p.offset or 0.0)}" for p in measured]
    worst = max(measured, key=lambda p: abs(p.offset or 0.0), default=None)
    if status is Status.UNKNOWN:
        why = "; ".join(f"{p.label}: {p.problem}" for p in unmeasured)
        summary = f"could not measure {why}" + (f" (measured: {', '.join(pieces)})" if pieces else "")
    else:
        summary = f"drift {show_offset(abs(worst.offset or 0.0)).lstrip('+')} at most ({', '.join(pieces)}; {limits})"
        if unmeasured:
            summary += "; not measured: " + ", ".join(p.label for p in unmeasured)

    lines = [_line(p) for p in parts]
    evidence = "\n".join([f"# time drift at {iso_utc(ctx.clock.now())} (local clock)", f"# limits: {limits}", *lines, ""])
    name = ctx.evidence_name(spec, "time_drift_{version}.txt")
    written = await write_evidence(ctx, name, evidence)
    return Outcome(status, summary, lines, [written], {p.label: p.offset for p in parts})
