"""Out-of-distribution guard: how far a dataset is from the training runs.

A per-feature box says "out" as soon as one feature crosses a training
bound, however little that feature matters and however near the rest is.
This guard measures one multivariate distance instead:

1. **Transform.** A positive feature spanning at least a factor 10 over the
   training runs (learning rate, perplexity, token counts) is taken as log.
   Size features (:data:`SIZE_FEATURES`) are then clipped to their training
   range: trees extrapolate flat in them, and a bigger sample of the same
   data is not foreign data (the report notes the size instead).
2. **Standardise and weight.** z-scores with the training mean and SD, each
   feature weighted by the square root of its share of the model's split
   gain: features the model does not use do not move the distance.
3. **Distance.** The mean Euclidean distance to the ``k`` nearest training
   runs, divided by the reference: the 95th percentile of the training
   runs' own distances to their ``k`` nearest runs of *other* groups (leave
   one group out: seed repeats of one recipe are not each other's
   neighbours, as a new dataset has none either).

``ratio > 1`` means farther than 95% of the training runs are from the
rest: the dataset is flagged, the interval is widened by ``ratio`` and the
verdict is "uncertain".
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tuneahead_lint.types import FeatureRange, GuardResult

SIZE_FEATURES = frozenset({"record_count", "dataset_num_items"})
LOG_SPAN = 10.0  # positive features spanning this factor are compared on a log scale
NEIGHBOURS = 3
REFERENCE_QUANTILE = 95.0


class Guard:
    """Fitted on the training matrix; :meth:`check` scores one row."""

    def __init__(self, features: Sequence[str], X: np.ndarray, gains: np.ndarray,
                 groups: Sequence[str] | None = None) -> None:
        self.features = tuple(features)
        X = np.asarray(X, dtype=np.float64)
        self.log = np.array([_loggable(X[:, j]) for j in range(X.shape[1])])
        self.low, self.high = _bounds(X)
        T = self._transform(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.mean = np.nan_to_num(np.nanmean(T, axis=0))
            sd = np.nan_to_num(np.nanstd(T, axis=0))
        self.sd = np.where(sd > 0, sd, 1.0)
        share = np.asarray(gains, dtype=np.float64)
        share = share / share.sum() if share.sum() > 0 else np.full(len(share), 1.0 / max(len(share), 1))
        self.weight = np.sqrt(share)
        self.train = self._scaled(X)
        self.groups = np.asarray(list(groups) if groups is not None else range(len(X))).astype(str)
        self.reference = _reference(self.train, self.groups)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        size = np.array([f in SIZE_FEATURES for f in self.features])
        X[:, size] = np.clip(X[:, size], self.low[size], self.high[size])
        with np.errstate(divide="ignore", invalid="ignore"):
            X[:, self.log] = np.log(X[:, self.log])
        return X

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        Z = (self._transform(X) - self.mean) / self.sd
        return np.nan_to_num(Z, nan=0.0, posinf=0.0, neginf=0.0) * self.weight

    def distances(self, X: np.ndarray) -> np.ndarray:
        """Mean distance of each row of ``X`` to its nearest training rows."""
        D = _pairwise(self._scaled(np.atleast_2d(X)), self.train)
        k = min(NEIGHBOURS, D.shape[1])
        return np.sort(D, axis=1)[:, :k].mean(axis=1)

    def check(self, x: Sequence[float]) -> GuardResult:
        x = np.asarray(x, dtype=np.float64)
        d = float(self.distances(x)[0])
        z = self._scaled(x[None, :])[0]
        nearest = self.train[int(np.argmin(_pairwise(z[None, :], self.train)[0]))]
        diff = (z - nearest) / np.where(self.weight > 0, self.weight, 1.0)
        order = np.argsort(-np.abs((z - nearest)), kind="stable")[:3]
        beyond = tuple(FeatureRange(f, float(v), float(lo), float(hi))
                       for f, v, lo, hi in zip(self.features, x, self.low, self.high)
                       if f in SIZE_FEATURES and np.isfinite(v) and not lo <= v <= hi)
        ratio = d / self.reference if self.reference > 0 else (0.0 if d == 0 else np.inf)
        return GuardResult(d, self.reference, float(ratio),
                           tuple((self.features[j], float(diff[j])) for j in order if abs(z - nearest)[j] > 0),
                           beyond)

    def to_dict(self) -> dict[str, Any]:
        return {"method": f"mean distance to {NEIGHBOURS} nearest training runs / p{REFERENCE_QUANTILE:g} of "
                          f"their leave-one-group-out distances",
                "log": [bool(v) for v in self.log], "low": list(self.low), "high": list(self.high),
                "mean": list(self.mean), "sd": list(self.sd), "weight": list(self.weight),
                "train": [list(r) for r in self.train], "reference": self.reference}

    @classmethod
    def from_dict(cls, features: Sequence[str], doc: dict[str, Any]) -> Guard:
        self = cls.__new__(cls)
        self.features = tuple(features)
        arr = {k: np.array([np.nan if v is None else v for v in doc[k]], dtype=np.float64)
               for k in ("low", "high", "mean", "sd", "weight")}
        self.low, self.high, self.mean, self.sd, self.weight = (arr[k] for k in ("low", "high", "mean", "sd",
                                                                                  "weight"))
        self.log = np.array(doc["log"], dtype=bool)
        self.train = np.array(doc["train"], dtype=np.float64)
        self.reference = float(doc["reference"])
        self.groups = np.array([])
        return self


def _loggable(col: np.ndarray) -> bool:
    fin = col[np.isfinite(col)]
    return bool(fin.size and fin.min() > 0 and fin.max() / fin.min() >= LOG_SPAN)


def _bounds(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = np.where(np.isfinite(X), X, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        return np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)


def _pairwise(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2), 0.0))


def _reference(train: np.ndarray, groups: np.ndarray) -> float:
    """p95 of each training row's mean distance to its nearest rows of other groups."""
    D = _pairwise(train, train)
    D[groups[:, None] == groups[None, :]] = np.inf
    k = min(NEIGHBOURS, max(1, int(np.isfinite(D).sum(axis=1).min())))
    own = np.sort(D, axis=1)[:, :k].mean(axis=1)
    own = own[np.isfinite(own)]
    return float(np.percentile(own, REFERENCE_QUANTILE)) if own.size else 0.0
