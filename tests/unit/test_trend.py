"""Least-squares trends: exact lines, gaps skipped, projection to the stage's end."""

from __future__ import annotations

import math

import pytest

from cockpit.engine.trend import crossing, fit_trend, real_points


def test_exact_line_gives_its_slope_and_projection() -> None:
    points = [(100.0 + 15 * i, 0.1 + 0.01 * i) for i in range(5)]
    trend = fit_trend(points)
    assert trend is not None
    assert trend.slope == pytest.approx(0.01 / 15)
    assert trend.per_minute == pytest.approx(0.04)
    assert trend.at(100.0 + 15 * 10) == pytest.approx(0.2)
    assert trend.stderr == pytest.approx(0.0, abs=1e-12) and trend.steady()


def test_gaps_nan_and_infinity_are_skipped_not_zero() -> None:
    points = [(0.0, 1.0), (10.0, None), (20.0, 3.0), (30.0, math.nan), (40.0, 5.0), (50.0, math.inf)]
    assert real_points(points) == [(0.0, 1.0), (20.0, 3.0), (40.0, 5.0)]
    trend = fit_trend(points)
    assert trend is not None and trend.slope == pytest.approx(0.1) and trend.samples == 3


def test_since_and_min_samples() -> None:
    points = [(0.0, 100.0), (10.0, 1.0), (20.0, 1.0), (30.0, 1.0)]
    flat = fit_trend(points, since=10.0)
    assert flat is not None and flat.slope == 0.0 and not flat.steady()
    assert fit_trend(points, since=10.0, min_samples=4) is None
    assert fit_trend([(5.0, 1.0), (5.0, 2.0)]) is None  # one instant: no slope
    assert fit_trend([]) is None


def test_noise_is_not_a_steady_trend() -> None:
    noisy = fit_trend([(0, 0.10), (15, 0.12), (30, 0.11), (45, 0.13), (60, 0.10), (75, 0.12)])
    assert noisy is not None and noisy.slope > 0 and not noisy.steady()


def test_crossing_only_counts_movement_towards_the_limit() -> None:
    rising = fit_trend([(0.0, 0.1), (60.0, 0.15)])
    assert rising is not None
    assert crossing(rising, upper=0.2, lower=None, by=600.0) == pytest.approx(0.6)
    assert crossing(rising, upper=0.2, lower=None, by=60.0) is None  # not before the end
    assert crossing(rising, upper=None, lower=0.05, by=600.0) is None  # rising away from a lower limit
    falling = fit_trend([(0.0, 0.99), (60.0, 0.98)])
    assert falling is not None
    assert crossing(falling, upper=None, lower=0.95, by=600.0) == pytest.approx(0.89)
    assert crossing(falling, upper=1.0, lower=None, by=600.0) is None
