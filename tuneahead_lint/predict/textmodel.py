"""LightGBM text models evaluated with numpy alone: prediction and exact
(path-dependent) TreeSHAP values, without importing lightgbm or shap.

Importing lightgbm pulls scikit-learn, scipy and pandas and importing shap
pulls numba: about 10 s of a 15 s lint on a busy machine, to evaluate 140
trees of 4 leaves. :class:`TextBooster` reads the text dump the predictor
ships (``model.txt``) and answers the calls the lint path makes
(``predict``, ``predict(pred_contrib=True)``, ``dump_model``,
``model_to_string``) with the same numbers as ``lightgbm.Booster`` (checked
in ``tests/predict/test_textmodel.py``). Shapley values are computed per
tree by enumerating the subsets of the few features a tree splits on, with
LightGBM's path-dependent expectation (children weighted by their training
counts), which is what TreeSHAP computes. Models with categorical splits,
linear trees or trees over more than ``MAX_TREE_FEATURES`` features are
refused (:class:`Unsupported`); the caller then uses lightgbm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

MAX_TREE_FEATURES = 10  # 2**10 subsets per tree and row at most
ZERO = 1e-35  # LightGBM's kZeroThreshold


class Unsupported(ValueError):
    """The model uses something this evaluator does not implement."""


@dataclass(frozen=True)
class Tree:
    """One tree of the text dump; children < 0 are leaves (``~child``)."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    decision: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    leaf_value: tuple[float, ...]
    leaf_count: tuple[float, ...]
    internal_count: tuple[float, ...]

    def go_left(self, node: int, x: float) -> bool:
        """LightGBM's NumericalDecision for one value."""
        missing, default_left = (self.decision[node] >> 2) & 3, bool(self.decision[node] & 2)
        if math.isnan(x) and missing != 2:
            x = 0.0
        if (missing == 1 and abs(x) <= ZERO) or (missing == 2 and math.isnan(x)):
            return default_left
        return x <= self.threshold[node]

    def value(self, x: np.ndarray) -> float:
        if not self.left:
            return self.leaf_value[0]
        node = 0
        while node >= 0:
            node = self.left[node] if self.go_left(node, float(x[self.feature[node]])) else self.right[node]
        return self.leaf_value[~node]

    def expectation(self, x: np.ndarray, known: frozenset[int], node: int = 0) -> float:
        """E[tree | x_known]: unknown features average their children by count."""
        if not self.left:
            return self.leaf_value[0]
        if node < 0:
            return self.leaf_value[~node]
        f = self.feature[node]
        if f in known:
            child = self.left[node] if self.go_left(node, float(x[f])) else self.right[node]
            return self.expectation(x, known, child)
        lw, rw = self._count(self.left[node]), self._count(self.right[node])
        return (lw * self.expectation(x, known, self.left[node])
                + rw * self.expectation(x, known, self.right[node])) / (lw + rw)

    def _count(self, child: int) -> float:
        return self.leaf_count[~child] if child < 0 else self.internal_count[child]

    def shapley(self, x: np.ndarray, out: np.ndarray) -> None:
        """Add this tree's exact Shapley values for row ``x`` to ``out``."""
        features = sorted(set(self.feature))
        n = len(features)
        if n > MAX_TREE_FEATURES:
            raise Unsupported(f"a tree splits on {n} features")
        value = {s: self.expectation(x, frozenset(s)) for k in range(n + 1) for s in combinations(features, k)}
        for i in features:
            others = [f for f in features if f != i]
            for k in range(n):
                weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                for s in combinations(others, k):
                    out[i] += weight * (value[tuple(sorted((*s, i)))] - value[s])


class TextBooster:
    """The parts of ``lightgbm.Booster`` the lint path uses, from ``model.txt``."""

    def __init__(self, model_str: str) -> None:
        self.text = model_str
        header, trees = _parse(model_str)
        objective = header.get("objective", "regression").split()
        if objective[0] not in ("regression", "regression_l1", "huber", "binary"):
            raise Unsupported(f"objective {header.get('objective')!r}")
        self.sigmoid = _sigmoid(objective) if objective[0] == "binary" else None
        if "average_output" in header or int(header.get("num_class", 1)) != 1:
            raise Unsupported("random forest or multiclass model")
        self.n_features = int(header["max_feature_idx"]) + 1
        self.trees = trees

    def predict(self, X: Any, pred_contrib: bool = False, raw_score: bool = False) -> np.ndarray:
        """Scores (rows,): raw, or probabilities for a binary model unless
        ``raw_score``; or SHAP values (raw scale) plus the expected value in
        the last column (rows, features + 1), as lightgbm returns them."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if not pred_contrib:
            raw = np.array([sum(t.value(row) for t in self.trees) for row in X])
            return raw if self.sigmoid is None or raw_score else 1.0 / (1.0 + np.exp(-self.sigmoid * raw))
        out = np.zeros((len(X), self.n_features + 1))
        for r, row in enumerate(X):
            for t in self.trees:
                t.shapley(row, out[r])
                out[r, -1] += t.expectation(row, frozenset())
        return out

    def dump_model(self) -> dict[str, Any]:
        return {"tree_info": [{"num_leaves": len(t.leaf_value)} for t in self.trees]}

    def model_to_string(self) -> str:
        return self.text


def _sigmoid(objective: list[str]) -> float:
    """The ``sigmoid:K`` parameter of a binary objective (LightGBM's default 1)."""
    return next((float(p.split(":", 1)[1]) for p in objective[1:] if p.startswith("sigmoid:")), 1.0)


def _parse(text: str) -> tuple[dict[str, str], list[Tree]]:
    """Header key=values and the trees of a LightGBM text model."""
    blocks = text.split("\nTree=")
    header = _pairs(blocks[0])
    trees = [_tree(_pairs(block.split("\nend of trees")[0])) for block in blocks[1:]]
    return header, trees


def _pairs(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def _tree(kv: dict[str, str]) -> Tree:
    if int(kv.get("num_cat", 0)) or int(kv.get("is_linear", 0)):
        raise Unsupported("categorical splits or linear trees")

    def nums(key: str, kind=float) -> tuple:
        return tuple(kind(v) for v in kv.get(key, "").split()) if kv.get(key) else ()
    leaf_value = nums("leaf_value")
    if any(d & 1 for d in nums("decision_type", int)):
        raise Unsupported("categorical splits")
    return Tree(nums("split_feature", int), nums("threshold"), nums("decision_type", int),
                nums("left_child", int), nums("right_child", int), leaf_value,
                nums("leaf_count") or (1.0,) * len(leaf_value), nums("internal_count"))
