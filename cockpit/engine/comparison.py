"""Canary against stable: the Mann–Whitney U test, in pure Python (no scipy).

Kayenta-style judgement of one signal: are the canary's samples shifted against
the stable track's? U counts, over every (canary, stable) pair, how often the
canary value is the larger (ties count one half). For the p-value the normal
approximation is used with the tie correction of the variance and a continuity
correction of 0.5, which is what scipy's `mannwhitneyu(method="asymptotic")`
computes; with the minimum sample counts a decision needs (tens of samples) the
approximation is close to the exact distribution.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class Comparison:
    """The outcome of one test: U of the canary sample, z, p-value and which way the canary leans."""

    u: float  # U statistic of the canary sample (pairs where canary > stable, ties 1/2)
    z: float  # standardised U (0 when every value is tied)
    p_value: float
    direction: Literal["greater", "less", "same"]  # canary values tend to be greater/less than stable
    n_canary: int
    n_stable: int
    alternative: Alternative = "two-sided"

    def significant(self, alpha: float) -> bool:
        return self.p_value < alpha


def _finite(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of `values` and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1  # ranks i+1 .. j+1
        for k in range(i, j + 1):
            ranks[order[k]] = average
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_u(
    canary: Iterable[float | None], stable: Iterable[float | None], alternative: Alternative = "two-sided"
) -> Comparison:
    """Test whether canary and stable samples come from the same distribution.

    None, NaN and infinities are dropped first. ValueError when a side is empty.
    `alternative` "greater" asks whether the canary tends to be greater.
    """
    xs, ys = _finite(canary), _finite(stable)
    n1, n2 = len(xs), len(ys)
    if n1 == 0 or n2 == 0:
        raise ValueError(f"Mann-Whitney U needs samples on both sides (canary {n1}, stable {n2})")
    ranks, ties = _ranks(xs + ys)
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    direction: Literal["greater", "less", "same"] = "greater" if u1 > mean else "less" if u1 < mean else "same"
    if variance <= 0:  # every value is the same: nothing to tell apart
        return Comparison(u1, 0.0, 1.0, "same", n1, n2, alternative)
    sd = math.sqrt(variance)
    if alternative == "two-sided":
        # scipy's convention: the larger of U1, U2 with the correction towards the mean
        big = max(u1, n1 * n2 - u1)
        z = (big - mean - 0.5) / sd
        p = min(1.0, 2 * _normal_sf(z))
        z = math.copysign(abs(z), u1 - mean) if u1 != mean else 0.0
    elif alternative == "greater":
        z = (u1 - mean - 0.5) / sd
        p = _normal_sf(z)
    else:
        z = (u1 - mean + 0.5) / sd
        p = 1.0 - _normal_sf(z)
    return Comparison(u1, z, max(0.0, min(1.0, p)), direction, n1, n2, alternative)
