"""The divergence classifier: P(the fine-tune diverges) from the features.

``y_diverged`` (meta/export.py: a non-finite loss or LoRA weight, or a loss
that ended above 1.5x its first value) is a label of its own, not a zero
score. LightGBM with the binary objective on z-scored features, the
predictor's tree settings; its card is the repeated grouped 5-fold
cross-validation of ``meta fit``: Brier score against always predicting the
training fold's divergence rate (Brier skill = 1 - Brier/Brier_base) and
ROC AUC, mean ± Nadeau-Bengio SE over the held-out folds, and the AUC of
each repeat's pooled out-of-fold predictions (stabler when few runs
diverge: most folds then hold one class). Saved like the
predictor (``model.txt``, ``model.json`` with ``kind: classifier``,
``CARD.md``), never pickled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tuneahead_lint.predict.predictor import Predictor, as_rows, booster_from_text, standard_moments
from tuneahead_lint.predict.table import MetaTable, PredictError

FORMAT = "tuneahead-classifier/1"
KIND = "classifier"


def check_labels(y: np.ndarray, where: str) -> np.ndarray:
    """``y`` as 0/1 floats; a :class:`PredictError` unless both classes occur."""
    if not np.isin(y, (0.0, 1.0)).all():
        raise PredictError(f"{where}: a divergence label must be 0 or 1")
    if np.unique(y).size < 2:
        raise PredictError(f"{where}: {int(y.sum())} of {y.size} runs diverged: a classifier needs both classes")
    return y.astype(np.float64)


class DivergenceClassifier:
    """Binary LightGBM with sklearn manners (``fit``/``load`` return the
    fitted object, learned state ends in ``_``); ``params`` are
    :class:`Predictor`'s (the interval settings are unused)."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def lgb_params(self, n_rows: int) -> dict[str, Any]:
        return {**Predictor(**self.params).lgb_params(n_rows), "objective": "binary"}

    def fit(self, X: np.ndarray, y: np.ndarray, *, features: Sequence[str]) -> DivergenceClassifier:
        """Train on ``X`` (rows x features, raw values) and 0/1 labels ``y``."""
        import lightgbm as lgb

        X = as_rows(X, len(features))
        self.features_ = tuple(features)
        self.mean_, self.std_ = standard_moments(X)
        self.medians_ = {n: _median(X[:, j]) for j, n in enumerate(self.features_)}
        self.base_rate_ = float(np.mean(y))
        params = self.lgb_params(len(y))
        data = lgb.Dataset(self._z(X), y, feature_name=[f"f{i}" for i in range(len(features))], params=params)
        rounds = int(self.params.get("n_estimators", 140))
        self.booster_ = booster_from_text(lgb.train(params, data, num_boost_round=rounds).model_to_string())
        return self

    def _z(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.std_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(diverged) per row, shape (rows,)."""
        return np.asarray(self.booster_.predict(self._z(as_rows(X, len(self.features_)))), dtype=np.float64)

    def median(self, feature: str) -> float:
        """The training median of ``feature`` (for a hyperparameter not given)."""
        return self.medians_[feature]

    def to_dict(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        doc = {"format": FORMAT, "kind": KIND, "features": list(self.features_),
               "standardize": {"mean": [float(v) for v in self.mean_], "std": [float(v) for v in self.std_]},
               "medians": self.medians_, "base_rate": self.base_rate_, "params": self.params,
               "target": {"name": "y_diverged"}}
        return {**doc, **(extra or {})}

    def save(self, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``model.txt``, ``model.json`` and ``CARD.md`` into ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        doc = _finite(self.to_dict(extra))
        (out / "model.txt").write_text(self.booster_.model_to_string(), encoding="utf-8")
        (out / "model.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (out / "CARD.md").write_text(render_card(doc), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> DivergenceClassifier:
        """Read a folder written by :meth:`save`. Raises :class:`PredictError`."""
        folder = Path(folder)
        try:
            doc = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            text = (folder / "model.txt").read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise PredictError(f"{folder}: not a classifier folder: {exc}") from None
        if doc.get("format") != FORMAT:
            raise PredictError(f"{folder}: model format {doc.get('format')!r}, expected {FORMAT!r}")
        self = cls(**doc["params"])
        self.features_ = tuple(doc["features"])
        self.mean_ = np.array(doc["standardize"]["mean"], dtype=np.float64)
        self.std_ = np.array(doc["standardize"]["std"], dtype=np.float64)
        self.medians_ = {k: math.nan if v is None else float(v) for k, v in doc["medians"].items()}
        self.base_rate_ = float(doc["base_rate"])
        self.booster_ = booster_from_text(text)
        self.doc_ = doc
        return self


def _median(col: np.ndarray) -> float:
    fin = col[np.isfinite(col)]
    return float(np.median(fin)) if fin.size else math.nan


def _finite(obj: Any) -> Any:
    """NaN/inf as None, recursively (plain JSON)."""
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney ROC AUC (ties count half); NaN with one class."""
    pos, neg = p[y == 1], p[y == 0]
    if not pos.size or not neg.size:
        return math.nan
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (pos.size * neg.size))


