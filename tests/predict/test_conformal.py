"""Split conformal half-width: rank rule, monotonicity, finite-sample limit."""

import math

import numpy as np
import pytest

from tuneahead_lint.predict.conformal import conformal_quantile, cv_plus, empirical_coverage, interval


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


def test_cv_plus_with_one_prediction_is_the_split_conformal_interval():
    residuals = np.arange(1.0, 20.0)  # 19 rows
    low, high = cv_plus(np.full((19, 1), 5.0), residuals, 0.9)
    assert high[0] == 5.0 + 18.0  # ceil(0.9 * 20) = 18th smallest of 5 + R
    assert low[0] == 5.0 - 18.0  # floor(0.1 * 20) = 2nd smallest of 5 - R
    low, high = cv_plus(np.full((8, 1), 5.0), np.ones(8), 0.9)
    assert low[0] == -math.inf and high[0] == math.inf  # 8 rows cannot give 90%


def test_cv_plus_covers_about_the_target_on_simulated_folds():
    rng = np.random.default_rng(0)
    n, m = 60, 2000
    noise = rng.normal(size=n)
    fold_preds = rng.normal(scale=0.1, size=(n, 1)) + np.zeros((n, m))  # fold models near the truth 0
    low, high = cv_plus(fold_preds, np.abs(noise), 0.9)
    y_new = rng.normal(size=m)
    assert 0.85 <= np.mean((low <= y_new) & (y_new <= high)) <= 0.97
