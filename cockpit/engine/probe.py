"""The probe before the first shift: can every armed signal and trigger be judged on this Prometheus at all?

A canary whose signals have no data goes BLIND and rolls back on it, after real
traffic was moved for metrics the service never had. So before any traffic
moves, each enabled signal is evaluated once on the canary track and on the
stable track (`{selector}` read as `{stable_selector}`), and Prometheus is
asked whether each metric a trigger's PromQL names exists at all
(`count({__name__="x"})`). What it finds:

- stops the start: a signal with no series on either track (or whose
  volume_query names a metric Prometheus does not have), a query that errors
  (a signal's or a trigger's), a relative limit without a baseline, Prometheus
  not answering;
- dark: a trigger whose metrics do not exist can never fire; listed loudly,
  and it stops the start only when the caller is strict.

Each finding names its fix: disable it, fix its query, take the baseline.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from cockpit.config import CockpitConfig, SignalConfig, TriggerConfig
from cockpit.engine.promql_parts import metric_names
from cockpit.engine.promql_text import render_query
from cockpit.engine.signals import ask, query_deadline
from cockpit.sources.prometheus import QueryResult

Kind = Literal["signal", "trigger", "prometheus"]
REACH_QUERY = "vector(1)"


@dataclass(frozen=True)
class Finding:
    """One thing the probe found: what, why it cannot be judged, and the fix."""

    kind: Kind
    name: str
    problem: str
    fix: str
    stops: bool  # stops the start (a dark trigger does only when strict)
    missing: tuple[str, ...] = ()  # metric names Prometheus does not have

    def line(self) -> str:
        """The finding in one line for a person."""
        what = {"signal": "signal", "trigger": "trigger", "prometheus": "prometheus"}[self.kind]
        head = f"{what} {self.name}: " if self.kind != "prometheus" else "prometheus: "
        return f"{head}{self.problem} — {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "problem": self.problem, "fix": self.fix, "stops": self.stops,
                "missing": list(self.missing)}


@dataclass
class ProbeReport:
    """What the probe found, and what it looked at."""

    signals: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unreachable: str | None = None  # Prometheus did not answer: nothing else was asked
    baseline_judged: bool = True

    def stopping(self, strict: bool = False) -> list[Finding]:
        """The findings that stop the start (dark triggers too when strict)."""
        return [f for f in self.findings if f.stops or (strict and f.kind == "trigger")]

    @property
    def dark_triggers(self) -> list[Finding]:
        """Triggers that can never fire here (their metrics do not exist) and do not stop the start by themselves."""
        return [f for f in self.findings if f.kind == "trigger" and not f.stops]

    def summary(self, strict: bool = False) -> str:
        if self.unreachable is not None:
            return f"Prometheus did not answer: {self.unreachable}"
        stops, dark = self.stopping(strict), self.dark_triggers
        judged = f"{len(self.signals)} signal(s), {len(self.triggers)} trigger(s) probed"
        if not stops and not dark:
            return f"{judged}: every one has data to be judged on"
        parts = []
        if stops:
            parts.append(f"{len(stops)} stop the start")
        if dark and not strict:
            parts.append(f"{len(dark)} trigger(s) can never fire (their metrics do not exist)")
        return f"{judged}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"signals": self.signals, "triggers": self.triggers, "unreachable": self.unreachable,
                "baseline_judged": self.baseline_judged, "findings": [f.as_dict() for f in self.findings]}


def stable_track(query: str) -> str:
    """The query on the stable track: `{selector}` read as `{stable_selector}`."""
    return query.replace("{selector}", "{stable_selector}")


async def probe(
    config: CockpitConfig,
    source: Any,
    *,
    baseline: dict[str, float | None] | None,
    judge_baseline: bool = True,
    version: str = "VERSION",
) -> ProbeReport:
    """Probe every enabled signal and trigger once (see the module docstring); never raises for what Prometheus says."""
    deadline = query_deadline(config)
    report = ProbeReport(baseline_judged=judge_baseline)
    reach = await ask(source, REACH_QUERY, deadline)
    if reach.error is not None:
        report.unreachable = reach.error
        report.findings.append(Finding("prometheus", "prometheus", f"did not answer: {reach.error}",
                                       "check [prometheus] url and that it is up", True))
        return report
    canary = config.canary
    window = float(canary.window)
    signals = config.enabled_signals()
    triggers = [t for t in config.triggers if t.enabled]
    report.signals, report.triggers = list(signals), [t.name for t in triggers]

    def render(text: str) -> str:
        return render_query(text, window, canary)

    wanted: set[str] = set()
    for signal in signals.values():
        for text in (signal.query, signal.volume_query or "", *_counted(signal)):
            wanted.update(metric_names(render(text)))
    for trigger in triggers:
        wanted.update(metric_names(render(trigger.expr)))
    names = sorted(wanted)
    answers = await asyncio.gather(*(ask(source, f'count({{__name__="{n}"}})', deadline) for n in names))
    exists = {name: _exists(answer) for name, answer in zip(names, answers)}

    found = await asyncio.gather(
        *(_signal(name, s, render, exists, source, deadline, baseline, judge_baseline, version) for name, s in signals.items()),
        *(_trigger(t, render, exists, source, deadline) for t in triggers),
    )
    report.findings = [f for f in found if f is not None]
    return report


def _counted(signal: SignalConfig) -> tuple[str, ...]:
    """The count queries whose metrics must exist (the events' may not yet: a counter appears with its first event)."""
    if signal.judge_rule != "sequential":
        return ()
    return tuple(q for q in (signal.requests_query, signal.buckets_query) if q)


def _exists(answer: QueryResult) -> bool | str:
    """True/False whether a metric has series; the error text when Prometheus would not say."""
    if answer.error is not None:
        return answer.error
    return bool(answer.samples)


def _missing(text: str, exists: dict[str, bool | str]) -> tuple[str, ...]:
    return tuple(n for n in metric_names(text) if exists.get(n) is False)


async def _signal(
    name: str,
    signal: SignalConfig,
    render: Any,
    exists: dict[str, bool | str],
    source: Any,
    deadline: float,
    baseline: dict[str, float | None] | None,
    judge_baseline: bool,
    version: str,
) -> Finding | None:
    disable = f"disable it with [signals.{name}] enabled = false, or fix its query"
    canary_expr, stable_expr = render(signal.query), render(stable_track(signal.query))
    exprs = [canary_expr] if stable_expr == canary_expr else [canary_expr, stable_expr]
    results = await asyncio.gather(*(ask(source, e, deadline) for e in exprs))
    for expr, result in zip(exprs, results):
        if result.error is not None:
            return Finding("signal", name, f"its query fails: {result.error} ({expr})", f"fix [signals.{name}] query", True)
    if signal.volume_query:
        volume_missing = _missing(render(signal.volume_query), exists)
        if volume_missing:
            return Finding("signal", name, f"its volume_query needs {', '.join(volume_missing)}, which Prometheus does not have",
                           f"fix [signals.{name}] volume_query, or disable it with [signals.{name}] enabled = false",
                           True, volume_missing)
    for key, text in zip(("requests_query", "buckets_query"), (signal.requests_query, signal.buckets_query)):
        counted_missing = _missing(render(text), exists) if text and signal.judge_rule == "sequential" else ()
        if counted_missing:
            return Finding("signal", name, f"its {key} needs {', '.join(counted_missing)}, which Prometheus does not have",
                           f"fix [signals.{name}] {key}, judge it by its query with [signals.{name}] judge = \"threshold\", "
                           f"or disable it with [signals.{name}] enabled = false", True, counted_missing)
    if all(r.no_data for r in results):
        missing = _missing(canary_expr, exists)
        where = "the canary or the stable track" if len(exprs) == 2 else "its query"
        why = f"not in Prometheus: {', '.join(missing)}" if missing else f"query: {canary_expr}"
        if not missing:  # the metrics exist: the selectors may not match them
            disable = f"check that [canary] selector / stable_selector match its series, or {disable}"
        return Finding("signal", name, f"no series on {where} ({why})", disable, True, missing)
    if judge_baseline and signal.max_vs_baseline is not None:
        value = baseline.get(name) if baseline else None
        if value is None or not math.isfinite(value):
            why = "no baseline was taken" if baseline is None else f"the baseline has no value for {name}"
            return Finding("signal", name, f"its limit is relative (baseline x {signal.max_vs_baseline:g}) and {why}",
                           f"run `cockpit preflight {version}` for the baseline, or disable it with "
                           f"[signals.{name}] enabled = false", True)
    return None


async def _trigger(
    trigger: TriggerConfig, render: Any, exists: dict[str, bool | str], source: Any, deadline: float
) -> Finding | None:
    expr = render(trigger.expr)
    fix = f"fix its expr, or disable it: [[triggers]] name = \"{trigger.name}\", enabled = false"
    result = await ask(source, expr, deadline)
    if result.error is not None:
        return Finding("trigger", trigger.name, f"its expr fails: {result.error}", fix, True)
    unknown = [f"{n}: {exists[n]}" for n in metric_names(expr) if isinstance(exists.get(n), str)]
    if unknown:
        return Finding("trigger", trigger.name, f"cannot tell whether its metrics exist ({'; '.join(unknown)})", fix, True)
    missing = _missing(expr, exists)
    if missing:
        return Finding("trigger", trigger.name, f"can never fire: {', '.join(missing)} not in Prometheus", fix, False, missing)
    return None
