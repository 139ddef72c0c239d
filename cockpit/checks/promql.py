"""The Prometheus-side checks: one PromQL value against limits, scrape targets up, the baseline snapshot.

A value that is not there (no series, NaN/Inf, a refused query, Prometheus down)
is UNKNOWN with the reason, never PASS.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from cockpit.checks.baseline import write_baseline
from cockpit.checks.runner import CheckContext, prometheus_source
from cockpit.checks.specs import BaselineSpec, PromqlSpec, PromTargetsSpec
from cockpit.clock import iso_utc
from cockpit.engine.promql_text import render_query
from cockpit.format import format_value
from cockpit.results import Outcome, Status, unknown, worst_status
from cockpit.sources.prometheus import QueryResult, Sample, format_sample

NOT_CONFIGURED = "[prometheus] is not configured (add a [prometheus] table with its url)"
_METRIC_NAME = re.compile(r"[^A-Za-z0-9_:]")


def _series_name(sample: Sample) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
    return "{" + labels + "}"


# ---------------------------------------------------------------- promql


def judge_value(value: float, spec: PromqlSpec) -> tuple[Status, str]:
    """A real value against the spec's limits: (status, why) — why is "" when within them."""
    def show(v: float) -> str:
        return format_value(v, spec.unit, "audit")

    severity = Status(spec.severity)
    if spec.max is not None and value > spec.max:
        return severity, f"{show(value)} is above the limit {show(spec.max)}"
    if spec.min is not None and value < spec.min:
        return severity, f"{show(value)} is below the limit {show(spec.min)}"
    if spec.warn_max is not None and value > spec.warn_max:
        return Status.WARN, f"{show(value)} is above the warning level {show(spec.warn_max)}"
    if spec.warn_min is not None and value < spec.warn_min:
        return Status.WARN, f"{show(value)} is below the warning level {show(spec.warn_min)}"
    return Status.PASS, ""


def _limits_text(spec: PromqlSpec) -> str:
    parts = [
        f"{name} {format_value(v, spec.unit, 'audit')}"
        for name, v in (("max", spec.max), ("min", spec.min), ("warn_max", spec.warn_max), ("warn_min", spec.warn_min))
        if v is not None
    ]
    return ", ".join(parts) or "none"


async def run_promql(spec: PromqlSpec, ctx: CheckContext) -> Outcome:
    """One instant query; every series' value checked against max/min (FAIL) and warn_max/warn_min."""
    source = prometheus_source(ctx)
    if source is None:
        return unknown(NOT_CONFIGURED)
    query = render_query(spec.query, ctx.config.canary.window, ctx.config.canary)
    at = ctx.clock.now()
    result: QueryResult = await source.query(query)

    lines = [f"# {spec.id}: {spec.title}", f"time: {iso_utc(at)}", f"query: {query}", f"limits: {_limits_text(spec)}"]
    if result.error:
        lines.append(f"error: {result.error}")
    elif not result.samples:
        lines.append("samples: none (no series)")
    else:
        lines.append("samples:")
        lines += [f"  {_series_name(s)} {format_sample(s.value)}" for s in result.samples]
    evidence = [ctx.evidence.write_text(ctx.evidence_name(spec, f"promql_{spec.id}_{{version}}.txt"), "\n".join(lines) + "\n")]

    if result.error or not result.samples:
        return Outcome(Status.UNKNOWN, f"no value: {result.describe_missing()}", [f"query: {query}"], evidence)

    several = len(result.samples) > 1
    verdicts: list[tuple[Status, str]] = []
    for sample in result.samples:
        if math.isfinite(sample.value):
            status, why = judge_value(sample.value, spec)
        else:
            status, why = Status.UNKNOWN, "no value: " + QueryResult(query, [sample]).describe_missing()
        verdicts.append((status, f"{_series_name(sample)}: {why}" if several else why))
    status = worst_status([s for s, _ in verdicts])
    details = [f"query: {query}", f"limits: {_limits_text(spec)}"]
    details += [f"{_series_name(s)} = {format_value(s.value, spec.unit, 'audit')}" for s in result.samples[:20]]
    if len(result.samples) > 20:
        details.append(f"… and {len(result.samples) - 20} more series (see the evidence file)")

    if status is Status.PASS:
        if len(result.samples) == 1:
            summary = f"{format_value(result.samples[0].value, spec.unit, 'audit')} (limits: {_limits_text(spec)})"
        else:
            summary = f"all {len(result.samples)} series within limits ({_limits_text(spec)})"
        if _limits_text(spec) == "none":
            # Nothing was judged: a value on record, not a pass.
            summary += "; no limit is set, so nothing was judged"
            status = Status.WARN
        return Outcome(status, summary, details, evidence, {"value": result.scalar()})
    reasons = [why for s, why in verdicts if s is status]
    summary = reasons[0] if len(reasons) == 1 else f"{len(reasons)} series: " + "; ".join(reasons[:3])
    return Outcome(status, summary, details, evidence, {"value": result.scalar()})


