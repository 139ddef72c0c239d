"""Text the war room reads: the one-line-a-minute log of the canary.

`:00 | Stage 1 (1%) | p95=142ms 5xx=0.2% ws=8s idemp=0.1% csp=3 eloop=12ms gc=8ms | 6/6 PASS | engine: Proceed | IC (AB): GO`

The seed's "IC:" column is the incident commander's own call (GO, HOLD, ROLLBACK,
made with `cockpit ctl V note --call` or the war room's call key), set beside
the engine's decision, never taken from it: `IC (AB): —` until the IC calls the
stage, `IC: —` when the run was started without `--ic`.

Values read as everywhere else (cockpit.format: 142ms, 0.2%, 0.3/min). A
BLIND signal prints the missing mark `—`: an unknown is never shown as a
number, and the tally counts PASS only among the signals that could be judged,
naming the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.format import MISSING, format_value, format_weight

# A state's mark after the value: a reader at 03:00 sees the bad one without reading limits.
_MARK = {"FAIL": "!", "BREACHING": "!", "WARN": "^"}
_NOT_JUDGED = ("INSUFFICIENT", "BLIND")
_TALLY_ORDER = ("FAIL", "BREACHING", "WARN", "INSUFFICIENT", "BLIND")
IC_CALLS = ("GO", "HOLD", "ROLLBACK")  # the IC's own calls; ROLLBACK-call moves no traffic
DECISION_WORDS = {
    "continue": "Continue",
    "proceed": "Proceed",
    "hold": "Hold",
    "rollback": "ROLLBACK",
    "immediate_rollback": "IMMEDIATE ROLLBACK",
}


@dataclass(frozen=True)
class SignalCell:
    """What the line needs of one signal (from a SignalReading or a journal `sample` event)."""

    name: str
    label: str
    value: float | None
    state: str
    unit: str
    dry_run: bool = False


def minute_mark(at: float, t0: float) -> str:
    """":MM": minutes since T-0 (the canary start), within the hour, as the seed's log has it."""
    minutes = int(max(0.0, at - t0) // 60)
    return f":{minutes % 60:02d}"


def decision_word(action: str | None) -> str:
    if not action:
        return MISSING
    return DECISION_WORDS.get(action, action)


def cells_from_sample(signals: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None = None) -> list[SignalCell]:
    """Cells from a `sample` event's signals ({name: {value, state, unit, dry_run, ...}})."""
    labels = labels or {}
    return [
        SignalCell(
            name=name,
            label=labels.get(name) or name,
            value=data.get("value"),
            state=str(data.get("state", "BLIND")),
            unit=str(data.get("unit") or ""),
            dry_run=bool(data.get("dry_run", False)),
        )
        for name, data in signals.items()
    ]


def cells_from_readings(readings: Iterable[Any], labels: Mapping[str, str] | None = None) -> list[SignalCell]:
    """Cells from SignalReading objects."""
    labels = labels or {}
    return [
        SignalCell(r.name, labels.get(r.name) or r.name, r.value, str(r.state), r.unit or "", bool(r.dry_run))
        for r in readings
    ]


def format_cell(cell: SignalCell) -> str:
    if cell.dry_run:  # shown for the record, marked so the tally's count of the signals shown adds up
        return f"{_format_value_cell(cell)}~dry"
    return _format_value_cell(cell)


def _format_value_cell(cell: SignalCell) -> str:
    if cell.state == "BLIND":
        return f"{cell.label}={MISSING}"
    if cell.state == "INSUFFICIENT":
        # A value on too little traffic is shown as approximate, never as judged.
        return f"{cell.label}=~{format_value(cell.value, cell.unit)}" if cell.value is not None else f"{cell.label}={MISSING}"
    return f"{cell.label}={format_value(cell.value, cell.unit)}{_MARK.get(cell.state, '')}"


def tally(cells: Iterable[SignalCell]) -> str:
    """"6/6 PASS", "5/6 PASS 1 FAIL", "5/5 PASS 2 BLIND", "6/6 PASS 1 DRY-RUN": every signal the line shows is
    in the count; PASS among the judged ones only, the rest named (a dry-run signal is watched, never judged)."""
    counts: dict[str, int] = {}
    dry = 0
    for cell in cells:
        if cell.dry_run:
            dry += 1
        else:
            counts[cell.state] = counts.get(cell.state, 0) + 1
    judged = sum(n for state, n in counts.items() if state not in _NOT_JUDGED)
    text = f"{counts.get('PASS', 0)}/{judged} PASS"
    for state in _TALLY_ORDER:
        if counts.get(state):
            text += f" {counts[state]} {state}"
    if dry:
        text += f" {dry} DRY-RUN"
    return text


def stage_label(stage: int, weight: float) -> str:
    return f"Stage {stage} ({format_weight(weight)})"


def warroom_line(
    *,
    at: float,
    t0: float,
    stage: int,
    weight: float,
    signals: Iterable[SignalCell],
    decision: str | None,
    ic: str | None = None,
    call: str | None = None,
) -> str:
    """One war-room line: minute, stage, every signal's value, the tally, the engine's decision, the IC's call."""
    cells = list(signals)
    values = " ".join(format_cell(c) for c in cells) or "no signals"
    return (f"{minute_mark(at, t0)} | {stage_label(stage, weight)} | {values} | {tally(cells)} | "
            f"engine: {decision_word(decision)} | {ic_column(ic, call)}")


def ic_column(ic: str | None, call: str | None) -> str:
    """`IC (AB): GO`: who commands and their own call on this stage (`—` until they make one)."""
    return f"IC{f' ({ic})' if ic else ''}: {call or MISSING}"


def event_line(*, at: float, t0: float, stage: int, weight: float, text: str) -> str:
    """A war-room line for something that happened (a note, an operator's command, a rollback)."""
    return f"{minute_mark(at, t0)} | {stage_label(stage, weight)} | {' '.join(text.split())}"
