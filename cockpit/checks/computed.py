"""Computed GO/NO-GO items: what an automated result says, read from the evidence (never ticked by a person)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cockpit.results import Outcome, Status

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import ComputedSpec

# The GO line's word as a check status: ACCEPTED stays a WARN (a person accepted it; never PASS).
_STATUS = {"PASS": Status.PASS, "SKIPPED": Status.PASS, "ACCEPTED": Status.WARN, "WARN": Status.WARN,
           "FAIL": Status.FAIL}


async def run_computed(spec: ComputedSpec, ctx: CheckContext) -> Outcome:
    """The item's line of the GO decision, from the recorded results (or the rollback proof)."""
    from cockpit.checks.go_loader import load_go

    state = await asyncio.to_thread(load_go, ctx.config, ctx.evidence)
    line = next((x for x in state.lines if x.key == spec.id), None)
    if line is None:
        return Outcome(Status.UNKNOWN, "not part of the GO decision (disabled?)")
    if spec.source == "rollback":
        summary = line.missing.split(": computed")[0] if line.missing else line.word
    else:
        bad = [x.missing for x in state.lines if x.group == "checks" and x.blocking
               and (x.key == spec.source or x.key.startswith(f"{spec.source}."))]
        summary = f"computed from the {spec.source} results: {line.word}"
        if bad:
            summary += f" ({len(bad)} open: {bad[0]})"
    status = _STATUS.get(line.word, Status.UNKNOWN)
    return Outcome(status, summary if line.word != "ACCEPTED" else f"ACCEPTED: {summary}")
