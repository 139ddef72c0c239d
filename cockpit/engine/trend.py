"""Trends of a signal: a least-squares line through its recent samples, projected to the stage's end.

Gaps (None), NaN and infinities are skipped, never treated as zero: a trend is
only drawn through real values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Trend:
    """A fitted line: value(t) = mean_value + slope * (t - mean_time)."""

    slope: float  # units per second
    mean_time: float
    mean_value: float
    samples: int
    stderr: float = 0.0  # standard error of the slope (0 for two points or a perfect line)

    def at(self, t: float) -> float:
        """The line's value at time t."""
        return self.mean_value + self.slope * (t - self.mean_time)

    def steady(self, t_min: float = 2.0) -> bool:
        """Whether the slope stands out from the scatter (|slope| >= t_min standard errors), not noise."""
        return self.slope != 0 and abs(self.slope) >= t_min * self.stderr

    @property
    def per_minute(self) -> float:
        return self.slope * 60.0


def real_points(points: Iterable[tuple[float, float | None]], since: float | None = None) -> list[tuple[float, float]]:
    """The (t, value) pairs with a finite value, at or after `since`."""
    return [
        (float(t), float(v))
        for t, v in points
        if v is not None and math.isfinite(v) and math.isfinite(t) and (since is None or t >= since)
    ]


def fit_trend(
    points: Iterable[tuple[float, float | None]], *, since: float | None = None, min_samples: int = 2
) -> Trend | None:
    """The least-squares line through the real points since `since`; None with too few or one instant."""
    real = real_points(points, since)
    if len(real) < max(2, min_samples):
        return None
    n = len(real)
    mean_t = sum(t for t, _ in real) / n
    mean_v = sum(v for _, v in real) / n
    spread = sum((t - mean_t) ** 2 for t, _ in real)
    if spread <= 0:  # every sample at the same instant: no slope to speak of
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in real) / spread
    stderr = 0.0
    if n > 2:
        residuals = sum((v - (mean_v + slope * (t - mean_t))) ** 2 for t, v in real)
        stderr = math.sqrt(residuals / (n - 2) / spread)
    return Trend(slope, mean_t, mean_v, n, stderr)


def crossing(trend: Trend, *, upper: float | None, lower: float | None, by: float) -> float | None:
    """The value the line reaches at `by` if that is beyond a limit in the direction it moves, else None.

    Only a line moving towards the limit counts: rising for an upper limit,
    falling for a lower one.
    """
    projected = trend.at(by)
    if not math.isfinite(projected):
        return None
    if upper is not None and trend.slope > 0 and projected > upper:
        return projected
    if lower is not None and trend.slope < 0 and projected < lower:
        return projected
    return None
