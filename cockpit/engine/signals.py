"""The golden signals on the canary: one reading per signal per evaluation, its history, `for` timer and trend.

A reading is judged only on real data. No data, NaN, an error or a timeout make
it BLIND (with the age of the last good sample); too little traffic, even after
widening {window} up to the stage's elapsed time, makes it INSUFFICIENT. Neither
moves the `for` timers: a breach that was 50 s old before a blind minute is
still 50 s old after it.

A canary run bounds the board to its own data (`since`, its first shift): no
window reaches back before it, and while the run is younger than
`[canary] min_window` (two scrapes) a signal reads INSUFFICIENT, not BLIND: a
window that cannot hold data yet says nothing about the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cockpit.clock import Clock
from cockpit.config import CockpitConfig, SignalConfig
from cockpit.engine.comparison import mann_whitney_u
from cockpit.engine.count_judge import Verdict, alpha_plan, compare_latency, compare_rate, judge_latency, judge_rate
from cockpit.engine.model import SignalReading, SignalState
from cockpit.engine.promql_parts import age_window
from cockpit.engine.promql_text import promql_duration, render_query
from cockpit.engine.sequential import Buckets, Segment, buckets_from, segment
from cockpit.engine.trend import crossing, fit_trend, real_points
from cockpit.format import format_duration, format_value
from cockpit.sources.prometheus import QueryResult, format_sample

# When a volume query has no series at all, this tells "zero requests from a
# scraped canary" (INSUFFICIENT) from "nothing scraped" (BLIND).
TARGET_UP_QUERY = "max(up{{selector}})"
_MAX_WIDENINGS = 6
_MAX_STAGES_KEPT = 64  # a run's stages (a first night's hours): dropping the oldest only loses evidence

# A stage's counts for the stable comparison: a rate's segment (None: a track served no request), or
# the (canary, stable) histogram buckets.
StageCounts = Segment | tuple[Buckets, Buckets] | None


@dataclass
class ForTimer:
    """How long a condition has held, counting only time between evaluations that saw it.

    While it cannot be judged (BLIND, INSUFFICIENT, a failed query) the timer is
    paused at the last evaluation that saw the condition, and the unseen time
    is skipped when it is seen again: failure counters do not move on blindness.
    """

    since: float | None = None
    seen_at: float | None = None  # the last evaluation that saw the condition
    paused_at: float | None = None

    def pause(self, now: float) -> None:
        if self.since is not None and self.paused_at is None:
            self.paused_at = self.seen_at if self.seen_at is not None else now

    def hold(self, now: float) -> float:
        """The condition holds now: seconds it has held (unseen time not counted)."""
        if self.paused_at is not None and self.since is not None:
            self.since += max(0.0, now - self.paused_at)
        self.paused_at = None
        if self.since is None:
            self.since = now
        self.seen_at = now
        return max(0.0, now - self.since)

    def clear(self) -> None:
        self.since = self.seen_at = self.paused_at = None

    def as_dict(self) -> dict[str, float | None]:
        return {"since": self.since, "seen_at": self.seen_at, "paused_at": self.paused_at}

    @classmethod
    def from_dict(cls, data: Any) -> ForTimer:
        if not isinstance(data, dict):
            return cls()
        return cls(_number(data.get("since")), _number(data.get("seen_at")), _number(data.get("paused_at")))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def query_deadline(config: CockpitConfig) -> float:
    """A hard ceiling on one query: the source ends every query, its retries included, within its timeout."""
    prom = config.prometheus
    return prom.timeout + 0.25 if prom is not None else 15.0


async def ask(source: Any, expr: str, deadline: float) -> QueryResult:
    """source.query(expr) under a deadline; a timeout or an exception becomes an error result."""
    try:
        return await asyncio.wait_for(source.query(expr), timeout=deadline)
    except TimeoutError:
        return QueryResult(expr, error=f"no answer within {deadline:g}s")
    except Exception as exc:  # a source must never take the engine down
        return QueryResult(expr, error=f"{type(exc).__name__}: {str(exc)[:200]}")


@dataclass
class _Limits:
    upper: float | None
    lower: float | None
    missing: str | None = None  # why a limit cannot be had (relative limit without a baseline)

    @property
    def shown(self) -> float | None:
        return self.upper if self.upper is not None else self.lower

    def breached(self, value: float) -> bool:
        return (self.upper is not None and value > self.upper) or (self.lower is not None and value < self.lower)


@dataclass
class _Gathered:
    """What the queries of one signal brought back."""

    query: str
    window: float
    result: QueryResult | None = None
    requests: float | None = None
    blind: str | None = None  # why the data cannot be used
    insufficient: str | None = None  # why there is too little of it


class SignalBoard:
    """Samples every enabled signal; keeps bounded history, `for` timers and the last good sample's time."""

    def __init__(
        self,
        config: CockpitConfig,
        source: Any,
        clock: Clock,
        baseline: dict[str, float | None] | None = None,
        history: int = 240,
    ) -> None:
        self.config = config
        self.canary = config.canary
        self.source = source
        self.clock = clock
        self.baseline = dict(baseline) if baseline else None
        self.size = max(1, history)
        self._history: dict[str, deque[tuple[float, float | None]]] = {}
        self._stable: dict[str, deque[tuple[float, float | None]]] = {}
        # by signal, by stage start: (the last look, the counts then)
        self._segments: dict[str, dict[float, tuple[float, StageCounts]]] = {}
        self._timers: dict[str, ForTimer] = {}
        self._last_good: dict[str, float] = {}
        self.query_timeout = query_deadline(config)
        # What one signal's reads may take in an evaluation: one round of queries and half a second.
        self.read_budget = self.query_timeout + 0.5
        self.since: float | None = None  # the run's first shift: no window reaches back before it
        self.alpha = alpha_plan(config)
        self.counting_from: float | None = None  # counts start here instead (the recovery watch)
        self._deadline: float | None = None  # this evaluation's reads end by then (the event loop's clock)

    def bound_to(self, since: float | None) -> None:
        """Judge only data from `since` on (the canary run's first shift); None lifts the bound."""
        self.since = since

    def run_age(self, now: float) -> float | None:
        """Seconds of the run's own data at `now`; None when the board is not bound to a run."""
        return None if self.since is None else max(0.0, now - self.since)

    # ------------------------------------------------------------ state

    def history(self, name: str) -> deque[tuple[float, float | None]]:
        """(time, value) of the signal's last `history` evaluations; None where it was BLIND/INSUFFICIENT."""
        return self._history.setdefault(name, deque(maxlen=self.size))

    def stable_history(self, name: str) -> deque[tuple[float, float | None]]:
        """The stable track's values of the signal (only filled with compare_with_stable)."""
        return self._stable.setdefault(name, deque(maxlen=self.size))

    def snapshot(self, include_history: bool = False) -> dict[str, Any]:
        """Timers and last-good times (and optionally the histories), as JSON-ready data for a resume."""
        state: dict[str, Any] = {
            "timers": {name: timer.as_dict() for name, timer in self._timers.items()},
            "last_good_at": dict(self._last_good),
            "stage_counts": {name: [[start, seen, _counts_json(counts)] for start, (seen, counts) in sorted(kept.items())]
                             for name, kept in self._segments.items()},
        }
        if include_history:
            state["history"] = {name: [list(p) for p in points] for name, points in self._history.items()}
            state["stable_history"] = {name: [list(p) for p in points] for name, points in self._stable.items()}
        return state

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what snapshot() gave; unknown or malformed parts are ignored."""
        timers = state.get("timers") if isinstance(state, dict) else None
        for name, data in (timers or {}).items():
            self._timers[str(name)] = ForTimer.from_dict(data)
        for name, at in ((state or {}).get("last_good_at") or {}).items():
            number = _number(at)
            if number is not None:
                self._last_good[str(name)] = number
        for name, stages in ((state or {}).get("stage_counts") or {}).items():
            for entry in stages or []:
                if isinstance(entry, (list, tuple)) and len(entry) == 3 and None not in map(_number, entry[:2]):
                    with contextlib.suppress(ValueError, TypeError):
                        counts = _counts_from_json(entry[2])
                        self._segments.setdefault(str(name), {})[float(entry[0])] = (float(entry[1]), counts)
        for key, target in (("history", self.history), ("stable_history", self.stable_history)):
            for name, points in ((state or {}).get(key) or {}).items():
                line = target(str(name))
                line.clear()
                for point in points or []:
                    if isinstance(point, (list, tuple)) and len(point) == 2 and _number(point[0]) is not None:
                        line.append((float(point[0]), _number(point[1])))

    # ------------------------------------------------------------ sampling

    async def sample(self, stage_started_at: float, stage_ends_at: float) -> list[SignalReading]:
        """One reading per enabled signal, judged now."""
        now = self.clock.now()
        signals = self.config.enabled_signals()
        self._deadline = asyncio.get_running_loop().time() + self.read_budget
        readings = await asyncio.gather(
            *(self._read_in_time(name, signal, now, stage_started_at, stage_ends_at) for name, signal in signals.items())
        )
        return list(readings)

    async def _read_in_time(
        self, name: str, signal: SignalConfig, now: float, stage_started_at: float, stage_ends_at: float
    ) -> SignalReading:
        """_read within one query's deadline and half a second; a widening round that cannot fit is not asked."""
        budget = self.read_budget
        try:
            return await asyncio.wait_for(self._read(name, signal, now, stage_started_at, stage_ends_at), timeout=budget)
        except TimeoutError:
            self._timers.setdefault(name, ForTimer()).pause(now)
            self.history(name).append((now, None))
            limit = signal.max if signal.max is not None else signal.min
            return SignalReading(name, SignalState.BLIND, None, limit, signal.query, now,
                                 reason=f"its queries were not all answered within {budget:g}s",
                                 last_good_at=self._last_good.get(name), dry_run=signal.dry_run, unit=signal.unit)

    def widest_window(self, now: float, stage_started_at: float) -> float:
        """How far {window} may widen: the stage's elapsed time (capped by max_window), never below window."""
        base = self.base_window(now)
        widest = max(0.0, now - stage_started_at)
        if self.canary.max_window is not None:
            widest = min(widest, float(self.canary.max_window))
        return max(base, float(math.floor(widest)))

    def base_window(self, now: float) -> float:
        """What {window} starts as: [canary] window, cut to the run's age when bound to a run."""
        base = float(self.canary.window)
        age = self.run_age(now)
        return base if age is None else min(base, age_window(age))

    def too_young(self, now: float) -> str | None:
        """Why nothing can be judged yet (the run's own data is shorter than min_window), or None."""
        age = self.run_age(now)
        need = float(self.canary.min_window)
        if age is None or age >= need:
            return None
        return (f"the run's own data is {format_duration(age, 'measured')} old; a window under "
                f"{format_duration(need)} (two scrapes) holds none yet")

    def limits(self, name: str, signal: SignalConfig) -> _Limits:
        """The signal's limits now: absolute, or relative to the baseline with `max` as a floor."""
        upper = signal.max
        if signal.max_vs_baseline is not None:
            base = self.baseline.get(name) if self.baseline else None
            if base is None or not math.isfinite(base):
                why = "no baseline was taken" if self.baseline is None else f"the baseline has no value for {name}"
                return _Limits(
                    None, signal.min, f"{why}: its limit (baseline x {signal.max_vs_baseline:g}) cannot be judged"
                )
            relative = base * signal.max_vs_baseline
            upper = relative if signal.max is None else max(signal.max, relative)
        return _Limits(upper, signal.min)

    def _render(self, query: str, window: float) -> str:
        return render_query(query, window, self.canary)

    async def _gather(self, signal: SignalConfig, now: float, stage_started_at: float) -> _Gathered:
        """Run the volume query (widening the window while traffic is too low) and the signal's query.

        The value at each window is asked together with its volume: one round per window, and most
        evaluations need one.
        """
        window = self.base_window(now)
        first = asyncio.ensure_future(ask(self.source, self._render(signal.query, window), self.query_timeout))
        try:
            requests, insufficient, wide, blind, widened = await self._volume(signal, now, stage_started_at, window)
            if blind is not None:
                return _Gathered(self._render(signal.query, wide), wide, blind=blind)
            if widened is None:
                return _Gathered(self._render(signal.query, window), window, await first, requests, insufficient=insufficient)
            return _Gathered(self._render(signal.query, wide), wide, widened, requests, insufficient=insufficient)
        finally:
            first.cancel()

    async def _volume(
        self, signal: SignalConfig, now: float, stage_started_at: float, window: float
    ) -> tuple[float | None, str | None, float, str | None, QueryResult | None]:
        """(requests, why too few, the window they were counted over, why blind, the value there if widened).

        A wider window is asked only while its round can end within the evaluation's budget (the last
        round took as long as the next will): behind a slow Prometheus the signal reads INSUFFICIENT on
        the window it has, never BLIND for a round it could not have finished.
        """
        need = self.canary.min_requests
        if not signal.volume_query or need <= 0:
            return None, None, window, None, None
        widest = self.widest_window(now, stage_started_at)
        loop = asyncio.get_running_loop()
        requests = 0.0
        value: QueryResult | None = None
        too_slow = ""
        for round_ in range(_MAX_WIDENINGS + 1):
            started = loop.time()
            volume_ask = ask(self.source, self._render(signal.volume_query, window), self.query_timeout)
            if round_ == 0:  # the value at the first window is already asked (_gather)
                volume = await volume_ask
            else:
                volume, value = await asyncio.gather(
                    volume_ask, ask(self.source, self._render(signal.query, window), self.query_timeout))
            if volume.error is not None:
                return None, None, window, f"volume query failed: {volume.error}", None
            if volume.no_data:
                scraped = await self._canary_scraped()
                if scraped is not True:
                    return None, None, window, f"volume query returned no data ({scraped})", None
                requests = 0.0
            else:
                number = volume.scalar()
                if number is None:
                    return None, None, window, f"volume query: {volume.describe_missing()}", None
                requests = number
            if requests >= need or window >= widest:
                break
            took = loop.time() - started
            if self._deadline is not None and loop.time() + took > self._deadline:
                too_slow = (f"; a wider window was not asked: a round took {took:.1f}s and another would not end "
                            f"within the evaluation's {self.read_budget:g}s")
                break
            window = _wider(window, requests, need, widest)
        insufficient = None
        if requests < need:
            insufficient = (f"{requests:g} requests in {promql_duration(window)} (need {need}), "
                            + (too_slow.removeprefix("; ") if too_slow else "already the widest window the stage allows"))
        return requests, insufficient, window, None, value

    async def _canary_scraped(self) -> bool | str:
        """True when Prometheus scrapes the canary and it is up; otherwise why not, in words."""
        expr = self._render(TARGET_UP_QUERY, self.canary.window)
        up = await ask(self.source, expr, self.query_timeout)
        value = up.scalar()
        if value is None:
            return f"cannot tell whether the canary is scraped: {expr}: {up.describe_missing()}"
        if value < 1:
            return f"the canary's scrape target is down ({expr} = {value:g})"
        return True

    async def _read(
        self, name: str, signal: SignalConfig, now: float, stage_started_at: float, stage_ends_at: float
    ) -> SignalReading:
        if signal.judge_rule == "sequential":
            return await self._read_counts(name, signal, now, stage_started_at)
        limits = self.limits(name, signal)
        young = self.too_young(now)
        got = _Gathered(self._render(signal.query, float(self.canary.window)), 0.0, insufficient=young) if young \
            else await self._gather(signal, now, stage_started_at)
        timer = self._timers.setdefault(name, ForTimer())
        history = self.history(name)

        def reading(state: SignalState, value: float | None, reason: str) -> SignalReading:
            return SignalReading(
                name=name,
                state=state,
                value=value,
                limit=limits.shown,
                query=got.query,
                at=now,
                window=got.window or None,  # 0: no window was asked (the run is too young)
                requests=got.requests,
                reason=reason,
                last_good_at=self._last_good.get(name),
                dry_run=signal.dry_run,
                unit=signal.unit,
            )

        if young is not None:
            # Not judged, and not blind either: the service may be fine, the window is just too new.
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.INSUFFICIENT, None, young)
        if got.blind is not None or got.result is None:
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.BLIND, None, got.blind or "no result")
        value = _worst(got.result, upper=limits.upper is not None or limits.lower is None)
        if got.insufficient is not None:
            # Shown, not judged: too few requests make the value noise.
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.INSUFFICIENT, value, got.insufficient)
        if value is None:
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.BLIND, None, got.result.describe_missing())
        history.append((now, value))
        self._last_good[name] = now
        if limits.missing is not None:
            timer.pause(now)
            return reading(SignalState.BLIND, value, limits.missing)

        show = _shower(signal.unit)
        over = limits.breached(value)
        why_over = ""
        if over:
            why_over = f"{show(value)}, {'above' if limits.upper is not None and value > limits.upper else 'below'} the limit of {show(limits.shown)}"
        compared = await self._compare(name, signal, got.window, now, stage_started_at, limits)
        if compared.worse:
            over = True
            why_over = "; ".join(part for part in (why_over, compared.text) if part)
        if over:
            held = timer.hold(now)
            need = float(signal.for_)
            window_text = f" over {promql_duration(got.window)}"
            if held >= need:
                return reading(SignalState.FAIL, value, f"{why_over}{window_text} for {_span(held)} (for {_span(need)})")
            return reading(
                SignalState.BREACHING,
                value,
                f"{why_over}{window_text} for {_span(held)} of its {_span(need)}",
            )
        timer.clear()

        within = _within_text(limits, show)
        trend = fit_trend(
            history, since=max(now - self.canary.trend_window, stage_started_at), min_samples=self.canary.min_trend_samples
        )
        # Only a steady slope (>= 2 standard errors) counts: a noisy signal must not hold a stage.
        if trend is not None and trend.steady() and now < stage_ends_at:
            projected = crossing(trend, upper=limits.upper, lower=limits.lower, by=stage_ends_at)
            if projected is not None:
                return reading(
                    SignalState.WARN,
                    value,
                    f"{show(value)} {within}, but moving {show(trend.per_minute)}/min over the last "
                    f"{trend.samples} samples: projected {show(projected)} by the stage's end",
                )
        note = f"; {compared.text}" if compared.text else ""
        return reading(SignalState.PASS, value, f"{show(value)} {within} over {promql_duration(got.window)}{note}")

    # ------------------------------------------------------------ the sequential rule: counts

    def count_from(self, since: float | None) -> None:
        """Count only from `since` on (the recovery watch: the data after the rollback); None counts the run's."""
        self.counting_from = since

    def _count_start(self) -> float | None:
        starts = [t for t in (self.since, self.counting_from) if t is not None]
        return max(starts) if starts else None

    def count_window(self, now: float, stage_started_at: float) -> float:
        """The window counts are read over: the run's own data (from its first shift), capped by max_window.

        A board not bound to a run (the first night, a replay) counts over the stage so far, at least {window}.
        """
        start = self._count_start()
        if start is None:
            return self.widest_window(now, stage_started_at)
        window = age_window(max(0.0, now - start))
        if self.canary.max_window is not None:
            window = min(window, float(self.canary.max_window))
        return window

    def _counts_too_young(self, now: float) -> str | None:
        start = self._count_start()
        if start is None or self.counting_from is None or self.counting_from < (self.since or -math.inf):
            return self.too_young(now)
        age, need = max(0.0, now - start), min(float(self.canary.min_window), float(self.canary.window))
        if age >= need:
            return None
        return (f"the data since the rollback is {format_duration(age, 'measured')} old; a window under "
                f"{format_duration(need)} (two scrapes) holds none yet")

    async def _read_counts(self, name: str, signal: SignalConfig, now: float, stage_started_at: float) -> SignalReading:
        """One reading under the sequential rule (cockpit.engine.count_judge)."""
        limits = self.limits(name, signal)
        timer = self._timers.setdefault(name, ForTimer())
        history = self.history(name)
        window = self.count_window(now, stage_started_at)
        shown_query = self._render(signal.buckets_query or signal.events_query or signal.query, window)
        young = self._counts_too_young(now)
        counts: _Counts | None = None
        versus: Verdict | None = None
        if young is None:
            # One round: the run's counts and the stage's on both tracks are asked at once.
            counts, versus = await asyncio.gather(
                self._counts(signal, window, self.canary.selector),
                self._versus_stable(name, signal, now, stage_started_at, self.alpha.per_test),
            )

        def reading(state: SignalState, value: float | None, reason: str, evidence: dict[str, Any] | None = None,
                    requests: float | None = None) -> SignalReading:
            return SignalReading(name=name, state=state, value=value, limit=limits.shown, query=shown_query, at=now,
                                 window=window if young is None else None, requests=requests, reason=reason,
                                 last_good_at=self._last_good.get(name), dry_run=signal.dry_run, unit=signal.unit,
                                 evidence=evidence)

        if young is not None or counts is None:
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.INSUFFICIENT, None, young or "no counts")
        if counts.blind is not None:
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.BLIND, None, counts.blind)
        alpha = self.alpha.per_test
        if signal.buckets_query is not None:
            verdict = judge_latency(counts.buckets, float(signal.quantile or 0.95), limits.upper, alpha)
        else:
            verdict = judge_rate(counts.events, counts.requests, limits.upper, alpha, signal.unit or "ratio")
        requests = verdict.requests or 0.0
        evidence = {"judge": "sequential", "window": window, **verdict.evidence, "plan": self.alpha.describe()}
        if requests <= 0 and counts.scraped is not True:
            timer.pause(now)
            history.append((now, None))
            return reading(SignalState.BLIND, None, f"no requests counted ({counts.scraped})", evidence, requests)
        if limits.missing is not None and signal.max_vs_stable is None:
            timer.pause(now)
            history.append((now, verdict.value))
            return reading(SignalState.BLIND, verdict.value, limits.missing, evidence, requests)
        parts = [verdict.text if limits.missing is None else f"{verdict.text}; {limits.missing}"]
        breach = verdict.breach and limits.missing is None
        if versus is not None:
            parts.append(versus.text)
            evidence["stable"] = versus.evidence
            breach = breach or versus.breach
        text = "; ".join(parts)
        enough = requests >= self.canary.min_requests
        history.append((now, verdict.value if enough or breach else None))
        if enough or breach:
            self._last_good[name] = now
        if breach:
            # Evidence needs no minimum: min_requests is what a PASS needs, a breach has its bound.
            held = timer.hold(now)
            need = float(signal.for_)
            if held >= need:
                return reading(SignalState.FAIL, verdict.value, f"{text}, for {_span(held)} (for {_span(need)})",
                               evidence, requests)
            return reading(SignalState.BREACHING, verdict.value, f"{text}, for {_span(held)} of its {_span(need)}",
                           evidence, requests)
        timer.clear()
        if not enough:
            # Shown, not passed: a handful of requests proves nothing either way.
            return reading(SignalState.INSUFFICIENT, verdict.value,
                           f"{text}; {requests:g} requests over {promql_duration(window)} (need "
                           f"{self.canary.min_requests} to pass)", evidence, requests)
        return reading(SignalState.PASS, verdict.value, text, evidence, requests)

    async def _counts(self, signal: SignalConfig, window: float, selector: str) -> _Counts:
        """The signal's counts on one track over `window`: events and requests, or the histogram's buckets."""
        view = self.canary.model_copy(update={"selector": selector})

        def render(query: str) -> str:
            return render_query(query, window, view)

        if signal.buckets_query is not None:
            result, scraped = await asyncio.gather(
                ask(self.source, render(signal.buckets_query), self.query_timeout), self._scraped(selector))
            if result.error is not None:
                return _Counts(blind=f"buckets query failed: {result.error}")
            pairs = [(_bound(s.labels.get("le")), s.value) for s in result.samples]
            if any(not math.isfinite(v) for _, v in pairs):
                return _Counts(blind="buckets query: a bucket count is NaN or infinite")
            if result.no_data:
                return _Counts(buckets=[(math.inf, 0.0)], requests=0.0, scraped=scraped)
            buckets = buckets_from(pairs)
            if not buckets or not math.isinf(buckets[-1][0]):
                return _Counts(blind="buckets query: no +Inf bucket (keep `le`: sum by (le) (increase(..._bucket[...])))")
            return _Counts(buckets=buckets, requests=buckets[-1][1], scraped=True)
        assert signal.events_query is not None and signal.requests_query is not None
        # Whether the track is scraped matters only without requests, but asked now it costs no second round.
        events, requests, scraped = await asyncio.gather(
            ask(self.source, render(signal.events_query), self.query_timeout),
            ask(self.source, render(signal.requests_query), self.query_timeout),
            self._scraped(selector),
        )
        for what, result in (("requests", requests), ("events", events)):
            if result.error is not None:
                return _Counts(blind=f"{what} query failed: {result.error}")
        if requests.no_data:
            return _Counts(requests=0.0, scraped=scraped)
        total = _total(requests)
        if total is None:
            return _Counts(blind=f"requests query: {requests.describe_missing()}")
        # No series of events yet (a client library creates a label's series on its first event): none happened.
        counted = 0.0 if events.no_data else _total(events)
        if counted is None:
            return _Counts(blind=f"events query: {events.describe_missing()}")
        return _Counts(events=counted, requests=total, scraped=True)

    async def _scraped(self, selector: str) -> bool | str:
        if selector == self.canary.selector:
            return await self._canary_scraped()
        return True  # the stable track: no requests there is no stable traffic, said by the comparison

    async def _versus_stable(self, name: str, signal: SignalConfig, now: float, stage_started_at: float,
                             alpha: float) -> Verdict | None:
        """The canary's counts against the stable track's (max_vs_stable), over this stage and the run's earlier ones.

        None when there is nothing to compare. Each stage's counts are kept as they were last read (the
        stage's split is its own); the stage now is read over its own time so far.
        """
        tolerance = signal.max_vs_stable
        if tolerance is None or self.counting_from is not None:
            return None
        elapsed = now - stage_started_at
        age = self.run_age(now)
        if age is not None:
            elapsed = min(elapsed, age)
        earlier = self._stage_counts(name, stage_started_at)
        if elapsed < float(self.canary.min_window):
            if earlier:
                return self._verdict_versus(signal, earlier, tolerance, alpha)
            return Verdict(False, None, None, f"vs stable: not yet, the stage's own data is "
                           f"{format_duration(max(0.0, elapsed), 'measured')} old (min_window {format_duration(self.canary.min_window)})")
        window = age_window(elapsed)
        canary, stable = await asyncio.gather(
            self._counts(signal, window, self.canary.selector), self._counts(signal, window, self.canary.stable_selector)
        )
        if canary.blind is not None or stable.blind is not None:
            return Verdict(False, None, None, f"vs stable: not compared ({canary.blind or stable.blind})")
        current: StageCounts = ((canary.buckets, stable.buckets) if signal.buckets_query is not None
                                else segment(canary.events, canary.requests, stable.events, stable.requests))
        self._stage_counts_seen(name, stage_started_at, now, current)
        return self._verdict_versus(signal, [*earlier, current], tolerance, alpha)

    def _verdict_versus(self, signal: SignalConfig, stages: list[StageCounts], tolerance: float,
                        alpha: float) -> Verdict:
        if signal.buckets_query is not None:
            verdict = compare_latency([stage for stage in stages if isinstance(stage, tuple)], tolerance, alpha)
        else:
            verdict = compare_rate([stage for stage in stages if isinstance(stage, Segment)], tolerance, alpha)
        return verdict or Verdict(False, None, None, "vs stable: no stage yet with traffic on both tracks to compare")

    def _stage_counts(self, name: str, stage_started_at: float) -> list[StageCounts]:
        """The earlier stages' counts of a signal, in stage order: only those last read before this stage began.

        A stage taken up again (a resume that restarted its clock) would otherwise count its time twice.
        """
        kept = self._segments.get(name, {})
        return [kept[start][1] for start in sorted(kept) if kept[start][0] <= stage_started_at]

    def _stage_counts_seen(self, name: str, stage_started_at: float, now: float, counts: StageCounts) -> None:
        kept = self._segments.setdefault(name, {})
        for start in [s for s in kept if s >= stage_started_at]:  # later starts belong to a stage now gone
            del kept[start]
        kept[stage_started_at] = (now, counts)
        while len(kept) > _MAX_STAGES_KEPT:
            del kept[min(kept)]

    # ------------------------------------------------------------ comparison with the stable track

    async def _compare(
        self, name: str, signal: SignalConfig, window: float, now: float, stage_started_at: float, limits: _Limits
    ) -> _Compared:
        if not self.canary.compare_with_stable:
            return _Compared()
        if signal.stable_query:
            expr = self._render(signal.stable_query, window)
        else:
            stable_view = self.canary.model_copy(update={"selector": self.canary.stable_selector})
            expr = render_query(signal.query, window, stable_view)
        result = await ask(self.source, expr, self.query_timeout)
        stable_value = _worst(result, upper=limits.upper is not None or limits.lower is None)
        self.stable_history(name).append((now, stable_value))
        canary_values = [v for _, v in real_points(self.history(name), stage_started_at)]
        stable_values = [v for _, v in real_points(self.stable_history(name), stage_started_at)]
        need = self.canary.min_comparison_samples
        if stable_value is None and result.error is not None:
            note = f"stable comparison unavailable: {result.error}"
        else:
            note = ""
        if len(canary_values) < need or len(stable_values) < need:
            text = f"vs stable: {min(len(canary_values), len(stable_values))} of {need} samples"
            return _Compared(False, "; ".join(p for p in (text, note) if p))
        test = mann_whitney_u(canary_values, stable_values)
        bad = "greater" if limits.upper is not None or limits.lower is None else "less"
        alpha = self.canary.comparison_alpha
        if test.significant(alpha) and test.direction == bad:
            return _Compared(
                True,
                f"canary {'higher' if bad == 'greater' else 'lower'} than stable "
                f"(Mann-Whitney p={test.p_value:.3g} < {alpha:g}, {test.n_canary}/{test.n_stable} samples)",
            )
        return _Compared(False, f"vs stable: p={test.p_value:.3g} ({test.n_canary}/{test.n_stable} samples)")


