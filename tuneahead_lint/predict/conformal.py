"""Split conformal prediction intervals (absolute-residual score).

Calibrate on rows the model never trained on: with ``n`` calibration
residuals ``|y - ŷ|`` and target coverage ``1 - α``, the half-width ``q`` is
the ``⌈(n + 1)(1 - α)⌉``-th smallest residual (infinite when that rank
exceeds ``n``). For a new run exchangeable with the calibration runs,
``P(y ∈ [ŷ - q, ŷ + q]) ≥ 1 - α`` (Vovk et al. 2005; Lei et al. 2018).
The guarantee is marginal, over runs like the calibration runs: it says
nothing about a dataset outside the training distribution.
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