def fold_scores(y: np.ndarray, p: np.ndarray, rate: float) -> dict[str, float]:
    """Brier, the base rate's Brier, Brier skill and AUC on one held-out part."""
    brier, base = float(np.mean((p - y) ** 2)), float(np.mean((rate - y) ** 2))
    return {"brier": brier, "brier_base": base, "brier_skill": 1 - brier / base if base > 0 else math.nan,
            "auc": roc_auc(y, p)}


def classifier_cv(table: MetaTable, features: Sequence[str], params: dict[str, Any], groups: str | None,
                  seed: int, repeats: int) -> dict[str, Any]:
    """Repeated grouped 5-fold CV of the classifier, for its card."""
    from tuneahead_lint.predict.evaluate import EvalConfig, resamples, spread

    X, y = table.matrix(features), check_labels(table.numeric("y_diverged"), table.path)
    parts = resamples(table, EvalConfig(split="group", folds=5, repeats=repeats, seed=seed, group_column=groups))
    oof = np.full((repeats, y.size), np.nan)
    scores = [_fold(X, y, rs.train, rs.test, features, params, oof[rs.repeat]) for rs in parts]
    fraction = float(np.mean([len(rs.test) / len(y) for rs in parts]))
    out: dict[str, Any] = {"protocol": f"repeated group 5-fold by {groups or 'row (no group column)'}, "
                                       f"{repeats} repeats ({len(parts)} resamples), seed {seed}",
                           "runs": int(y.size), "diverged_runs": int(y.sum())}
    for key in ("brier", "brier_base", "brier_skill", "auc"):
        s = spread([sc[key] for sc in scores], key, fraction)
        out[key], out[key + "_se"] = s.mean, s.se
    out["auc_pooled"] = float(np.mean([roc_auc(y, row) for row in oof]))
    return out


def _fold(X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, features: Sequence[str],
          params: dict[str, Any], oof: np.ndarray) -> dict[str, float]:
    """Scores on ``test`` of a classifier fitted on ``train`` (its base rate
    when the training part holds one class); its predictions go into ``oof``."""
    rate = float(np.mean(y[train]))
    if np.unique(y[train]).size < 2:
        p = np.full(test.size, rate)
    else:
        p = DivergenceClassifier(**params).fit(X[train], y[train], features=features).predict_proba(X[test])
    oof[test] = p
    return fold_scores(y[test], p, rate)


def render_card(doc: dict[str, Any]) -> str:
    """``CARD.md``: what the classifier predicts and its grouped-CV skill."""
    cv = doc.get("cv") or {}

    def num(key: str) -> str:
        v = cv.get(key)
        return "n/a" if v is None else f"{v:.3f}"

    return (f"# {doc.get('name', 'divergence classifier')}: P(diverged)\n\n"
            f"{doc.get('description', '')}\n\n"
            f"Predicts the probability that a LoRA fine-tune diverges (`y_diverged`: a non-finite loss or LoRA "
            f"weight, or a loss that ended above 1.5x its first value), from {len(doc['features'])} features "
            f"({doc.get('variant', '')} variant); training runs: {cv.get('runs')}, diverged: "
            f"{cv.get('diverged_runs')} (base rate {doc['base_rate']:.3f}).\n\n"
            f"## Grouped cross-validation\n\n{cv.get('protocol', 'none')}\n\n"
            f"| metric | mean | SE |\n|---|---|---|\n"
            f"| Brier score | {num('brier')} | {num('brier_se')} |\n"
            f"| Brier of the base rate | {num('brier_base')} | {num('brier_base_se')} |\n"
            f"| Brier skill 1 - Brier/Brier_base | {num('brier_skill')} | {num('brier_skill_se')} |\n"
            f"| ROC AUC (folds with both classes) | {num('auc')} | {num('auc_se')} |\n"
            f"| ROC AUC of the pooled out-of-fold predictions (mean over repeats) | {num('auc_pooled')} | |\n")
