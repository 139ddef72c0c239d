"""The runs in the state database as `cockpit runs` and the TUI's runs pane show them: one set of words.

A run reads as its service and version, where its canary stands (stage, weight,
last decision), its state and who holds it. The state is the run's last word:
the first night's once one started (`NIGHT 3/24` while it runs, `NIGHT STABLE`
when done), else the canary's result (`PROMOTED`, `ROLLED BACK`), else `LIVE`
while a controller holds the lease, `UNHELD` when nobody does (a standby or the
same command resumes it). Pure: the rows come from cockpit.run.state_store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cockpit.format import MISSING, format_weight

if TYPE_CHECKING:
    from cockpit.run.state_store import RunRow

HEADER = ("SERVICE", "VERSION", "STAGE", "WEIGHT", "DECISION", "STATE", "HOLDER", "LEASE")
NO_RUNS = "no runs in the state database yet"


def held(row: RunRow) -> bool:
    """A controller holds the run's lease now."""
    return row.holder is not None and not row.holder.lapsed


def run_state(row: RunRow) -> str:
    """The run's state in a word or two (see the module docstring)."""
    night = row.night
    if night is not None:
        if night.verdict is not None:
            return f"NIGHT {night.verdict.upper()}"
        return f"NIGHT {night.closed}/{night.hours}" + ("" if held(row) else " UNHELD")
    if row.result is not None:
        return row.result.upper().replace("_", " ")
    return "LIVE" if held(row) else "UNHELD"


def state_kind(row: RunRow) -> str:
    """live | done | attention | unheld: what the pane colours a row by (the word says it without colour)."""
    state = run_state(row)
    if "UNHELD" in state:
        return "unheld"
    if "ROLLED BACK" in state or "ABORTED" in state or state in ("NIGHT UNKNOWN", "NIGHT ATTENTION"):
        return "attention"
    return "live" if held(row) else "done"


def lease_text(row: RunRow) -> tuple[str, str]:
    """(holder, lease age) as the table shows them."""
    lease = row.holder
    if lease is None:
        return MISSING, MISSING
    holder = f"{lease.host} pid {lease.pid} (token {lease.token})"
    if lease.released:
        return holder, "released"
    if lease.lapsed:
        return holder, f"lapsed {-lease.expires_in:.0f}s ago"
    return holder, f"renewed {lease.renewed_ago:.1f}s ago"


def run_cells(row: RunRow, *, compact: bool = False) -> tuple[str, ...]:
    """One run as the table's cells, in HEADER's order; `compact` for a narrow pane (host:pid, the lease's age alone)."""
    stage = f"{row.stage}/{row.stages}" if row.stage is not None else MISSING
    weight = format_weight(row.weight) if row.weight is not None else MISSING
    holder, age = lease_text(row)
    if compact and row.holder is not None:
        holder = f"{row.holder.host}:{row.holder.pid}"
        age = age.removeprefix("renewed ")
    return (row.service, row.version, stage, weight, row.last_decision or MISSING, run_state(row), holder, age)


def runs_table(rows: list[RunRow]) -> list[str]:
    """`cockpit runs` as aligned text columns."""
    table = [HEADER, *(run_cells(row) for row in rows)]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(HEADER))]
    return ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in table]
