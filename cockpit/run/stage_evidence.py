"""Per-stage canary evidence: rollout, database health, pgBouncer pools, the stage's log and its summary.

Everything here is written from the journal (so a resumed run writes the same
files) or from quick, time-bounded looks at PostgreSQL and pgBouncer. Evidence
never stops a canary: a fact that could not be collected is written down with
the reason instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from cockpit.clock import iso_utc
from cockpit.config import CockpitConfig
from cockpit.events import Event
from cockpit.format import format_duration, format_value, format_weight

# A few quick facts, each bounded: the stage's effect on the database at a glance.
DB_FACTS: list[tuple[str, str]] = [
    (
        "connections by state",
        "SELECT coalesce(state, '(background)') AS state, count(*) AS connections "
        "FROM pg_stat_activity GROUP BY 1 ORDER BY 2 DESC",
    ),
    (
        "longest open transactions",
        "SELECT pid, usename, application_name, state, "
        "round(extract(epoch FROM clock_timestamp() - xact_start)::numeric, 1) AS xact_age_s, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query "
        "FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() "
        "ORDER BY xact_start LIMIT 3",
    ),
    (
        "sessions waiting on a lock",
        "SELECT count(*) AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
    ),
]
PGBOUNCER_FACTS = ["SHOW POOLS", "SHOW STATS"]


def stage_file(kind: str, weight: float) -> str:
    """"rollout", 25 -> "rollout_stage_25.txt"."""
    return f"{kind}_stage_{format_weight(weight, percent=False)}.txt"


def _header(title: str, version: str, stage: int, weight: float, at: float) -> list[str]:
    return [f"# {title} — {version} stage {stage} ({format_weight(weight)})", f"collected: {iso_utc(at)}", ""]


async def _answers(facts: list[tuple[str, Callable[[], Awaitable[Any]]]], timeout: float) -> list[str]:
    """Each fact's title and its rows (TSV) as asked within `timeout` seconds; or why it was not collected."""
    lines: list[str] = []
    for title, ask in facts:
        lines.append(f"\n## {title}")
        try:
            rows = await asyncio.wait_for(ask(), timeout=timeout)
            lines.append(rows.to_tsv().rstrip("\n"))
        except TimeoutError:
            lines.append(f"not collected: no answer within {timeout:g}s")
        except Exception as exc:  # DatabaseError and anything unexpected: written, not raised
            lines.append(f"not collected: {exc}")
    return lines


async def db_health_text(config: CockpitConfig, version: str, stage: int, weight: float, at: float) -> str:
    """Connections by state, the longest transactions, lock waits; or why they could not be read."""
    lines = _header("Database health", version, stage, weight, at)
    if config.postgres is None:
        return "\n".join(lines + ["not collected: no [postgres] in the configuration"]) + "\n"
    try:
        from cockpit.sources.postgres import PostgresSource
    except ImportError as exc:
        return "\n".join(lines + [f"not collected: the PostgreSQL source is not available ({exc})"]) + "\n"
    source = PostgresSource(config.postgres, config.redactor(), max_connections=1)
    lines.append(f"database: {source.describe()}")
    try:
        facts = [(title, partial(source.fetch, sql)) for title, sql in DB_FACTS]
        lines += await _answers(facts, config.postgres.timeout + 1)
    finally:
        try:
            await source.aclose()
        except Exception:
            pass
    return "\n".join(lines) + "\n"


async def pgbouncer_text(config: CockpitConfig, version: str, stage: int, weight: float, at: float) -> str:
    """SHOW POOLS and SHOW STATS from the admin console; or why they could not be read."""
    lines = _header("pgBouncer", version, stage, weight, at)
    if config.pgbouncer is None:
        return "\n".join(lines + ["not collected: no [pgbouncer] in the configuration"]) + "\n"
    try:
        from cockpit.sources.pgbouncer import PgBouncerSource
    except ImportError as exc:
        return "\n".join(lines + [f"not collected: the pgBouncer source is not available ({exc})"]) + "\n"
    source = PgBouncerSource(config.pgbouncer, config.redactor())
    lines.append(f"admin console: {source.describe()}")
    lines += await _answers([(s, partial(source.query, s)) for s in PGBOUNCER_FACTS], config.pgbouncer.timeout + 1)
    return "\n".join(lines) + "\n"


_HIDDEN = {"seq", "ts", "event", "prev", "hash", "board"}


def stage_records(records: list[dict[str, Any]], stage: int) -> list[dict[str, Any]]:
    return [r for r in records if r.get("stage") == stage]


def logs_text(records: list[dict[str, Any]], version: str, stage: int, weight: float) -> str:
    """The stage's journal events, one line each: time, seq, event, its fields."""
    lines = [f"# Events — {version} stage {stage} ({format_weight(weight)})", ""]
    for r in stage_records(records, stage):
        body = {k: v for k, v in r.items() if k not in _HIDDEN}
        lines.append(f"{iso_utc(float(r['ts']))} #{r['seq']} {r['event']} {json.dumps(body, ensure_ascii=False, sort_keys=True)}")
    return "\n".join(lines) + "\n"