@dataclass
class _Counts:
    """A track's counts over a window, or why they cannot be had."""

    events: float = 0.0
    requests: float = 0.0
    buckets: Buckets = field(default_factory=list)
    scraped: bool | str = True  # with no requests: whether the track is scraped at all (False/why: blind)
    blind: str | None = None


def _total(result: QueryResult) -> float | None:
    """The sum of a count query's series; None when one is NaN or infinite."""
    values = [s.value for s in result.samples]
    if not values or any(not math.isfinite(v) for v in values):
        return None
    return float(sum(values))


def _counts_json(counts: StageCounts) -> Any:
    """A stage's counts as JSON (a bucket bound as Prometheus writes it: +Inf is no JSON number)."""
    if isinstance(counts, Segment):
        return [counts.canary_events, counts.canary_requests, counts.stable_events, counts.stable_requests]
    if counts is None:
        return None
    return {track: [[format_sample(le), count] for le, count in buckets] for track, buckets in zip(("canary", "stable"), counts)}


def _counts_from_json(data: Any) -> StageCounts:
    """What _counts_json wrote; ValueError when it is not that (restore() ignores malformed parts)."""
    if data is None:
        return None
    if isinstance(data, list) and len(data) == 4 and all(_number(v) is not None for v in data):
        return segment(*data)
    if isinstance(data, dict):
        tracks = []
        for track in ("canary", "stable"):
            pairs = data.get(track)
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ValueError(f"stage counts: {track} buckets are not [le, count] pairs")
            tracks.append(buckets_from((_bound(str(le)), float(count)) for le, count in pairs))
        return tracks[0], tracks[1]
    raise ValueError("stage counts: neither a segment nor buckets")


