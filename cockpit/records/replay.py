"""Replay: the live signals, triggers and decision matrix over a past range of Prometheus data.

Every query the boards will send is rendered exactly as they render it, fetched
ONCE with query_range over the whole range (in chunks: Prometheus refuses more
than 11,000 points per series), and answered from memory while a ManualClock
steps through the range: `ReplaySource.query(expr)` gives the point of each
series at clock.now() (the latest at or before it, within a staleness bound;
none is no data, exactly as an instant query then would have said). A query
that was not prefetched (a window widened on low traffic) is asked of
Prometheus as an instant query at that time, and counted.

The boards (SignalBoard, TriggerBoard) and `decide` are the live ones; the
stage bookkeeping is the runner's RunState, fed journal-shaped records, and a
HOLD starts a hold by the runner's rule (`StageState.starts_hold`).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cockpit.clock import ManualClock, iso_utc
from cockpit.config import CockpitConfig
from cockpit.durations import parse_duration
from cockpit.engine.model import Action, SignalState
from cockpit.engine.promql_text import render_query
from cockpit.errors import CockpitError, UnavailableError
from cockpit.events import Event
from cockpit.sources.prometheus import QueryResult, Sample

MAX_POINTS = 11_000  # Prometheus' limit of points per series in one query_range
MAX_EVALUATIONS = 250_000  # beyond this a replay takes minutes: ask for a coarser --step
PREFETCH_CONCURRENCY = 4
_ROLLBACKS = (Action.ROLLBACK, Action.IMMEDIATE_ROLLBACK)
_RELATIVE = re.compile(r"^(now)?\s*([+-])\s*(.+)$")


class ReplayError(CockpitError):
    """The replay cannot run (a bad range): one line, exit 2."""


class ReplayUnavailable(ReplayError, UnavailableError):
    """The replay cannot run because Prometheus answered none of its queries: one line, exit 3."""


# ---------------------------------------------------------------- times


def parse_time(text: str, now: float) -> float:
    """Epoch seconds for ISO-8601 ("2024-05-01T14:00:00Z", naive = UTC), "now", or relative ("-2h", "now-90m")."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty time")
    if raw.lower() == "now":
        return now
    match = _RELATIVE.match(raw.lower())
    if match:
        try:
            seconds = parse_duration(match.group(3).strip())
        except ValueError:
            raise ValueError(f"{text!r}: {match.group(3).strip()!r} is not a duration (e.g. -2h, now-90m)") from None
        return now - seconds if match.group(2) == "-" else now + seconds
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{text!r} is not a time")
        return number
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO-8601 (2024-05-01T14:00:00Z), 'now', or relative like -2h"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def chunks(start: float, end: float, step: float, max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """[start, end] cut into query_range calls of at most `max_points` points each, on the same step grid."""
    if step <= 0 or end < start:
        raise ValueError("a range needs step > 0 and end >= start")
    span = step * (max_points - 1)
    out = []
    begin = start
    while begin <= end:
        finish = min(end, begin + span)
        out.append((begin, finish))
        begin = finish + step
    return out


# ---------------------------------------------------------------- prefetched series


@dataclass
class _Series:
    labels: dict[str, str]
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class Fetched:
    """One expression's series over the range, and the chunks that failed (answered as errors)."""

    expr: str
    series: list[_Series] = field(default_factory=list)
    errors: list[tuple[float, float, str]] = field(default_factory=list)
    points: int = 0

    def error_at(self, at: float) -> str | None:
        for begin, end, message in self.errors:
            if begin <= at <= end:
                return message
        return None

    def samples_at(self, at: float, staleness: float) -> list[Sample]:
        found = []
        for line in self.series:
            index = bisect.bisect_right(line.times, at + 1e-6) - 1
            if index >= 0 and at - line.times[index] <= staleness:
                found.append(Sample(line.labels, line.values[index]))
        return found


