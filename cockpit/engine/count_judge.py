"""The sequential rule: a signal judged from its counts, with the words an IC reads.

A rate signal (5xx, idempotency conflicts) brings the canary's events and
requests over the run's own window; a latency signal its histogram buckets.
Against the absolute limit the rate's anytime-valid interval decides: a breach
only when all of it lies above the limit. Against the stable track (with
`max_vs_stable`) the count test of cockpit.engine.sequential decides, over every
stage of the run, each with its own split: a breach only when the evidence says
the canary's rate is more than the tolerance times the stable's. Nothing else is a breach: a point
estimate above the limit on a handful of requests is noise, and the reason says so.

The run's error is shared evenly by its tests (`alpha_plan`): every
sequentially judged signal's absolute test, and its stable test (one for the
run, pooled over its stages); a latency signal's stable test splits its share
over the histogram's bounds. The chance that any of them breaches while the canary is
within its limits is at most [canary] alpha over the whole run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cockpit.engine.sequential import (
    Buckets,
    CountComparison,
    RateBounds,
    Segment,
    bucket_quantile,
    bucket_total,
    compare_counts,
    rate_bounds,
    rate_prior,
    segment,
    tail_counts,
    whole,
)
from cockpit.format import format_number, format_value


@dataclass(frozen=True)
class AlphaPlan:
    """The run's alpha shared by its sequential tests."""

    alpha: float
    tests: int

    @property
    def per_test(self) -> float:
        return self.alpha / max(1, self.tests)

    def describe(self) -> str:
        return f"alpha {self.per_test:.3g} = {self.alpha:g} over the run's {self.tests} test(s)"


def alpha_plan(config: Any) -> AlphaPlan:
    """How many sequential tests the run makes (fixed by the configuration, before any data)."""
    canary = config.canary
    tests = 0
    for signal in config.enabled_signals().values():
        if signal.dry_run or signal.judge_rule != "sequential":
            continue
        if signal.max is not None or signal.max_vs_baseline is not None:
            tests += 1
        if signal.max_vs_stable is not None:
            tests += 1
    return AlphaPlan(float(canary.alpha), max(1, tests))


@dataclass
class Verdict:
    """What the counts say about one signal now."""

    breach: bool
    value: float | None
    requests: float | None
    text: str  # the counts, the estimate, the bound and alpha, in words
    evidence: dict[str, Any] = field(default_factory=dict)


def _share(alpha: float) -> str:
    return f"{format_number(100 * (1 - alpha), 'audit')}%"


def _count(value: float) -> str:
    return f"{int(value):,}"


def _pct(value: float | None) -> str:
    return format_value(value, "ratio")


def _bound(value: float) -> str:
    # A bound's last digits of a thousandth of a percent say nothing to a person reading it at 03:00.
    return "<0.001%" if 0 < value < 1e-5 else _pct(value)


def _bounds_text(bounds: RateBounds) -> str:
    return f"{_share(bounds.alpha)} bound {_bound(bounds.lower)}–{_bound(bounds.upper)}"


def judge_rate(
    events: float, requests: float, limit: float | None, alpha: float, unit_limit: str = "ratio"
) -> Verdict:
    """The canary's events in its requests against an absolute rate limit (None: only the interval is reported)."""
    bounds = rate_bounds(events, requests, alpha, rate_prior(limit))
    estimate = bounds.estimate
    head = f"{_count(bounds.events)} of {_count(bounds.trials)} requests: {_pct(estimate)}, {_bounds_text(bounds)}"
    evidence = {"events": bounds.events, "requests": bounds.trials, "lower": bounds.lower, "upper": bounds.upper,
                "alpha": alpha, "limit": limit}
    if limit is None:
        return Verdict(False, estimate, bounds.trials, head, evidence)
    shown = format_value(limit, unit_limit)
    if bounds.above(limit):
        return Verdict(True, estimate, bounds.trials, f"{head}: above the limit of {shown}", evidence)
    verdict = "within" if estimate is not None and estimate <= limit else "no evidence of a breach of"
    return Verdict(False, estimate, bounds.trials, f"{head}: {verdict} {shown}", evidence)


def judge_latency(buckets: Buckets, quantile: float, limit: float | None, alpha: float) -> Verdict:
    """A quantile limit from histogram buckets: the share of requests slower than the limit, as a rate."""
    total = bucket_total(buckets) or 0.0
    value = bucket_quantile(quantile, buckets)
    q = f"p{format_number(quantile * 100, 'audit')}"
    head = f"{q} {format_value(value, 's')} from {_count(whole(total))} requests"
    if limit is None:
        return Verdict(False, value, whole(total), head, {"requests": whole(total)})
    tail = tail_counts(buckets, limit)
    if tail is None:
        return Verdict(False, value, whole(total),
                       f"{head}; no histogram bucket at or above the limit {format_value(limit, 's')}: "
                       "the buckets cannot show a breach", {"requests": whole(total)})
    le, slower = tail
    allowed = 1.0 - quantile
    bounds = rate_bounds(slower, total, alpha, rate_prior(allowed))
    bucket = "" if le == limit else f" (bucket le={le:g}, the first at or above {format_value(limit, 's')})"
    text = (f"{head}; {_count(bounds.events)} slower than {format_value(le, 's')}{bucket}: {_pct(bounds.estimate)}, "
            f"{_bounds_text(bounds)}")
    evidence = {"requests": bounds.trials, "slower": bounds.events, "le": le, "lower": bounds.lower,
                "upper": bounds.upper, "alpha": alpha, "allowed": allowed}
    if bounds.above(allowed):
        return Verdict(True, value, bounds.trials, f"{text}: above the {_pct(allowed)} a {q} of "
                       f"{format_value(limit, 's')} allows", evidence)
    return Verdict(False, value, bounds.trials, f"{text}: no evidence of more than {_pct(allowed)}", evidence)


