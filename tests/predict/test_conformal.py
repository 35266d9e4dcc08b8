"""Split conformal half-width: rank rule, monotonicity, finite-sample limit."""

import math

import numpy as np
import pytest

from tuneahead_lint.predict.conformal import conformal_quantile, empirical_coverage, interval


def test_rank_is_ceil_n_plus_one_times_coverage():
    residuals = np.arange(1.0, 20.0)  # 19 residuals 1..19
    assert conformal_quantile(residuals, 0.9) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(residuals, 0.5) == 10.0
    assert conformal_quantile(-residuals, 0.5) == 10.0  # absolute values


def test_too_few_residuals_give_an_unbounded_interval():
    assert conformal_quantile(np.arange(1.0, 9.0), 0.9) == math.inf  # 8 < 9 needed
    assert conformal_quantile(np.arange(1.0, 10.0), 0.9) == 9.0
    assert conformal_quantile(np.array([]), 0.5) == math.inf


@pytest.mark.parametrize("n", [9, 10, 37, 100])
def test_half_width_grows_with_coverage(n):
    residuals = np.abs(np.sin(np.arange(n) * 1.7)) * 3.0
    widths = [conformal_quantile(residuals, c) for c in (0.5, 0.6, 0.7, 0.8, 0.9)]
    assert widths == sorted(widths)


def test_interval_and_coverage():
    low, high = interval(np.array([0.5, 0.6]), 0.1)
    assert np.allclose(low, [0.4, 0.5]) and np.allclose(high, [0.6, 0.7])
    assert empirical_coverage(np.array([0.45, 0.9]), np.array([0.5, 0.6]), 0.1) == 0.5
    assert math.isnan(empirical_coverage(np.array([]), np.array([]), 0.1))


def test_coverage_must_be_a_probability():
    with pytest.raises(ValueError):
        conformal_quantile(np.ones(5), 1.0)