def _signal_rows(samples: list[dict[str, Any]], labels: Mapping[str, str]) -> list[str]:
    stats: dict[str, dict[str, Any]] = {}
    severity = {"PASS": 0, "WARN": 1, "INSUFFICIENT": 2, "BREACHING": 3, "BLIND": 4, "FAIL": 5}
    for sample in samples:
        for name, data in (sample.get("signals") or {}).items():
            entry = stats.setdefault(name, {"min": None, "max": None, "last": None, "worst": "PASS", "unit": "", "limit": None, "blind": 0, "n": 0})
            value = data.get("value")
            entry["n"] += 1
            entry["unit"] = data.get("unit") or entry["unit"]
            entry["limit"] = data.get("limit", entry["limit"])
            state = str(data.get("state") or "BLIND")
            if state == "BLIND":
                entry["blind"] += 1
            if severity.get(state, 4) > severity.get(entry["worst"], 0):
                entry["worst"] = state
            if isinstance(value, (int, float)):
                entry["min"] = value if entry["min"] is None else min(entry["min"], value)
                entry["max"] = value if entry["max"] is None else max(entry["max"], value)
                entry["last"] = value
            else:
                entry["last"] = None
    rows = [f"{'signal':<14} {'min':>9} {'max':>9} {'last':>9} {'limit':>9}  worst  (blind samples)"]
    for name, e in stats.items():
        unit = e["unit"]
        rows.append(
            f"{labels.get(name) or name:<14} {format_value(e['min'], unit, 'audit'):>9} {format_value(e['max'], unit, 'audit'):>9} "
            f"{format_value(e['last'], unit, 'audit'):>9} {format_value(e['limit'], unit, 'audit'):>9}  {e['worst']}"
            + (f"  ({e['blind']} of {e['n']} blind)" if e["blind"] else "")
        )
    return rows


def summary_text(
    records: list[dict[str, Any]], version: str, stage: int, weight: float, labels: Mapping[str, str] | None = None
) -> str:
    """The stage in a page: result, the decision behind it, traffic, holds, each signal's min/max."""
    mine = stage_records(records, stage)
    by_event: dict[str, list[dict[str, Any]]] = {}
    for r in mine:
        by_event.setdefault(str(r["event"]), []).append(r)
    started = (by_event.get(Event.STAGE_STARTED) or [None])[0]
    passed = (by_event.get(Event.STAGE_PASSED) or [None])[-1]
    rollback = (by_event.get(Event.ROLLBACK_DONE) or by_event.get(Event.ROLLBACK_STARTED) or [None])[-1]
    lines = [f"# Summary — {version} stage {stage} ({format_weight(weight)})", ""]
    if started is not None:
        lines.append(f"started:   {iso_utc(float(started['ts']))} (planned {format_duration(float(started['hold']))})")
    end = passed or rollback or (mine[-1] if mine else None)
    if started is not None and end is not None:
        lines.append(f"ended:     {iso_utc(float(end['ts']))} after {format_duration(max(0.0, float(end['ts']) - float(started['ts'])))}")
    if passed is not None:
        result = "PASSED" + (f" (promoted by {passed['by']})" if passed.get("by") else "")
    elif rollback is not None:
        result = "ROLLED BACK" if rollback.get("event") == Event.ROLLBACK_STARTED or rollback.get("ok") else "ROLLBACK FAILED"
    else:
        result = "in progress"
    lines.append(f"result:    {result}")
    for shift in by_event.get(Event.TRAFFIC_SHIFTED, []):
        state = "ok" if shift.get("ok") else f"FAILED: {shift.get('error')}"
        lines.append(f"traffic:   {format_weight(float(shift['weight']))} {state} ({shift.get('attempts')} attempt(s), {format_duration(shift.get('duration_s') or 0, 'measured')})")
    holds = [h for h in by_event.get(Event.HOLD, []) if not h.get("by")]
    lines.append(f"holds:     {len(holds)}")
    decisions = by_event.get(Event.DECISION, [])
    if decisions:
        last = decisions[-1]
        lines.append(f"decision:  {last['action']} at {iso_utc(float(last['ts']))} ({len(decisions)} evaluations)")
        for reason in (last.get("reasons") or [])[:8]:
            lines.append(f"  - {reason.get('message', '')}")
    for record in by_event.get(Event.ROLLBACK_DONE, []):
        lines.append(
            f"rollback:  {'ok' if record.get('ok') else 'FAILED'} in {record.get('attempts')} attempt(s); "
            f"decision→command {record.get('decision_to_command_ms')} ms"
            + (f"; error: {record['error']}" if record.get("error") else "")
        )
    samples = [s for s in by_event.get(Event.SAMPLE, []) if s.get("phase") != "recovery"]
    lines += ["", f"signals over the stage ({len(samples)} samples):"]
    lines += _signal_rows(samples, labels or {}) if samples else ["  no sample was taken in this stage"]
    fired: dict[str, int] = {}
    for sample in samples:
        for name, data in (sample.get("triggers") or {}).items():
            if data.get("firing"):
                fired[name] = fired.get(name, 0) + 1
    lines.append("")
    lines.append("triggers fired: " + (", ".join(f"{n} ({c}x)" for n, c in fired.items()) if fired else "none"))
    return "\n".join(lines) + "\n"
