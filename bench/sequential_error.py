"""The sequential rule's error and power by simulation, beside the threshold rule on the same request streams.

No services: requests are drawn (Bernoulli per request, seeded) and both rules look after
every batch, as the engine does at every evaluation. Prints, per case:
- false breaches: the share of runs whose rate is AT its limit (the worst case of "within")
  or at half of it that the rule ever calls a breach, with its 95 % Wilson interval;
- power: the median number of requests before a breach of a rate 2x, 3x and 10x the limit.
The threshold rule is today's: the point estimate over the last `window` requests above the
limit for `for_looks` looks in a row, once `min_requests` are in. Then the count test against the
stable track, pooled over the default stages' splits: its false alarms at equal rates and at the
tolerance itself, and the stage where a canary at 3x and 6x the stable's rate is caught.

    .venv/bin/python bench/sequential_error.py [--runs 2000] [--looks 300] [--batch 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cockpit.engine.sequential import Segment, compare_counts, log_mixture, rate_prior, segment  # noqa: E402

LIMIT = 0.01
ALPHA_RUN = 0.01
TESTS = 5  # the default playbook's sequential tests share the run's alpha (count_judge.alpha_plan)
ALPHA = ALPHA_RUN / TESTS


def sequential_breach(events: int, requests: int, limit: float, alpha: float) -> bool:
    """rate_bounds(...).above(limit) in one evaluation (the mixture at the limit is past 1/alpha)."""
    return requests > 0 and events / requests > limit and log_mixture(events, requests, limit, rate_prior(limit)) >= math.log(1 / alpha)


def run_rate(rng: np.random.Generator, p: float, looks: int, batch: int, window: int, min_requests: int,
             for_looks: int) -> tuple[int | None, int | None]:
    """Requests until the first breach under (sequential, threshold); None when a rule never breaches."""
    draws = rng.random((looks, batch)) < p
    per_look = draws.sum(axis=1)
    events = np.cumsum(per_look)
    seq_at = thr_at = None
    held = 0
    window_looks = max(1, window // batch)
    for i in range(looks):
        n = (i + 1) * batch
        if seq_at is None and sequential_breach(int(events[i]), n, LIMIT, ALPHA):
            seq_at = n
        if thr_at is None:
            lo = max(0, i + 1 - window_looks)
            recent_events = int(events[i] - (events[lo - 1] if lo > 0 else 0))
            recent = (i + 1 - lo) * batch
            over = recent >= min_requests and recent_events / recent > LIMIT
            held = held + 1 if over else 0
            if held >= for_looks:
                thr_at = n
        if seq_at is not None and thr_at is not None:
            break
    return seq_at, thr_at


def wilson(hits: int, runs: int) -> str:
    if runs == 0:
        return "—"
    z, phat = 1.96, hits / runs
    centre = (phat + z * z / (2 * runs)) / (1 + z * z / runs)
    half = z * math.sqrt(phat * (1 - phat) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return f"{100 * phat:.2f}% [{100 * max(0, centre - half):.2f}–{100 * (centre + half):.2f}]"


SPLITS = (0.01, 0.05, 0.25, 0.5)  # the default stages' canary shares, before 100 %


def stable_run(rng: np.random.Generator, canary_rate: float, stable_rate: float, tolerance: float, alpha: float,
               looks: int, requests: int) -> int | None:
    """The stage (index into SPLITS) where the pooled count test first calls the canary worse; None if never.

    Every stage has `looks` looks of `requests` requests split at its share (Binomial), the test looked at
    after each, over the run's stages so far (each with its own split), as the engine does.
    """
    done: list[Segment | None] = []
    for stage, share in enumerate(SPLITS):
        cr = sr = ce = se = 0
        for _ in range(looks):
            c = int(rng.binomial(requests, share))
            cr, sr = cr + c, sr + requests - c
            ce += int(rng.binomial(c, canary_rate))
            se += int(rng.binomial(requests - c, stable_rate))
            result = compare_counts([*done, segment(ce, cr, se, sr)], tolerance, alpha)
            if result is not None and result.worse:
                return stage
        done.append(segment(ce, cr, se, sr))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--looks", type=int, default=300, help="evaluations per run")
    parser.add_argument("--batch", type=int, default=20, help="requests between evaluations")
    parser.add_argument("--window", type=int, default=600, help="the threshold rule's window, in requests")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"limit {LIMIT:.0%}, run alpha {ALPHA_RUN} over {TESTS} tests (each {ALPHA:.5f}); {args.runs} runs, "
          f"{args.looks} looks of {args.batch} requests ({args.looks * args.batch} requests a run)")
    print(f"threshold rule: the last {args.window} requests, min_requests 50, above the limit 4 looks in a row\n")
    print(f"{'true rate':>10} | {'sequential: runs breached':>28} | {'threshold: runs breached':>28} | "
          f"{'median requests to breach (seq / thr)':>38}")
    for factor in (0.5, 1.0, 2.0, 3.0, 10.0):
        p = LIMIT * factor
        seq, thr = [], []
        runs = args.runs if factor <= 1 else max(200, args.runs // 10)
        for _ in range(runs):
            s, t = run_rate(rng, p, args.looks, args.batch, args.window, 50, 4)
            seq.append(s)
            thr.append(t)
        seq_hits = [s for s in seq if s is not None]
        thr_hits = [t for t in thr if t is not None]
        medians = (f"{statistics.median(seq_hits):,.0f}" if seq_hits else "never") + " / " + (
            f"{statistics.median(thr_hits):,.0f}" if thr_hits else "never")
        print(f"{factor:>9g}x | {wilson(len(seq_hits), runs):>28} | {wilson(len(thr_hits), runs):>28} | {medians:>38}")
    calibration = max(200, args.runs // 2)
    breached = 0
    for _ in range(calibration):
        events = np.cumsum((rng.random((args.looks, args.batch)) < LIMIT).sum(axis=1))
        breached += any(sequential_breach(int(events[i]), (i + 1) * args.batch, LIMIT, 0.05) for i in range(args.looks))
    print(f"\ncalibration, one test at alpha 0.05, the rate at its limit: {wilson(breached, calibration)} of "
          f"{calibration} runs breached (the bound says at most 5%)")
    print(f"\ncount test against the stable track, pooled over the stages {', '.join(f'{x:.0%}' for x in SPLITS)} "
          f"(each with its own split), tolerance 1.5x, stable at {LIMIT / 2:.1%}; 20 looks a stage of 1,000 requests")
    runs = max(200, args.runs // 5)
    for label, ratio, alpha in (("equal rates", 1.0, ALPHA), ("at the tolerance (the worst case)", 1.5, ALPHA),
                                ("at the tolerance, one test at alpha 0.05", 1.5, 0.05)):
        alarms = sum(stable_run(rng, LIMIT / 2 * ratio, LIMIT / 2, 1.5, alpha, 20, 1000) is not None for _ in range(runs))
        print(f"  {label:<42} false alarms {wilson(alarms, runs)} over {runs} runs (alpha {alpha:.5f})")
    for factor in (3.0, 6.0):
        caught = [stable_run(rng, LIMIT / 2 * factor, LIMIT / 2, 1.5, ALPHA, 20, 1000) for _ in range(max(100, runs // 2))]
        at = ", ".join(f"{SPLITS[i]:.0%}: {caught.count(i)}" for i in range(len(SPLITS)))
        print(f"  canary at {factor:g}x the stable's rate: caught at {at}; never {caught.count(None)} of {len(caught)}")
    print(f"\n{time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