async def fetch_range(source: Any, expr: str, start: float, end: float, step: float) -> Fetched:
    """query_range in chunks, merged by series; a failed chunk is kept as an error over its span."""
    fetched = Fetched(expr)
    by_labels: dict[tuple[tuple[str, str], ...], _Series] = {}
    for begin, finish in chunks(start, end, step):
        result = await source.query_range(expr, begin, finish, step)
        if result.error is not None:
            fetched.errors.append((begin, finish, result.error))
            continue
        for series in result.series:
            key = tuple(sorted(series.labels.items()))
            line = by_labels.get(key)
            if line is None:
                line = by_labels[key] = _Series(dict(series.labels))
            for at, value in series.points:
                line.times.append(float(at))
                line.values.append(float(value))
            fetched.points += len(series.points)
    fetched.series = list(by_labels.values())
    return fetched


class ReplaySource:
    """Answers the boards' queries from prefetched series at clock.now(); the rest from Prometheus at that time."""

    def __init__(
        self,
        fetched: dict[str, Fetched],
        clock: Any,
        live: Any,
        staleness: float,
        alerts_expr: str | None = None,
    ) -> None:
        self.fetched = fetched
        self.clock = clock
        self.live = live
        self.staleness = staleness
        self.alerts_expr = alerts_expr
        self.fallbacks = 0
        self.fallback_exprs: Counter[str] = Counter()
        self.answered = 0

    async def query(self, expr: str) -> QueryResult:
        now = self.clock.now()
        known = self.fetched.get(expr)
        if known is None:
            # Not prefetched (e.g. a window widened on low traffic): ask Prometheus as of then.
            self.fallbacks += 1
            self.fallback_exprs[expr] += 1
            if self.live is None:
                return QueryResult(expr, error="not prefetched and no Prometheus to ask")
            return await self.live.query(expr, at=now)
        self.answered += 1
        error = known.error_at(now)
        if error is not None:
            return QueryResult(expr, error=error)
        return QueryResult(expr, known.samples_at(now, self.staleness))

    async def alerts(self) -> tuple[list[dict[str, Any]], str | None]:
        """Prometheus' alerts as they stood then, from its ALERTS series (state in `alertstate`)."""
        if self.alerts_expr is None:
            return [], None
        result = await self.query(self.alerts_expr)
        if result.error is not None:
            return [], result.error
        alerts = []
        for sample in result.samples:
            labels = {k: v for k, v in sample.labels.items() if k not in ("__name__", "alertstate")}
            alerts.append({"labels": labels, "state": sample.labels.get("alertstate", ""), "activeAt": None, "value": None})
        return alerts, None


def replay_queries(config: CockpitConfig) -> list[str]:
    """Every expression the boards send at the [canary] window, rendered as they render them."""
    from cockpit.clock import SystemClock
    from cockpit.engine.signals import TARGET_UP_QUERY
    from cockpit.engine.triggers import TriggerBoard

    canary = config.canary
    window = float(canary.window)
    stable_view = canary.model_copy(update={"selector": canary.stable_selector})
    exprs: list[str] = []
    for signal in config.enabled_signals().values():
        exprs.append(render_query(signal.query, window, canary))
        if signal.volume_query and canary.min_requests > 0:
            exprs.append(render_query(signal.volume_query, window, canary))
            exprs.append(render_query(TARGET_UP_QUERY, window, canary))
        if canary.compare_with_stable:
            if signal.stable_query:
                exprs.append(render_query(signal.stable_query, window, canary))
            else:
                exprs.append(render_query(signal.query, window, stable_view))
    board = TriggerBoard(config, None, SystemClock())
    exprs.extend(board.render(t) for t in config.triggers if t.enabled)
    return list(dict.fromkeys(exprs))


def alerts_query(config: CockpitConfig) -> str | None:
    label = config.canary.alerts_action_label
    return f'ALERTS{{{label}!=""}}' if label else None


# ---------------------------------------------------------------- the replay


@dataclass
class Finding:
    """Where the replayed canary would have acted: a hold started, a stage passed, a rollback."""

    at: float
    stage: int
    weight: float | None
    action: str  # "hold" | "proceed" | "rollback" | "immediate_rollback"
    reasons: list[dict[str, Any]]
    note: str = ""

    def as_dict(self, start: float) -> dict[str, Any]:
        return {
            "at": self.at,
            "time": iso_utc(self.at),
            "offset_s": round(self.at - start, 3),
            "stage": self.stage,
            "weight": self.weight,
            "action": self.action,
            "note": self.note,
            "reasons": self.reasons,
        }


