"""Point metrics of a prediction against the truth, shared by training and evaluation."""

from __future__ import annotations

import math

import numpy as np


def metrics(y: np.ndarray, pred: np.ndarray, points_per_unit: float) -> dict[str, float]:
    """RMSE in points, R², Pearson r, Acc@1/2/3pp. NaN where undefined."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    err = (pred - y) * points_per_unit
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out = {"rmse": float(np.sqrt(np.mean(err ** 2))),
           "r2": 1.0 - float(np.sum((pred - y) ** 2)) / ss_tot if ss_tot > 0 else math.nan,
           "pearson": _pearson(y, pred)}
    for k in (1, 2, 3):
        out[f"acc@{k}"] = float(np.mean(np.abs(err) <= k + 1e-9))
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def point_metrics(y: np.ndarray, pred: np.ndarray, points_per_unit: float) -> dict[str, float]:
    """RMSE (points), R², Pearson r and Acc@1/2/3pp of ``pred`` against ``y``."""
    return metrics(y, pred, points_per_unit) if len(y) else {"rmse": float("nan")}
