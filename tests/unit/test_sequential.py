"""The anytime-valid statistics, checked against reference implementations, not against themselves.

- the beta-binomial mixture: scipy's betaln, and the mixture integral done numerically by scipy.integrate.quad;
- the confidence sequence's ends: scipy.optimize.brentq on that reference;
- the count test: scipy's binomial likelihood of where each stage's events fell, mixed over the same alternatives,
  and savvi (the papers' authors' package, Multinomial) for each alternative of one stage;
- histogram quantiles: the drill's own histogram_quantile (per-bucket counts, written independently) and
  Prometheus' documented rule (linear within a bucket, the +Inf bucket answers the highest finite bound);
- anytime validity: seeded simulations that look after every batch; a fixed-n interval looked at that often
  crosses far more often than alpha, the confidence sequence does not.
"""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from cockpit.drill.source import histogram_quantile
from cockpit.engine.sequential import (
    TOLERANCE_MULTIPLES,
    Segment,
    bucket_quantile,
    buckets_from,
    compare_counts,
    event_share,
    log_beta,
    log_likelihood_ratio,
    log_mixture,
    rate_bounds,
    rate_prior,
    segment,
    tail_counts,
)

CASES = [(0, 10), (1, 80), (3, 200), (12, 400), (45, 945), (500, 1000), (80, 80)]


def reference_log_mixture(s: float, n: float, p: float, a: float, b: float) -> float:
    """log of ∫ θ^s (1-θ)^(n-s) Beta(θ; a, b) dθ / (p^s (1-p)^(n-s)), integrated numerically (scaled by its peak)."""
    log_norm = float(special.betaln(a, b))

    def log_integrand(theta: float) -> float:
        return (a - 1 + s) * math.log(theta) + (b - 1 + n - s) * math.log1p(-theta) - log_norm

    peak = max(log_integrand(t) for t in np.linspace(1e-9, 1 - 1e-9, 401))
    mode = min(max(s / n, 1e-9), 1 - 1e-9) if n else 0.5
    points = sorted({1e-12, mode, 1 - 1e-12})
    with warnings.catch_warnings():  # quad's round-off notice on peaked integrands: the tolerance asserted is ours
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        total = sum(integrate.quad(lambda t: math.exp(log_integrand(t) - peak), lo, hi, limit=400, epsabs=0,
                                   epsrel=1e-11)[0] for lo, hi in zip(points, points[1:]))
    return peak + math.log(total) - float(special.xlogy(s, p) + special.xlog1py(n - s, -p))


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (1.0, 1.0), (2.5, 7.0), (1.0, 32.333)])
def test_log_beta_is_scipys(a: float, b: float) -> None:
    assert log_beta(a, b) == pytest.approx(special.betaln(a, b), rel=1e-12)


@pytest.mark.parametrize(("s", "n"), CASES)
@pytest.mark.parametrize("prior", [(1.0, 1.0), rate_prior(0.01)])
@pytest.mark.parametrize("p", [0.003, 0.05])
def test_mixture_is_the_numerical_integral(s: int, n: int, prior: tuple[float, float], p: float) -> None:
    mine = log_mixture(s, n, p, prior)
    reference = reference_log_mixture(s, n, p, *prior)
    assert mine == pytest.approx(reference, abs=1e-6, rel=1e-7)


@pytest.mark.parametrize(("s", "n"), CASES)
@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_interval_ends_are_where_the_mixture_reaches_one_over_alpha(s: int, n: int, alpha: float) -> None:
    prior = rate_prior(0.01)
    bounds = rate_bounds(s, n, alpha, prior)
    threshold = math.log(1 / alpha)

    def excess(p: float) -> float:
        return reference_log_mixture(s, n, p, *prior) - threshold

    if s == 0:
        assert bounds.lower == 0.0
    else:
        expected = optimize.brentq(excess, 1e-12, s / n, xtol=1e-12)
        assert bounds.lower == pytest.approx(expected, rel=1e-6, abs=1e-9)
    if s == n:
        assert bounds.upper == 1.0
    else:
        expected = optimize.brentq(excess, s / n, 1 - 1e-12, xtol=1e-12)
        assert bounds.upper == pytest.approx(expected, rel=1e-6)
    assert bounds.lower <= s / n <= bounds.upper


def test_the_issue_example_is_no_evidence() -> None:
    """1 error in 80 requests reads 1.3 %, far from evidence against a 1 % limit."""
    bounds = rate_bounds(1, 80, 0.01, rate_prior(0.01))
    assert bounds.estimate == pytest.approx(0.0125)
    assert not bounds.above(0.01)
    assert bounds.lower < 0.001 and 0.05 < bounds.upper < 0.15


def test_a_tenfold_rate_is_evidence_within_a_hundred_requests() -> None:
    assert rate_bounds(10, 100, 0.00125, rate_prior(0.01)).above(0.01)
    assert not rate_bounds(2, 100, 0.00125, rate_prior(0.01)).above(0.01)