@dataclass
class SignalSummary:
    limit: float | None = None
    low: float | None = None
    high: float | None = None
    states: Counter[str] = field(default_factory=Counter)

    def add(self, value: float | None, state: str, limit: float | None) -> None:
        self.states[state] += 1
        if limit is not None:
            self.limit = limit
        if value is not None and state not in (SignalState.BLIND, SignalState.INSUFFICIENT):
            self.low = value if self.low is None else min(self.low, value)
            self.high = value if self.high is None else max(self.high, value)


@dataclass
class ReplayResult:
    start: float
    end: float
    step: float
    stages: bool
    result: str = "incomplete"  # rolled_back | promoted | passed | held | incomplete
    evaluations: int = 0
    findings: list[Finding] = field(default_factory=list)
    rolled_back_at: float | None = None
    queries: int = 0
    chunks: int = 0
    points: int = 0
    prefetch_errors: dict[str, str] = field(default_factory=dict)
    answered: int = 0
    fallbacks: int = 0
    fallback_exprs: dict[str, int] = field(default_factory=dict)
    signals: dict[str, SignalSummary] = field(default_factory=dict)
    fetch_seconds: float = 0.0
    replay_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": iso_utc(self.start),
            "to": iso_utc(self.end),
            "start": self.start,
            "end": self.end,
            "step_s": self.step,
            "stages": self.stages,
            "result": self.result,
            "rolled_back_at": self.rolled_back_at,
            "evaluations": self.evaluations,
            "findings": [f.as_dict(self.start) for f in self.findings],
            "prefetch": {"queries": self.queries, "chunks": self.chunks, "points": self.points, "errors": self.prefetch_errors,
                         "seconds": round(self.fetch_seconds, 3)},
            "answered_from_prefetch": self.answered,
            "fallback_queries": self.fallbacks,
            "fallback_exprs": self.fallback_exprs,
            "signals": {
                name: {"limit": s.limit, "min": s.low, "max": s.high, "states": dict(s.states)} for name, s in self.signals.items()
            },
            "replay_seconds": round(self.replay_seconds, 3),
        }


async def prefetch(live: Any, exprs: list[str], start: float, end: float, step: float) -> dict[str, Fetched]:
    """Fetch every expression once over the range, a few at a time."""
    gate = asyncio.Semaphore(PREFETCH_CONCURRENCY)

    async def one(expr: str) -> Fetched:
        async with gate:
            return await fetch_range(live, expr, start, end, step)

    results = await asyncio.gather(*(one(e) for e in exprs))
    return {f.expr: f for f in results}


def grid(start: float, end: float, step: float) -> int:
    """How many evaluations fit after `start` up to `end` on the step grid."""
    return int(math.floor((end - start) / step + 1e-9))


