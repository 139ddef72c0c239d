"""Mann-Whitney U against published values (scipy's documentation, R) and by hand with ties."""

from __future__ import annotations

import math

import pytest

from cockpit.engine.comparison import mann_whitney_u

MALES = [19, 22, 16, 29, 24]
FEMALES = [20, 11, 17, 12]


def test_scipy_documentation_example() -> None:
    # scipy.stats.mannwhitneyu(males, females, method="asymptotic"): U1 = 17, p = 0.11134688653314041
    result = mann_whitney_u(MALES, FEMALES)
    assert result.u == 17.0
    assert result.p_value == pytest.approx(0.11134688653314041, abs=1e-12)
    assert result.direction == "greater"
    assert (result.n_canary, result.n_stable) == (5, 4)
    assert result.z == pytest.approx(6.5 / math.sqrt(200 / 12))


def test_one_sided_is_half_the_two_sided_in_the_leaning_direction() -> None:
    greater = mann_whitney_u(MALES, FEMALES, alternative="greater")
    assert greater.p_value == pytest.approx(0.11134688653314041 / 2, abs=1e-12)
    less = mann_whitney_u(MALES, FEMALES, alternative="less")
    assert less.p_value > 0.9


def test_r_wilcox_test_without_exact() -> None:
    # R: wilcox.test(c(1, 2, 3), c(4, 5, 6), exact = FALSE) -> W = 0, p-value = 0.08086
    result = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert result.u == 0.0
    assert result.p_value == pytest.approx(0.0808556, abs=1e-6)
    assert result.direction == "less" and result.z < 0


def test_tie_correction() -> None:
    # ranks: 1 | 2,2,2 share 3 | 3 -> 5 | 4 -> 6; U1 = 1 + 3 + 3 - 6 = 1
    # variance = 3*3/12 * (7 - (27 - 3) / 30) = 4.65; z = (|1 - 4.5| - 0.5) / sqrt(4.65)
    result = mann_whitney_u([1, 2, 2], [2, 3, 4])
    assert result.u == 1.0
    z = 3 / math.sqrt(4.65)
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), abs=1e-12)
    assert result.p_value == pytest.approx(0.1641597, abs=1e-6)


def test_swapping_the_samples_keeps_the_p_value_and_flips_the_direction() -> None:
    a, b = [3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]
    ab, ba = mann_whitney_u(a, b), mann_whitney_u(b, a)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert ab.u + ba.u == len(a) * len(b)
    assert {ab.direction, ba.direction} == {"greater", "less"}


def test_identical_values_give_p_one_and_no_direction() -> None:
    result = mann_whitney_u([5, 5, 5], [5, 5])
    assert result.p_value == 1.0 and result.direction == "same" and result.z == 0.0


def test_clearly_separated_large_samples_are_significant() -> None:
    canary = [0.2 + i * 0.001 for i in range(30)]
    stable = [0.1 + i * 0.001 for i in range(30)]
    result = mann_whitney_u(canary, stable)
    assert result.significant(0.01) and result.direction == "greater"
    assert result.u == 900.0


def test_nan_and_none_are_dropped_and_an_empty_side_is_refused() -> None:
    result = mann_whitney_u([19, None, 22, float("nan"), 16, 29, 24], FEMALES + [float("inf")])
    assert result.p_value == pytest.approx(0.11134688653314041, abs=1e-12)
    with pytest.raises(ValueError, match="both sides"):
        mann_whitney_u([float("nan")], [1.0])
