"""The predictor: LightGBM on z-scored features, with a CV+ conformal
interval from every training row and a distance guard that decides
out-of-distribution (:mod:`tuneahead_lint.predict.guard`).

Saved as a folder, never pickled: ``model.txt`` (LightGBM's text format),
``cv/fold-NN.txt`` (the CV+ fold models, same format), ``model.json``
(feature order, standardisation, ranges, fold of each training row and its
out-of-fold residual, the guard, target, training data hash, versions) and
``CARD.md`` (the same, for people). :meth:`Predictor.load` of a saved folder
predicts exactly what the fitted object predicted.

**Small-data rule.** ``min_child_samples`` defaults to ``max(2, n // 15)``
for n training rows: the paper's 20 at its ~300 training rows, 2 at our 42
(20 on 42 rows cannot split, and the model predicts a constant). Early
stopping is off unless an ``eval_set`` is given: on a few hundred rows a
held-out stopping fold costs more rows than the stopping saves.
"""

from __future__ import annotations

import json
import math
import platform
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuneahead_lint.predict.conformal import conformal_quantile, cv_plus
from tuneahead_lint.predict.guard import Guard
from tuneahead_lint.predict.table import PredictError, feature_kind

FORMAT = "tuneahead-predictor/2"
# TuneAhead's LightGBM settings (Appendix C; configs/main.yaml of the paper's code).
PAPER_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05, "num_leaves": 4, "n_estimators": 140, "subsample": 0.6,
    "colsample_bytree": 0.6, "min_child_samples": 20, "lambda_l2": 1.0, "early_stopping_rounds": 50,
}
OOD_TOLERANCE = 0.05  # share of a feature's training range allowed beyond either end
CV_FOLDS = 10  # CV+ folds (cut to the number of groups)