async def replay(
    config: CockpitConfig,
    live: Any,
    start: float,
    end: float,
    step: float,
    *,
    stages: bool = False,
    baseline: dict[str, float | None] | None = None,
    keep_going: bool = False,
    staleness: float | None = None,
) -> ReplayResult:
    """Replay [start, end] every `step` seconds; `live` is a PrometheusSource (query_range, query(at=))."""
    from cockpit.engine.decision import StageContext, decide, is_blind
    from cockpit.engine.signals import SignalBoard
    from cockpit.engine.triggers import TriggerBoard
    from cockpit.run.state import RunState

    if step <= 0 or end <= start:
        raise ReplayError("the range is empty: --from must be before --to, and --step positive")
    count = grid(start, end, step)
    if count < 1:
        raise ReplayError(f"the range is shorter than one step ({step:g}s)")
    if count > MAX_EVALUATIONS:
        raise ReplayError(f"{count} evaluations: too many for one replay (at most {MAX_EVALUATIONS}); use a coarser --step")
    outcome = ReplayResult(start, end, step, stages)
    exprs = replay_queries(config)
    alerts_expr = alerts_query(config)
    wanted = exprs + ([alerts_expr] if alerts_expr else [])
    began = time.perf_counter()
    last = start + count * step
    fetched = await prefetch(live, wanted, start, last, step)
    outcome.fetch_seconds = time.perf_counter() - began
    outcome.queries = len(wanted)
    outcome.chunks = len(wanted) * len(chunks(start, last, step))
    outcome.points = sum(f.points for f in fetched.values())
    outcome.prefetch_errors = {f.expr: f.errors[0][2] for f in fetched.values() if f.errors}
    if fetched and all(f.errors and not f.series for f in fetched.values()):
        raise ReplayUnavailable(f"no query could be fetched: {next(iter(outcome.prefetch_errors.values()))}")

    clock = ManualClock(start)
    source = ReplaySource(fetched, clock, live, staleness if staleness is not None else step / 2, alerts_expr)
    signal_board = SignalBoard(config, source, clock, baseline)
    trigger_board = TriggerBoard(config, source, clock)
    canary = config.canary
    if stages:
        plan = [{"weight": float(s.weight), "hold": float(s.hold)} for s in canary.stages]
    else:
        plan = [{"weight": 0.0, "hold": last - start}]  # the whole range as one stage, judged at its end
    state = RunState()
    state.apply({"event": Event.RUN_STARTED, "ts": start, "version": "replay", "plan": plan})
    stage = 1
    state.apply({"event": Event.STAGE_STARTED, "ts": start, "stage": 1, "weight": plan[0]["weight"], "hold": plan[0]["hold"],
                 "ends_at": start + plan[0]["hold"]})

    def weight_of(number: int) -> float | None:
        return float(plan[number - 1]["weight"]) if stages else None

    began = time.perf_counter()
    for k in range(1, count + 1):
        now = start + k * step
        clock.advance(now - clock.now())
        current = state.stages[stage]
        signals, triggers = await asyncio.gather(
            signal_board.sample(current.started_at, current.ends_at), trigger_board.evaluate()
        )
        consecutive, blind_since = state.blind_streak(is_blind(signals, triggers), now)
        context = StageContext.from_canary(
            canary,
            now=now,
            blind_since=blind_since,
            stage_started_at=current.started_at,
            stage_ends_at=current.ends_at,
            holds_used=current.holds_used,
            consecutive_blind=consecutive,
            is_last_stage=stage == len(plan),
            hold_until=current.hold_until,
        )
        decision = decide(signals, triggers, context)
        outcome.evaluations += 1
        state.apply({"event": Event.SAMPLE, "ts": now, "stage": stage, "consecutive_blind": consecutive,
                     "blind_since": blind_since})
        for reading in signals:
            outcome.signals.setdefault(reading.name, SignalSummary()).add(reading.value, reading.state.value, reading.limit)
        reasons = [r.as_dict() for r in decision.reasons]
        if decision.action in _ROLLBACKS:
            after = outcome.rolled_back_at is not None
            outcome.findings.append(
                Finding(now, stage, weight_of(stage), decision.action.value, reasons,
                        "after the first rollback: a live run would have stopped" if after else "")
            )
            if not after:
                outcome.rolled_back_at = now
                outcome.result = "rolled_back"
            if not keep_going:
                break
        elif decision.action == Action.HOLD:
            if current.starts_hold(now, canary.max_holds):  # the runner's rule
                until = now + float(canary.hold_extension)
                used = current.holds_used + 1
                state.apply({"event": Event.HOLD, "ts": now, "stage": stage, "until": until,
                             "ends_at": max(current.ends_at, until), "holds_used": used})
                outcome.findings.append(Finding(now, stage, weight_of(stage), "hold", reasons, f"hold {used} of {canary.max_holds}"))
                if outcome.result == "incomplete":
                    outcome.result = "held"
        elif decision.action == Action.PROCEED:
            state.apply({"event": Event.STAGE_PASSED, "ts": now, "stage": stage})
            outcome.findings.append(Finding(now, stage, weight_of(stage), "proceed", reasons))
            if stage == len(plan):
                if outcome.rolled_back_at is None:
                    outcome.result = "promoted" if stages else "passed"
                break
            stage += 1
            hold = float(plan[stage - 1]["hold"])
            state.apply({"event": Event.STAGE_STARTED, "ts": now, "stage": stage, "weight": plan[stage - 1]["weight"],
                         "hold": hold, "ends_at": now + hold})
    outcome.replay_seconds = time.perf_counter() - began
    outcome.answered = source.answered
    outcome.fallbacks = source.fallbacks
    outcome.fallback_exprs = dict(source.fallback_exprs.most_common(10))
    return outcome
