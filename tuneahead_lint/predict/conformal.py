"""Conformal prediction intervals.

**CV+** (Barber, Candès, Ramdas and Tibshirani 2021, "Predictive inference
with the jackknife+"; cross-conformal, Vovk 2015): the training rows are cut
into K folds; the model fit without fold k predicts that fold's rows, giving
each row i an out-of-fold residual ``R_i = |y_i - μ₋ₖ₍ᵢ₎(x_i)|``. For a new
x, the interval runs from the ⌊α(n+1)⌋-th smallest of ``μ₋ₖ₍ᵢ₎(x) - R_i``
to the ⌈(1-α)(n+1)⌉-th smallest of ``μ₋ₖ₍ᵢ₎(x) + R_i`` over the n training
rows. Every row trains the model and calibrates the interval: no held-out
calibration set. For runs exchangeable with the training runs, coverage is
at least 1 - 2α - √(2/n) in theory and about 1 - α in practice. With folds by
data recipe, "exchangeable" means a new recipe like the training ones. The
guarantee says nothing about a dataset outside the training distribution
(the distance guard widens the interval there, a heuristic).

**Split conformal** (:func:`conformal_quantile`): the half-width from
residuals of rows the model never trained on.
"""

from __future__ import annotations

import math

import numpy as np


def conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    """Half-width ``q`` of the interval from absolute calibration residuals.

    ``coverage`` in (0, 1). Returns ``inf`` when there are too few residuals
    for the requested coverage (fewer than ``1/(1 - coverage) - 1``)."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    r = np.sort(np.abs(np.asarray(residuals, dtype=np.float64)))
    r = r[np.isfinite(r)]
    rank = math.ceil((r.size + 1) * coverage)
    return float(r[rank - 1]) if 0 < rank <= r.size else math.inf


def cv_plus(fold_preds: np.ndarray, residuals: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """CV+ ``(low, high)`` for new rows.

    ``fold_preds`` has shape (n_train, n_new): row i holds the predictions
    of the model fit without training row i's fold; ``residuals`` (n_train,)
    are the out-of-fold absolute residuals. Ends are ±inf when n is too
    small for the coverage."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    P = np.asarray(fold_preds, dtype=np.float64)
    R = np.abs(np.asarray(residuals, dtype=np.float64))[:, None]
    n, alpha = R.shape[0], 1.0 - coverage
    lo_rank, hi_rank = math.floor(alpha * (n + 1) + 1e-9), math.ceil(coverage * (n + 1) - 1e-9)
    low = np.sort(P - R, axis=0)[lo_rank - 1] if lo_rank >= 1 else np.full(P.shape[1], -math.inf)
    high = np.sort(P + R, axis=0)[hi_rank - 1] if hi_rank <= n else np.full(P.shape[1], math.inf)
    return low, high


def interval(pred: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` arrays around predictions."""
    pred = np.asarray(pred, dtype=np.float64)
    return pred - q, pred + q


def empirical_coverage(y: np.ndarray, pred: np.ndarray, q: float) -> float:
    """Share of ``y`` inside ``[pred - q, pred + q]`` (NaN for no rows)."""
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        return math.nan
    return float(np.mean(np.abs(y - np.asarray(pred)) <= q))


def covered(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Boolean per row: ``low <= y <= high``."""
    return (np.asarray(low) <= y) & (y <= np.asarray(high))