def auto_min_child_samples(n_rows: int) -> int:
    """``max(2, n // 15)``: the paper's 20 at about 300 rows, scaled down."""
    return max(2, n_rows // 15)


@dataclass(frozen=True, slots=True)
class Range:
    """What training saw of one feature: all rows, successful rows (target
    at or above the success threshold), and the median used when a
    hyperparameter is not given at prediction time."""

    low: float
    high: float
    success_low: float | None
    success_high: float | None
    median: float
    success_median: float | None = None

    def outside(self, value: float, tolerance: float = OOD_TOLERANCE) -> bool:
        """True when ``value`` lies beyond the range by more than
        ``tolerance`` × its width (NaN counts as inside: LightGBM routes it)."""
        if math.isnan(value):
            return False
        slack = tolerance * (self.high - self.low)
        return value < self.low - slack or value > self.high + slack


@dataclass(frozen=True, slots=True)
class Target:
    """The target column and how to read predictions of it.

    ``offset`` is added to every prediction (the base score when the column
    is a change from the base model, else 0); ``points_per_unit`` turns
    target units into report points (100 for accuracies in [0, 1])."""

    name: str
    offset: float = 0.0
    points_per_unit: float = 100.0
    base_score: float | None = None
    success_threshold: float | None = None


class Predictor:
    """LightGBM regressor with sklearn manners: ``__init__`` stores the
    parameters, :meth:`fit` and :meth:`load` return the fitted object, learned
    state ends in ``_``. Defaults are the paper's settings; ``subsample``
    takes effect (LightGBM bagging every iteration), which it does not in the
    paper's code (sklearn wrapper without ``subsample_freq``)."""

    def __init__(self, learning_rate: float = 0.05, num_leaves: int = 4, n_estimators: int = 140,
                 subsample: float = 0.6, colsample_bytree: float = 0.6, min_child_samples: int | None = None,
                 lambda_l2: float = 1.0, early_stopping_rounds: int = 50, coverage: float = 0.9,
                 seed: int = 0, cv_folds: int = CV_FOLDS) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_estimators = n_estimators
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_samples = min_child_samples
        self.lambda_l2 = lambda_l2
        self.early_stopping_rounds = early_stopping_rounds
        self.coverage = coverage
        self.seed = seed
        self.cv_folds = cv_folds

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "learning_rate", "num_leaves", "n_estimators", "subsample", "colsample_bytree",
            "min_child_samples", "lambda_l2", "early_stopping_rounds", "coverage", "seed", "cv_folds")}

    def lgb_params(self, n_rows: int | None = None) -> dict[str, Any]:
        """The parameters as LightGBM names (deterministic, single thread).
        Bagging is off when it would draw no row from ``n_rows``."""
        bag = self.subsample < 1 and (n_rows is None or int(self.subsample * n_rows) >= 1)
        return {
            "objective": "regression", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.resolved_min_child_samples(n_rows),
            "bagging_fraction": self.subsample, "bagging_freq": 1 if bag else 0,
            "feature_fraction": self.colsample_bytree, "lambda_l2": self.lambda_l2,
            "seed": self.seed, "deterministic": True, "force_row_wise": True, "num_threads": 1,
            "verbose": -1, "feature_pre_filter": False, "min_data_in_bin": 1,
        }

    def resolved_min_child_samples(self, n_rows: int | None) -> int:
        """The given ``min_child_samples``, else :func:`auto_min_child_samples`."""
        if self.min_child_samples is not None:
            return int(self.min_child_samples)
        return auto_min_child_samples(n_rows or 0)

    # ------------------------------------------------------------------ fit
    def fit(self, X: np.ndarray, y: np.ndarray, *, features: Sequence[str],
            groups: Sequence[str] | None = None,
            eval_set: tuple[np.ndarray, np.ndarray] | None = None,
            target: Target = Target("target")) -> Predictor:
        """Train on ``X`` (rows × features, raw values) and ``y`` (target
        units, without ``target.offset``). The CV+ interval comes from
        ``cv_folds`` folds of whole ``groups`` (rows when None); ``eval_set``
        (opt-in) drives early stopping. Ranges are taken over every row."""
        X, y = as_rows(X, len(features)), np.asarray(y, dtype=np.float64)
        self.features_ = tuple(features)
        self.target_ = target
        self.mean_, self.std_ = standard_moments(X)
        self.min_child_samples_ = self.resolved_min_child_samples(len(y))
        booster = self._train(X, y, self.n_estimators, eval_set)
        self.best_iteration_ = int(booster.best_iteration or booster.current_iteration())
        self.booster_ = _reload(booster, self.best_iteration_)
        self._fit_cv_plus(X, y, groups)
        self._fit_ranges(X, y)
        self._fit_guard(X, groups)
        return self

    def _train(self, X: np.ndarray, y: np.ndarray, rounds: int,
               eval_set: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
        import lightgbm as lgb

        params = {**self.lgb_params(len(y)), "min_data_in_leaf": self.min_child_samples_}
        train = lgb.Dataset(self._z(X), y, feature_name=_safe_names(self.features_),
                            params=params, free_raw_data=False)
        valid, callbacks = [], []
        if eval_set is not None and len(eval_set[1]):
            valid = [train.create_valid(self._z(as_rows(eval_set[0], len(self.features_))), eval_set[1])]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        return lgb.train(params, train, num_boost_round=rounds, valid_sets=valid, callbacks=callbacks)

    def _fit_cv_plus(self, X: np.ndarray, y: np.ndarray, groups: Sequence[str] | None) -> None:
        """Fold models (as many trees as the main model) and the out-of-fold
        residual of every training row (:func:`conformal.cv_plus`)."""
        from tuneahead_lint.predict.splits import group_kfold

        labels = [str(g) for g in groups] if groups is not None else [str(i) for i in range(len(y))]
        self.fold_ = group_kfold(labels, self.cv_folds, self.seed) if len(set(labels)) >= 2 else \
            np.zeros(len(y), dtype=np.int64)
        self.fold_boosters_ = []
        self.residuals_ = np.full(len(y), np.inf)
        if len(set(self.fold_.tolist())) < 2:
            return
        for k in range(int(self.fold_.max()) + 1):
            out = self.fold_ == k
            b = _reload(self._train(X[~out], y[~out], self.best_iteration_), self.best_iteration_)
            self.fold_boosters_.append(b)
            self.residuals_[out] = np.abs(y[out] - b.predict(self._z(X[out])))

    def _fit_guard(self, X: np.ndarray, groups: Sequence[str] | None) -> None:
        gains = self.booster_.feature_importance(importance_type="gain")
        self.guard_ = Guard(self.features_, X, gains, groups)

    def _fit_ranges(self, X: np.ndarray, y: np.ndarray) -> None:
        allX, ally = X, y + self.target_.offset
        thr = self.target_.success_threshold
        ok = ally >= thr if thr is not None else np.ones(ally.size, dtype=bool)
        self.ranges_ = {name: _range(allX[:, j], ok) for j, name in enumerate(self.features_)}
        self.n_rows_ = int(ally.size)

    # ------------------------------------------------------------- predict
    def _z(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.std_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted scores (target units, offset included), shape (rows,)."""
        Z = self._z(as_rows(X, len(self.features_)))
        return self.booster_.predict(Z) + self.target_.offset

    def n_splits(self) -> int:
        """Splits over all trees; 0 means the model predicts a constant (too
        few rows for ``min_child_samples`` on each side of a split)."""
        return sum(t["num_leaves"] - 1 for t in self.booster_.dump_model()["tree_info"])

    def predict_interval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(score, low, high)``: the all-rows model's score and the CV+
        interval (±inf when there are too few rows or folds)."""
        X = as_rows(X, len(self.features_))
        pred = self.predict(X)
        if not self.fold_boosters_:
            return pred, np.full(len(pred), -math.inf), np.full(len(pred), math.inf)
        Z = self._z(X)
        by_fold = np.array([b.predict(Z) for b in self.fold_boosters_]) + self.target_.offset
        low, high = cv_plus(by_fold[self.fold_], self.residuals_, self.coverage)
        return pred, low, high

    def half_width(self) -> float:
        """Typical half-width: the coverage quantile of the out-of-fold
        residuals (target units; what the card reports)."""
        return conformal_quantile(self.residuals_, self.coverage)

    def out_of_range(self, x: Sequence[float]) -> tuple[tuple[str, float, float, float], ...]:
        """``(feature, value, train_low, train_high)`` for each value of one
        row outside the training range (see :meth:`Range.outside`)."""
        return tuple((n, float(v), self.ranges_[n].low, self.ranges_[n].high)
                     for n, v in zip(self.features_, x) if self.ranges_[n].outside(float(v)))

    # ----------------------------------------------------------- save/load
    def to_dict(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """``model.json`` content (plain JSON types; NaN/inf as None)."""
        import lightgbm

        from tuneahead_lint import __version__

        doc = {
            "format": FORMAT, "features": list(self.features_),
            "feature_kinds": {n: feature_kind(n) for n in self.features_},
            "standardize": {"mean": list(self.mean_), "std": list(self.std_)},
            "ranges": {n: _range_dict(r) for n, r in self.ranges_.items()},
            "ood_tolerance": OOD_TOLERANCE,
            "conformal": {"method": "cv+", "coverage": self.coverage, "folds": len(self.fold_boosters_),
                          "q": self.half_width(), "fold_of_row": list(self.fold_),
                          "residuals": list(self.residuals_)},
            "min_child_samples": self.min_child_samples_,
            "guard": self.guard_.to_dict(),
            "target": {"name": self.target_.name, "offset": self.target_.offset,
                       "points_per_unit": self.target_.points_per_unit,
                       "base_score": self.target_.base_score,
                       "success_threshold": self.target_.success_threshold},
            "params": self.get_params(), "best_iteration": self.best_iteration_, "rows": self.n_rows_,
            "versions": {"tuneahead_lint": __version__, "lightgbm": lightgbm.__version__,
                         "numpy": np.__version__, "python": platform.python_version()},
        }
        return _jsonable({**doc, **(extra or {})})

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``model.txt``, ``model.json`` and ``CARD.md`` into ``folder``."""
        from tuneahead_lint.predict.card import render_card

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        doc = self.to_dict(extra)
        (out / "model.txt").write_text(self.booster_.model_to_string(), encoding="utf-8")
        cv = out / "cv"
        for old in sorted(cv.glob("fold-*.txt")) if cv.is_dir() else ():
            old.unlink()
        if self.fold_boosters_:
            cv.mkdir(exist_ok=True)
        for k, b in enumerate(self.fold_boosters_):
            (cv / f"fold-{k:02d}.txt").write_text(b.model_to_string(), encoding="utf-8")
        (out / "model.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (out / "CARD.md").write_text(render_card(doc), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> Predictor:
        """Read a folder written by :meth:`save`. Raises :class:`PredictError`."""
        folder = Path(folder)
        try:
            doc = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            text = (folder / "model.txt").read_text(encoding="utf-8")
            folds = [(folder / "cv" / f"fold-{k:02d}.txt").read_text(encoding="utf-8")
                     for k in range(int(doc.get("conformal", {}).get("folds", 0)))]
        except (OSError, ValueError) as exc:
            raise PredictError(f"{folder}: not a predictor folder: {exc}") from None
        if doc.get("format") != FORMAT:
            raise PredictError(f"{folder}: model format {doc.get('format')!r}, expected {FORMAT!r}")
        self = cls(**doc["params"])
        self._restore(doc)
        self.booster_ = booster_from_text(text)
        self.fold_boosters_ = [booster_from_text(t) for t in folds]
        self.doc_ = doc
        return self

    def _restore(self, doc: dict[str, Any]) -> None:
        self.features_ = tuple(doc["features"])
        self.mean_ = np.array(doc["standardize"]["mean"], dtype=np.float64)
        self.std_ = np.array(doc["standardize"]["std"], dtype=np.float64)
        self.ranges_ = {n: _range_from(r) for n, r in doc["ranges"].items()}
        c, t = doc["conformal"], doc["target"]
        self.fold_ = np.array(c["fold_of_row"], dtype=np.int64)
        self.residuals_ = np.array([math.inf if r is None else r for r in c["residuals"]], dtype=np.float64)
        self.min_child_samples_ = int(doc["min_child_samples"])
        self.guard_ = Guard.from_dict(self.features_, doc["guard"])
        self.target_ = Target(t["name"], t["offset"], t["points_per_unit"], t["base_score"],
                              t["success_threshold"])
        self.best_iteration_ = int(doc["best_iteration"])
        self.n_rows_ = int(doc["rows"])


def booster_from_text(text: str) -> Any:
    """The numpy evaluator of the text model (no lightgbm import: seconds
    at start-up), or ``lightgbm.Booster`` for models it does not support."""
    from tuneahead_lint.predict.textmodel import TextBooster, Unsupported

    try:
        return TextBooster(text)
    except Unsupported:
        import lightgbm as lgb

        return lgb.Booster(model_str=text)


def _reload(booster: Any, iterations: int) -> Any:
    """A standalone booster of the first ``iterations`` trees."""
    import lightgbm as lgb

    return lgb.Booster(model_str=booster.model_to_string(num_iteration=iterations))


def as_rows(X: np.ndarray, k: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    X = X.reshape(1, -1) if X.ndim == 1 else X
    if X.shape[1] != k:
        raise PredictError(f"expected {k} feature columns, got {X.shape[1]}")
    return X


def standard_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and stds ignoring NaN; std 1 where constant or empty."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return mean, std


def _range(col: np.ndarray, ok: np.ndarray) -> Range:
    fin = np.isfinite(col)
    good = col[fin & ok]
    if not fin.any():
        return Range(math.nan, math.nan, None, None, math.nan, None)
    return Range(float(col[fin].min()), float(col[fin].max()),
                 float(good.min()) if good.size else None, float(good.max()) if good.size else None,
                 float(np.median(col[fin])), float(np.median(good)) if good.size else None)


def _range_dict(r: Range) -> dict[str, Any]:
    return {"low": r.low, "high": r.high, "success_low": r.success_low,
            "success_high": r.success_high, "median": r.median, "success_median": r.success_median}


def _range_from(d: dict[str, Any]) -> Range:
    def num(v: Any) -> float:
        return math.nan if v is None else float(v)

    return Range(num(d["low"]), num(d["high"]), d["success_low"], d["success_high"], num(d["median"]),
                 d.get("success_median"))


def _safe_names(names: Sequence[str]) -> list[str]:
    """LightGBM rejects some characters in feature names; the JSON keeps the real ones."""
    return [f"f{i}" for i in range(len(names))]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