def _bound(le: str | None) -> float:
    try:
        return float(le) if le is not None else math.nan  # "+Inf" parses
    except ValueError:
        return math.nan


@dataclass
class _Compared:
    worse: bool = False
    text: str = ""


def _worst(result: QueryResult | None, *, upper: bool) -> float | None:
    """The worst finite value among the result's series (highest for an upper limit); None if there is none."""
    if result is None or result.error is not None:
        return None
    values = [s.value for s in result.samples if math.isfinite(s.value)]
    if not values:
        return None
    return max(values) if upper else min(values)


def _wider(window: float, requests: float, need: int, widest: float) -> float:
    """The next window to try: enough for `need` at the rate seen so far, at least double, at most `widest`."""
    guess = window * need / requests * 1.2 if requests > 0 else window * 4
    return float(min(widest, max(window * 2, math.ceil(guess))))


def _span(seconds: float) -> str:
    return "0s" if seconds < 0.5 else format_duration(seconds)


def _shower(unit: str) -> Any:
    def show(value: float | None) -> str:
        return format_value(value, unit)

    return show


def _within_text(limits: _Limits, show: Any) -> str:
    parts = []
    if limits.upper is not None:
        parts.append(f"<= {show(limits.upper)}")
    if limits.lower is not None:
        parts.append(f">= {show(limits.lower)}")
    return "within " + " and ".join(parts) if parts else "within its limits"
