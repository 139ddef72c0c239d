"""The `sql` check kind: one query on PostgreSQL (or pgBouncer's console), a number checked against limits.

The number is the first row's `column` (measure = "value") or the number of
rows (measure = "row_count"). A NULL, a missing row or column, or a query that
could not run is UNKNOWN with the reason. The main query's rows and every
`evidence_queries` entry are written as TSV evidence files.
"""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal
from typing import Any

from cockpit.checks.database import NO_PGBOUNCER, NO_POSTGRES, pgbouncer_source, postgres_source, write_evidence
from cockpit.checks.runner import CheckContext
from cockpit.checks.specs import SqlSpec
from cockpit.evidence import EvidenceError
from cockpit.results import Outcome, Status, unknown
from cockpit.sources.postgres import DatabaseError
from cockpit.sources.rows import Rows, cell_text

MAX_DETAIL_ROWS = 5


def format_number(value: float) -> str:
    """Whole numbers without decimals, others to at most 3 places; never exponent notation."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e18:
        return str(int(value))
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _with_unit(value: float, unit: str) -> str:
    return f"{format_number(value)} {unit}" if unit else format_number(value)


def as_number(value: Any) -> float | None:
    """A database value as a float, or None when it is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def measure(rows: Rows, spec: SqlSpec) -> tuple[str, float | None, str | None]:
    """(label, number, problem): the number the spec asks for, or why there is none."""
    if spec.measure == "row_count":
        return "rows", float(len(rows)), None
    label = spec.column or (rows.columns[0] if rows.columns else "value")
    if spec.column is not None and rows.columns and spec.column not in rows.columns:
        return label, None, f"the query has no column {spec.column!r} (columns: {', '.join(rows.columns)})"
    if not rows.rows:
        return label, None, "the query returned no rows"
    raw = rows.dicts()[0][label] if spec.column else rows.rows[0][0]
    if raw is None:
        return label, None, f"{label} is NULL"
    number = as_number(raw)
    if number is None:
        return label, None, f"{label} = {cell_text(raw)!r} is not a number"
    if not math.isfinite(number):
        return label, None, f"{label} is {number} (not a finite number)"
    return label, number, None


def limits_text(spec: SqlSpec) -> str:
    """Every limit the spec sets, in words."""
    parts = []
    if spec.min is not None:
        parts.append(f"min {_with_unit(spec.min, spec.unit)}")
    if spec.warn_min is not None:
        parts.append(f"warn below {_with_unit(spec.warn_min, spec.unit)}")
    if spec.warn_max is not None:
        parts.append(f"warn above {_with_unit(spec.warn_max, spec.unit)}")
    if spec.max is not None:
        parts.append(f"max {_with_unit(spec.max, spec.unit)}")
    return ", ".join(parts) or "no limit: recorded only"


def cannot_judge(rows: Rows, spec: SqlSpec) -> str | None:
    """The spec's unknown_if message for the first such column that is non-zero in the first row."""
    if not rows.rows:
        return None
    first = dict(zip(rows.columns, rows.rows[0]))
    for column, message in spec.unknown_if.items():
        number = as_number(first.get(column))
        if number:
            return f"{message} ({column} = {number:g})"
    return None


def judge(value: float, spec: SqlSpec) -> tuple[Status, str]:
    """(status, limit text): outside max/min is FAIL (or the spec's severity), outside warn_* is WARN."""
    severity = Status(spec.severity)
    if spec.max is not None and value > spec.max:
        return severity, f"max {_with_unit(spec.max, spec.unit)}"
    if spec.min is not None and value < spec.min:
        return severity, f"min {_with_unit(spec.min, spec.unit)}"
    if spec.warn_max is not None and value > spec.warn_max:
        return Status.WARN, limits_text(spec)
    if spec.warn_min is not None and value < spec.warn_min:
        return Status.WARN, limits_text(spec)
    return Status.PASS, limits_text(spec)


def row_text(columns: list[str], row: tuple[Any, ...], width: int = 200) -> str:
    text = ", ".join(f"{c}={cell_text(v)}" for c, v in zip(columns, row))
    return text if len(text) <= width else text[: width - 1] + "…"


async def _ask(spec: SqlSpec, ctx: CheckContext, query: str) -> Rows:
    if spec.target == "pgbouncer":
        bouncer = pgbouncer_source(ctx)
        assert bouncer is not None
        return await bouncer.query(query)
    source = postgres_source(ctx)
    assert source is not None
    return await source.fetch(query, timeout=None)


async def run_sql(spec: SqlSpec, ctx: CheckContext) -> Outcome:
    if spec.target == "postgres" and ctx.config.postgres is None:
        return unknown(NO_POSTGRES)
    if spec.target == "pgbouncer" and ctx.config.pgbouncer is None:
        return unknown(NO_PGBOUNCER)

    main_name = ctx.evidence_name(spec, f"{spec.id}_{{version}}.tsv")
    extra = {name.replace("{version}", ctx.version): query for name, query in spec.evidence_queries.items()}
    answers = await asyncio.gather(
        _ask(spec, ctx, spec.query),
        *(_ask(spec, ctx, query) for query in extra.values()),
        return_exceptions=True,
    )
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, DatabaseError):
            raise answer  # a bug, not a database answer: the runner reports it
    main, extra_answers = answers[0], dict(zip(extra, answers[1:]))

    details: list[str] = []
    files: dict[str, str] = {}
    if isinstance(main, Rows) and main_name not in extra:
        files[main_name] = main.to_tsv()
    for name, answer in extra_answers.items():
        if isinstance(answer, Rows):
            files[name] = answer.to_tsv()  # on a shared name the evidence query's rows win
        else:
            details.append(f"evidence {name} not written: {answer}")
    written: list[str] = []
    for name, text in files.items():
        try:
            written.append(await write_evidence(ctx, name, text))
        except (EvidenceError, OSError) as exc:
            details.append(f"evidence {name} not written: {exc}")

    if isinstance(main, DatabaseError):
        return Outcome(Status.UNKNOWN, str(main), details, written)
    blind_spot = cannot_judge(main, spec)
    if blind_spot:
        return Outcome(Status.UNKNOWN, blind_spot, details, written)
    label, value, problem = measure(main, spec)
    if value is None:
        return Outcome(Status.UNKNOWN, problem or "no value", details, written)
    status, limit = judge(value, spec)
    shown = main.rows[:MAX_DETAIL_ROWS]
    row_details = [row_text(main.columns, row) for row in shown]
    if len(main.rows) > len(shown):
        row_details.append(f"… {len(main.rows) - len(shown)} more rows in the evidence")
    summary = f"{label} = {_with_unit(value, spec.unit)} ({limit})"
    return Outcome(status, summary, row_details + details, written, {"value": value})
