"""Anytime-valid statistics on counts: a confidence sequence for a rate, a two-track count test, histogram tails.

Pure functions on event and request counts (floats are rounded to whole
requests); no clock, no source. Every bound holds at every look at once
(Ville's inequality on a mixture martingale), so the engine may evaluate as
often as it likes without inflating its error.

- `rate_bounds`: the beta-binomial mixture confidence sequence for a Bernoulli
  rate (Robbins 1970; Howard, Ramdas, McAuliffe, Sekhon 2021, "Time-uniform,
  nonparametric, nonasymptotic confidence sequences", the conjugate mixture).
  With a Beta(a, b) mixing density the mixture martingale against p is
      M_n(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S)),
  and {p : M_n(p) < 1/alpha} covers the true rate at every n with probability
  at least 1 - alpha. M_n is decreasing below S/n and increasing above it, so
  the set is an interval, found by bisection; its lower end above a limit is
  evidence of a breach for every rate at or below the limit (the composite
  null), with error at most alpha over the whole run.
- `compare_counts`: the canary's events against their share of the traffic
  (Lindon & Malek, NeurIPS 2022, "Anytime-valid inference for multinomial count
  data"; Lindon, Sanden, Shirikian, KDD 2022, the canary count test), pooled over
  the run's stages. Given where the events fell, in a stage where the canary has
  the share rho of the requests each event is the canary's with probability
      theta = rho * r / (rho * r + 1 - rho)
  (r the ratio of its rate to the stable track's). For any r1 > r0 the
  likelihood ratio of r1 against r0 = tolerance, multiplied over the events of
  every stage (each with its own rho), has expectation at most 1 per event when
  the true ratio is at or below the tolerance: a test supermartingale for the
  whole composite null, across splits. A mixture over fixed alternatives
  (`TOLERANCE_MULTIPLES` times the tolerance, equal weights) is one too, so by
  Ville's inequality it reaches 1/alpha with probability at most alpha over the
  whole run. One test for the run, not one per stage: the 1 % stage's evidence
  still counts at 25 %, and only an excess on the canary's side is evidence.
- `tail_counts` / `bucket_quantile`: a quantile limit read from histogram
  buckets. "p95 <= L" is "at most 5 % of requests slower than L", a rate: the
  requests above the first bucket bound at or above L are counted (never fewer
  than those above L, so a breach found there is a breach of L).

Assumptions (the README states them): requests are independent, each with the
track's rate; the traffic split is what the request counters say.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

_BISECTIONS = 60  # 2^-60 of the unit interval: far below any rate the screen shows


def log_beta(a: float, b: float) -> float:
    """log B(a, b) = log Γ(a) + log Γ(b) - log Γ(a + b)."""
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def rate_prior(limit: float | None) -> tuple[float, float]:
    """The mixing Beta(a, b) for a rate judged against `limit`: mean three times the limit, uniform for large limits.

    Fixed before any data (it depends on the configuration only), so every
    bound stays valid; it puts its weight where a regression worth catching
    lies (1.5x to 10x the limit), which is where power is needed.
    """
    if limit is None or not 0 < limit < 1 / 3:
        return 1.0, 1.0
    return 1.0, 1.0 / (3.0 * limit) - 1.0


def log_mixture(events: float, trials: float, p: float, prior: tuple[float, float]) -> float:
    """log M_n(p) of the beta-binomial mixture martingale (see the module docstring)."""
    if not 0.0 < p < 1.0:
        # At the edges the likelihood vanishes unless the data agree with it exactly.
        if (p <= 0.0 and events > 0) or (p >= 1.0 and events < trials):
            return math.inf
        p = min(max(p, 1e-300), 1.0 - 1e-16)
    a, b = prior
    return (log_beta(a + events, b + trials - events) - log_beta(a, b)
            - _xlogy(events, p) - _xlogy(trials - events, 1.0 - p))


def whole(count: float) -> float:
    """A counter increase as a count of requests: Prometheus extrapolates increase() to fractions."""
    return float(max(0, round(count))) if math.isfinite(count) else 0.0


@dataclass(frozen=True)
class RateBounds:
    """A rate's anytime-valid confidence interval at this look, from its counts."""

    events: float
    trials: float
    alpha: float
    lower: float
    upper: float

    @property
    def estimate(self) -> float | None:
        return self.events / self.trials if self.trials > 0 else None

    def above(self, limit: float) -> bool:
        """Evidence that the rate exceeds `limit`: the whole interval lies above it."""
        return self.lower > limit

    def below(self, limit: float) -> bool:
        return self.upper < limit


def rate_bounds(events: float, trials: float, alpha: float, prior: tuple[float, float] = (1.0, 1.0)) -> RateBounds:
    """The (1 - alpha) confidence sequence for a Bernoulli rate after `events` in `trials` (counts rounded)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    n = whole(trials)
    s = min(whole(events), n)
    if n == 0:
        return RateBounds(s, n, alpha, 0.0, 1.0)
    threshold = math.log(1.0 / alpha)
    centre = s / n

    def outside(p: float) -> bool:
        return log_mixture(s, n, p, prior) >= threshold

    lower = 0.0
    if s > 0:
        lo, hi = 0.0, centre  # outside at lo (the likelihood vanishes), inside at the centre
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if outside(mid) else (lo, mid)
        lower = lo
    upper = 1.0
    if s < n:
        lo, hi = centre, 1.0
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if outside(mid) else (mid, hi)
        upper = hi
    return RateBounds(s, n, alpha, lower, upper)


# ---------------------------------------------------------------- canary against stable

# The alternatives the count test weighs, as multiples of the tolerance, equally: fixed before any data.
# From a quarter worse than tolerated to thirty times: a small regression is caught once the counts can
# show it, a large one on its first handful of events.
TOLERANCE_MULTIPLES = (1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class Segment:
    """One stretch of one traffic split (a stage): the canary's and the stable's events and requests, whole."""

    canary_events: float
    canary_requests: float
    stable_events: float
    stable_requests: float

    @property
    def share(self) -> float:
        """The canary's share of the requests (rho)."""
        return self.canary_requests / (self.canary_requests + self.stable_requests)