def _ratio_text(comparison: CountComparison) -> str:
    ratio = comparison.ratio
    if ratio is None:
        return "no events on either track"
    return "stable had none" if math.isinf(ratio) else f"{format_number(ratio, 'brief')}x the stable's rate"


def _over(comparison: CountComparison) -> str:
    stages = len(comparison.segments)
    return "this stage" if stages == 1 else f"over {stages} stages"


def _pooled_text(comparison: CountComparison, needed: float) -> str:
    """`19 of 600 against 45 of 9,000 (6.33x the stable's rate), Bayes factor 1,513 of 500 needed`."""
    total = comparison.total
    return (f"{_count(total.canary_events)} of {_count(total.canary_requests)} against {_count(total.stable_events)} "
            f"of {_count(total.stable_requests)} ({_ratio_text(comparison)}), Bayes factor "
            f"{_factor(comparison.log_bayes_factor)} of {_factor(math.log(1 / needed))} needed")


def _stable_evidence(comparison: CountComparison) -> dict[str, Any]:
    total = comparison.total
    return {"canary": [total.canary_events, total.canary_requests],
            "stable": [total.stable_events, total.stable_requests], "stages": len(comparison.segments),
            "tolerance": comparison.tolerance, "alpha": comparison.alpha,
            "log_bayes_factor": comparison.log_bayes_factor}


def compare_rate(stages: Sequence[Segment | None], tolerance: float, alpha: float) -> Verdict | None:
    """The canary's (events, requests) against the stable track's, stage by stage over the run; None without stable traffic."""
    comparison = compare_counts(stages, tolerance, alpha)
    if comparison is None:
        return None
    text = f"vs stable {_over(comparison)}: {_pooled_text(comparison, alpha)}"
    requests = comparison.total.canary_requests
    if comparison.worse:
        return Verdict(True, None, requests,
                       f"{text}: the canary's rate is above {format_number(tolerance, 'brief')}x the stable's",
                       _stable_evidence(comparison))
    return Verdict(False, None, requests,
                   f"{text}: no evidence above {format_number(tolerance, 'brief')}x", _stable_evidence(comparison))


def _tails(canary: Buckets, stable: Buckets, le: float) -> Segment | None:
    """A stage's requests slower than `le` on both tracks, as a segment of the count test."""
    canary_at, stable_at = dict(canary), dict(stable)
    canary_total, stable_total = bucket_total(canary), bucket_total(stable)
    if le not in canary_at or le not in stable_at or not canary_total or not stable_total:
        return None
    return segment(canary_total - canary_at[le], canary_total, stable_total - stable_at[le], stable_total)


def compare_latency(stages: Sequence[tuple[Buckets, Buckets]], tolerance: float, alpha: float) -> Verdict | None:
    """Stochastic order on binned counts: at no bucket bound may the canary's slower share exceed tolerance x the stable's.

    `stages` holds each stage's (canary, stable) buckets, the current one last; the bounds tested are
    the current stage's, each over every stage that has it.
    """
    if not stages:
        return None
    canary, stable = stages[-1]
    if not bucket_total(canary) or not bucket_total(stable):
        return None
    stable_at = dict(stable)
    bounds = [le for le, _ in canary if math.isfinite(le) and le in stable_at]
    if not bounds:
        return None
    each = alpha / len(bounds)
    tested: list[tuple[float, CountComparison]] = []
    for le in bounds:
        comparison = compare_counts([_tails(c, s, le) for c, s in stages], tolerance, each)
        if comparison is not None:
            tested.append((le, comparison))
    if not tested:
        return None
    # The bound that says most: a worse one if any, else the strongest evidence short of it.
    le, comparison = max([t for t in tested if t[1].worse] or tested, key=lambda t: t[1].log_bayes_factor)
    text = (f"vs stable {_over(comparison)}: slower than {format_value(le, 's')}: {_pooled_text(comparison, each)} "
            f"({len(bounds)} bounds)")
    evidence = {"le": le, **_stable_evidence(comparison), "bounds": len(bounds)}
    canary_total = bucket_total(canary)
    if comparison.worse:
        return Verdict(True, None, canary_total, f"{text}: the canary is slower than tolerated", evidence)
    return Verdict(False, None, canary_total, f"{text}: no evidence above {format_number(tolerance, 'brief')}x", evidence)


def _factor(log_value: float) -> str:
    if log_value > 700:
        return "> 1e300"
    return format_number(math.exp(log_value), "brief")