def test_anytime_coverage_holds_where_a_fixed_interval_does_not() -> None:
    """Looking after every 20 requests up to 4,000: the sequence excludes the true rate in at most ~alpha of runs."""
    rng = random.Random(20261207)
    alpha, p, runs, looks, batch = 0.05, 0.01, 400, 200, 20
    sequence_misses = fixed_misses = 0
    z = stats.norm.ppf(1 - alpha / 2)
    threshold = math.log(1 / alpha)
    assert rate_bounds(9, 300, alpha, rate_prior(p)).above(p) == (log_mixture(9, 300, p, rate_prior(p)) >= threshold)
    for _ in range(runs):
        s = n = 0
        missed_seq = missed_fixed = False
        for _ in range(looks):
            s += sum(1 for _ in range(batch) if rng.random() < p)
            n += batch
            # rate_bounds(...).above(p), in one evaluation: the mixture at p past 1/alpha, the estimate above p
            if not missed_seq and s / n > p and log_mixture(s, n, p, rate_prior(p)) >= threshold:
                missed_seq = True
            # a Wald interval, fine at one look, peeked at 200 times
            if not missed_fixed and s / n - z * math.sqrt(max(s / n * (1 - s / n), 1e-12) / n) > p:
                missed_fixed = True
        sequence_misses += missed_seq
        fixed_misses += missed_fixed
    assert sequence_misses / runs <= alpha
    assert fixed_misses / runs > alpha  # 2.5 % at one look, peeked at 200 times: the problem the sequence solves


# ---------------------------------------------------------------- the count test against scipy


def reference_log_bayes_factor(stages: list[tuple[int, int, int, int]], tolerance: float) -> float:
    """Where each stage's events fell, as scipy's binomial: the mixture over the alternatives against the tolerance."""
    logs = []
    for multiple in TOLERANCE_MULTIPLES:
        total = 0.0
        for ce, cr, se, sr in stages:
            rho = cr / (cr + sr)
            at = {r: rho * r / (rho * r + 1 - rho) for r in (tolerance * multiple, tolerance)}
            total += (stats.binom.logpmf(ce, ce + se, at[tolerance * multiple])
                      - stats.binom.logpmf(ce, ce + se, at[tolerance]))
        logs.append(total)
    return float(special.logsumexp(logs) - math.log(len(logs)))


@pytest.mark.parametrize(
    ("stages", "tolerance"),
    [([(5, 1000, 20, 9000)], 1.0), ([(5, 1000, 20, 9000)], 1.5), ([(30, 1000, 50, 99000)], 1.5),
     ([(0, 500, 40, 49500)], 1.5), ([(12, 2500, 10, 7500)], 1.0), ([(300, 5000, 250, 5000)], 2.0),
     # a run's stages, each with its own split: 1 %, 5 %, 25 %, 50 %
     ([(2, 300, 150, 29700), (14, 1500, 140, 28500), (60, 7500, 110, 22500), (90, 15000, 75, 15000)], 1.5),
     ([(0, 60, 1, 90), (3, 180, 0, 90), (6, 180, 1, 90)], 1.5)],
)
def test_count_test_is_the_binomial_likelihood_of_where_the_events_fell(
        stages: list[tuple[int, int, int, int]], tolerance: float) -> None:
    mine = compare_counts([segment(*stage) for stage in stages], tolerance, 0.01)
    assert mine is not None
    assert mine.log_bayes_factor == pytest.approx(reference_log_bayes_factor(stages, tolerance), rel=1e-9, abs=1e-9)
    assert mine.total.canary_events == sum(s[0] for s in stages) and mine.total.stable_requests == sum(s[3] for s in stages)


@pytest.mark.parametrize(("ce", "cr", "se", "sr"), [(12, 2500, 10, 7500), (5, 1000, 20, 9000), (30, 1000, 50, 99000)])
@pytest.mark.parametrize("multiple", TOLERANCE_MULTIPLES)
def test_one_stages_likelihood_ratio_is_savvis_multinomial_at_the_alternative(
        ce: int, cr: int, se: int, sr: int, multiple: float) -> None:
    """savvi's Multinomial (the authors' test) with its Dirichlet prior concentrated at an alternative is, in the
    limit, that alternative's likelihood ratio against the null: each component of the mixture, checked."""
    from savvi.multinomial import Multinomial

    tolerance = 1.5
    rho = cr / (cr + sr)
    null, alternative = event_share(rho, tolerance), event_share(rho, tolerance * multiple)
    test = Multinomial(0.05, np.array([null, 1 - null]), k=1)
    test.alpha_0 = 1e9 * np.array([alternative, 1 - alternative])
    test.update(np.array([ce, se]))
    mine = log_likelihood_ratio([segment(ce, cr, se, sr)], tolerance * multiple, tolerance)  # type: ignore[list-item]
    assert mine == pytest.approx(math.log(test.odds), rel=1e-4, abs=1e-4)