# ---------------------------------------------------------------- targets


def _target_row(target: dict[str, Any]) -> list[str]:
    labels = target.get("labels") or {}
    return [
        str(labels.get("job", target.get("scrapePool", "?"))),
        str(labels.get("instance", target.get("scrapeUrl", "?"))),
        str(target.get("health", "unknown")),
        str(target.get("lastScrape", "")),
        str(target.get("lastError", "") or "-").replace("\n", " "),
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    """Rows as aligned plain-text columns (the last column is not padded)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


async def run_targets(spec: PromTargetsSpec, ctx: CheckContext) -> Outcome:
    """Active scrape targets (only spec.jobs when given): FAIL when one is down or fewer than min_up are up."""
    source = prometheus_source(ctx)
    if source is None:
        return unknown(NOT_CONFIGURED)
    at = ctx.clock.now()
    targets, error = await source.targets()
    name = ctx.evidence_name(spec, "prom_targets_{version}.txt")
    scope = f"jobs {', '.join(spec.jobs)}" if spec.jobs else "all jobs"
    head = f"# Prometheus scrape targets ({scope}) at {iso_utc(at)}\n"
    if error:
        evidence = [ctx.evidence.write_text(name, head + f"error: {error}\n")]
        return Outcome(Status.UNKNOWN, f"could not read the targets: {error}", [], evidence)

    chosen = [t for t in targets if not spec.jobs or (t.get("labels") or {}).get("job") in spec.jobs]
    rows = sorted(_target_row(t) for t in chosen)
    body = table(["job", "instance", "health", "lastScrape", "lastError"], rows) if rows else "(no active targets)\n"
    evidence = [ctx.evidence.write_text(name, head + body)]
    if not chosen:
        return Outcome(Status.UNKNOWN, f"Prometheus has no active targets for {scope}", [], evidence)

    up = [r for r in rows if r[2] == "up"]
    down = [r for r in rows if r[2] == "down"]
    unscraped = [r for r in rows if r[2] not in ("up", "down")]
    absent = [job for job in spec.jobs if not any(r[0] == job for r in rows)]
    details = [f"{r[0]}/{r[1]}: {r[2]}" + (f" ({r[4]})" if r[4] != "-" else "") for r in rows[:30]]
    if absent:
        details.append(f"no targets at all for job(s): {', '.join(absent)}")

    if down:
        first = down[0]
        summary = f"{len(down)} of {len(rows)} target(s) down: {first[0]}/{first[1]}: {first[4]}"
        if len(down) > 1:
            summary += f" (and {len(down) - 1} more)"
        return Outcome(Status.FAIL, summary, details, evidence)
    if unscraped or absent:
        parts = []
        if unscraped:
            parts.append(f"{len(unscraped)} target(s) not scraped yet: " + ", ".join(f"{r[0]}/{r[1]}" for r in unscraped[:3]))
        if absent:
            parts.append(f"no targets for job(s) {', '.join(absent)}")
        return Outcome(Status.UNKNOWN, "; ".join(parts), details, evidence)
    if len(up) < spec.min_up:
        return Outcome(Status.FAIL, f"only {len(up)} target(s) up, at least {spec.min_up} needed", details, evidence)
    return Outcome(Status.PASS, f"{len(up)} of {len(rows)} target(s) up ({scope})", details, evidence)


# ---------------------------------------------------------------- baseline


def _limit_text(signal: Any) -> str:
    unit = signal.unit
    parts = []
    if signal.max is not None:
        parts.append(f"<= {format_value(signal.max, unit, 'audit')}")
    if signal.min is not None:
        parts.append(f">= {format_value(signal.min, unit, 'audit')}")
    if signal.max_vs_baseline is not None:
        parts.append(f"<= baseline x {signal.max_vs_baseline:g}")
    return ", ".join(parts)


def exposition_name(name: str) -> str:
    """A signal name as a Prometheus metric name (invalid characters become _)."""
    clean = _METRIC_NAME.sub("_", name)
    return clean if clean and not clean[0].isdigit() else f"_{clean}"


async def run_baseline(spec: BaselineSpec, ctx: CheckContext) -> Outcome:
    """Query every enabled signal now and write the snapshot (.prom, summary, JSON for relative limits)."""
    signals = ctx.config.enabled_signals()
    if not signals:
        return unknown("no signals are configured ([signals.*] in cockpit.toml or the playbook): nothing to take a baseline of")
    source = prometheus_source(ctx)
    if source is None:
        return unknown(NOT_CONFIGURED)

    # The baseline is what production does now: the stable track, which carries the
    # traffic before T-0 (the canary has none yet to measure).
    canary = ctx.config.canary
    stable = canary.model_copy(update={"selector": canary.stable_selector})
    queries = {name: render_query(s.query, canary.window, stable) for name, s in signals.items()}
    taken = iso_utc(ctx.clock.now())
    results: list[QueryResult] = await asyncio.gather(*(source.query(q) for q in queries.values()))
    by_name = dict(zip(queries, results))
    values = {name: r.scalar() for name, r in by_name.items()}

    version = ctx.version
    prom = [f"# baseline of release {version} taken at {taken}"]
    for name, value in values.items():
        prom += [f"# signal {name}", f"{exposition_name(name)} {format_sample(value) if value is not None else 'NaN'}"]
    rows = []
    for name, signal in signals.items():
        value = values[name]
        shown = format_value(value, signal.unit, "audit")
        note = "" if value is not None else by_name[name].describe_missing()
        rows.append([name, shown, signal.unit or "-", _limit_text(signal), note or "ok"])
    summary_text = f"# baseline of release {version} taken at {taken}\n" + table(["signal", "value", "unit", "limit", "note"], rows)
    summary_text += "\nqueries:\n" + "".join(f"  {name}: {q}\n" for name, q in queries.items())
    evidence = [
        ctx.evidence.write_text(ctx.evidence_name(spec, "baseline_{version}.prom"), "\n".join(prom) + "\n"),
        ctx.evidence.write_text(f"baseline_summary_{version}.txt", summary_text),
        write_baseline(ctx.evidence, taken, values),
    ]

    missing = [name for name, v in values.items() if v is None]
    present = len(values) - len(missing)
    details = [f"{name}: {format_value(v, signals[name].unit, 'audit') if v is not None else by_name[name].describe_missing()}" for name, v in values.items()]
    relative = [name for name in missing if signals[name].max_vs_baseline is not None]
    details += [f"{name} has no baseline: its limit relative to the baseline cannot be judged in the canary" for name in relative]

    if present < spec.min_signals:
        reason = by_name[missing[0]].describe_missing() if missing else ""
        return Outcome(
            Status.UNKNOWN,
            f"only {present} of {len(values)} signal(s) have a value (need {spec.min_signals})" + (f": {missing[0]}: {reason}" if reason else ""),
            details,
            evidence,
        )
    if missing:
        summary = f"{present} of {len(values)} signal(s) recorded; no value for {', '.join(missing)}"
        if relative:
            summary += f" (relative limit without a baseline: {', '.join(relative)})"
        return Outcome(Status.WARN, summary, details, evidence, {"values": values})
    return Outcome(Status.PASS, f"all {len(values)} signal(s) recorded", details, evidence, {"values": values})
