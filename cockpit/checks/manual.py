"""Manual GO/NO-GO items: PASS only once a human ticked them with initials; otherwise UNKNOWN."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cockpit.checks.ticks import TICKS_FILE, read_ticks
from cockpit.results import Outcome, Status, unknown

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import ManualSpec


async def run_manual(spec: ManualSpec, ctx: CheckContext) -> Outcome:
    """The latest tick for this id decides: ticked -> PASS, unticked or never ticked -> awaiting a human."""
    try:
        log = await asyncio.to_thread(read_ticks, ctx.evidence)
    except OSError as exc:
        return unknown(f"cannot read {TICKS_FILE}: {(exc.strerror or type(exc).__name__).lower()}")
    details = [f"{log.bad_lines} unreadable line(s) in {TICKS_FILE} ignored"] if log.bad_lines else []
    tick = log.latest().get(spec.id)
    if tick is None:
        prompt = [spec.prompt] if spec.prompt else []
        return unknown("awaiting a human tick", *prompt, *details)
    evidence = [TICKS_FILE]
    if not tick.ticked:
        outcome = unknown(f"awaiting a human tick (unticked by {tick.initials} at {tick.at})", *details)
        outcome.evidence = evidence
        return outcome
    if tick.note:
        details.insert(0, f"note: {tick.note}")
    return Outcome(Status.PASS, f"ticked by {tick.initials} at {tick.at}", details, evidence)