def segment(canary_events: float, canary_requests: float, stable_events: float, stable_requests: float) -> Segment | None:
    """A stage's counts rounded to whole requests; None when a track served none (no split to test against)."""
    cr, sr = whole(canary_requests), whole(stable_requests)
    if cr <= 0 or sr <= 0:
        return None
    return Segment(min(whole(canary_events), cr), cr, min(whole(stable_events), sr), sr)


def event_share(share: float, ratio: float) -> float:
    """theta: the chance an event is the canary's when it has `share` of the requests and `ratio` x the stable's rate."""
    return share * ratio / (share * ratio + 1.0 - share)


def log_likelihood_ratio(segments: Iterable[Segment], ratio: float, tolerance: float) -> float:
    """log P(where the events fell | rate ratio `ratio`) / P(... | `tolerance`), over every segment."""
    total = 0.0
    for s in segments:
        rho = s.share
        # log theta(r)/theta(t) = log(r/t) + log(d_t/d_r), log (1-theta(r))/(1-theta(t)) = log(d_t/d_r)
        shift = math.log((rho * tolerance + 1.0 - rho) / (rho * ratio + 1.0 - rho))
        total += s.canary_events * (math.log(ratio / tolerance) + shift) + s.stable_events * shift
    return total


@dataclass(frozen=True)
class CountComparison:
    """The canary's events against their share of the traffic, over the run's stages, at a tolerance on the ratio of rates."""

    segments: tuple[Segment, ...]
    total: Segment  # the segments' counts summed (what the reason shows; the test itself weighs each split)
    tolerance: float
    alpha: float
    log_bayes_factor: float

    @property
    def ratio(self) -> float | None:
        """The canary's rate over the stable's, pooled (inf when the stable track had no event)."""
        canary = self.total.canary_events / self.total.canary_requests
        stable = self.total.stable_events / self.total.stable_requests
        if stable == 0:
            return math.inf if canary > 0 else None
        return canary / stable

    @property
    def worse(self) -> bool:
        """Evidence that the canary's rate exceeds `tolerance` times the stable's."""
        return self.log_bayes_factor >= math.log(1.0 / self.alpha)


def compare_counts(segments: Iterable[Segment | None], tolerance: float, alpha: float) -> CountComparison | None:
    """The count test of the module docstring over the run's segments; None when no segment had both tracks."""
    kept = tuple(s for s in segments if s is not None)
    if not kept:
        return None
    logs = [log_likelihood_ratio(kept, tolerance * m, tolerance) for m in TOLERANCE_MULTIPLES]
    top = max(logs)
    log_bf = top + math.log(sum(math.exp(v - top) for v in logs) / len(logs))
    total = Segment(sum(s.canary_events for s in kept), sum(s.canary_requests for s in kept),
                    sum(s.stable_events for s in kept), sum(s.stable_requests for s in kept))
    return CountComparison(kept, total, tolerance, alpha, log_bf)


# ---------------------------------------------------------------- histogram buckets


Buckets = list[tuple[float, float]]  # (le, cumulative count), ascending, the last le = +Inf


def buckets_from(pairs: Iterable[tuple[float, float]]) -> Buckets:
    """Cumulative bucket counts sorted by bound, same bounds summed, made monotone (scrapes are not atomic)."""
    merged: dict[float, float] = {}
    for le, count in pairs:
        if math.isnan(le) or not math.isfinite(count):
            continue
        merged[le] = merged.get(le, 0.0) + max(0.0, count)
    out: Buckets = []
    running = 0.0
    for le in sorted(merged):
        running = max(running, merged[le])
        out.append((le, running))
    return out


def bucket_total(buckets: Buckets) -> float | None:
    """All requests: the +Inf bucket's count; None without one (a histogram always has it)."""
    return buckets[-1][1] if buckets and math.isinf(buckets[-1][0]) else None


def tail_counts(buckets: Buckets, bound: float) -> tuple[float, float] | None:
    """(le used, requests slower than it): the first bucket bound at or above `bound`; None if only +Inf is."""
    total = bucket_total(buckets)
    if total is None:
        return None
    for le, count in buckets:
        if le >= bound and math.isfinite(le):
            return le, max(0.0, total - count)
    return None


def bucket_quantile(q: float, buckets: Buckets) -> float | None:
    """Prometheus' histogram_quantile over cumulative buckets: linear within a bucket; None with no requests."""
    total = bucket_total(buckets)
    if total is None or total <= 0 or not buckets:
        return None
    rank = q * total
    previous_le, previous_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):  # the +Inf bucket: the highest finite bound, as Prometheus answers
                return previous_le
            if le <= 0 or count == previous_count:
                return le
            return previous_le + (le - previous_le) * (rank - previous_count) / (count - previous_count)
        previous_le, previous_count = le, count
    return previous_le