def test_event_share_is_the_papers_theta() -> None:
    # Lindon & Malek: with equal rates the canary's share of the events is its share of the traffic.
    assert event_share(0.05, 1.0) == pytest.approx(0.05)
    assert event_share(0.5, 3.0) == pytest.approx(0.75)


def test_count_test_acts_only_on_the_canarys_side() -> None:
    worse = compare_counts([segment(40, 1000, 50, 99000)], 1.5, 0.01)
    better = compare_counts([segment(0, 10000, 900, 90000)], 1.5, 0.01)
    assert worse is not None and worse.worse and worse.ratio == pytest.approx(79.2)
    assert better is not None and better.log_bayes_factor < 0 and not better.worse
    assert segment(3, 100, 0, 0) is None  # no stable traffic: nothing to compare with
    assert compare_counts([None], 1.5, 0.01) is None


def test_pooled_stages_catch_what_no_single_stage_can() -> None:
    # 3 % against a stable 0.5 % (tolerance 1.5x) over three stages of a low-traffic canary, the expected counts.
    stages = [(3, 100, 15, 3000), (8, 250, 15, 3000), (8, 250, 15, 3000)]
    alpha = 0.002
    assert compare_counts([segment(*s) for s in stages], 1.5, alpha).worse  # type: ignore[union-attr]
    assert not any(compare_counts([segment(*s)], 1.5, alpha).worse for s in stages)  # type: ignore[union-attr]


@pytest.mark.parametrize("ratio", [1.0, 1.5])
def test_count_test_false_alarms_stay_under_alpha_across_splits(ratio: float) -> None:
    """Looked at after every batch through four splits, at equal rates and at the tolerance itself (the worst case)."""
    rng = np.random.default_rng(7)
    alpha, runs, alarms, tolerance = 0.05, 400, 0, 1.5
    for _ in range(runs):
        done: list[Segment | None] = []
        for share in (0.01, 0.05, 0.25, 0.5):
            ce = se = cr = sr = 0
            for _ in range(25):  # 25 looks a stage, 1,000 requests each
                c_req = int(rng.binomial(1000, share))
                cr, sr = cr + c_req, sr + 1000 - c_req
                ce += int(rng.binomial(c_req, 0.01 * ratio))
                se += int(rng.binomial(1000 - c_req, 0.01))
                result = compare_counts([*done, segment(ce, cr, se, sr)], tolerance, alpha)
                if result is not None and result.worse:
                    break
            else:
                done.append(segment(ce, cr, se, sr))
                continue
            alarms += 1
            break
    assert alarms / runs <= alpha


# ---------------------------------------------------------------- histogram buckets


BOUNDS = (0.05, 0.1, 0.2, 0.5, 1.0)


def cumulative(per_bucket: list[float]) -> list[tuple[float, float]]:
    out, running = [], 0.0
    for le, count in zip([*BOUNDS, math.inf], per_bucket):
        running += count
        out.append((le, running))
    return out


@pytest.mark.parametrize("per_bucket", [[10, 20, 30, 25, 10, 5], [0, 0, 100, 0, 0, 0], [1, 0, 0, 0, 0, 99],
                                        [50, 50, 0, 0, 0, 0]])
@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_quantile_is_the_drills_independent_histogram_quantile(per_bucket: list[float], q: float) -> None:
    assert bucket_quantile(q, buckets_from(cumulative(per_bucket))) == pytest.approx(
        histogram_quantile(q, BOUNDS, per_bucket))


def test_quantile_follows_prometheus_documented_interpolation() -> None:
    # 100 requests, 60 under 0.1 s, 90 under 0.2 s: p80 lies 2/3 into (0.1, 0.2].
    buckets = buckets_from([(0.1, 60), (0.2, 90), (math.inf, 100)])
    assert bucket_quantile(0.8, buckets) == pytest.approx(0.1 + 0.1 * (80 - 60) / 30)
    assert bucket_quantile(0.95, buckets) == pytest.approx(0.2)  # in +Inf: the highest finite bound
    assert bucket_quantile(0.95, buckets_from([(math.inf, 0)])) is None


def test_tail_counts_use_the_first_bound_at_or_above_the_limit() -> None:
    buckets = buckets_from(cumulative([10, 20, 30, 25, 10, 5]))
    assert tail_counts(buckets, 0.2) == (0.2, 40)  # 100 - 60 slower than 0.2 s
    assert tail_counts(buckets, 0.15) == (0.2, 40)  # never more than those slower than 0.15 s
    assert tail_counts(buckets, 2.0) is None  # only +Inf is above: the buckets cannot show a breach


def test_buckets_are_summed_by_bound_and_made_monotone() -> None:
    merged = buckets_from([(0.1, 5), (math.inf, 9), (0.1, 4), (0.2, 8), (math.inf, 10)])
    assert merged == [(0.1, 9), (0.2, 9), (math.inf, 19)]
