"""Fit a :class:`Predictor` on a meta-dataset table (``meta fit``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tuneahead_lint.predict.metrics import point_metrics
from tuneahead_lint.predict.predictor import Predictor, Target
from tuneahead_lint.predict.table import NATS_TARGETS, MetaTable, PredictError, target_values

# target column -> (base-model column, target is a change from the base)
_BASE_OF = {"performance": ("base_performance", False), "performance_delta": ("base_performance", True),
            "target": ("base_performance", True), "y_general_acc": ("base_performance", True)}


def base_column(table: MetaTable, target: str) -> tuple[str | None, bool]:
    """The column holding the base model's score for ``target`` and whether
    ``target`` is a change from it (``meta export`` naming)."""
    if target in _BASE_OF:
        col, delta = _BASE_OF[target]
    elif target.startswith(("score_", "delta_")):
        col, delta = "base_" + target.split("_", 1)[1], target.startswith("delta_")
    else:
        return None, False
    return (col, delta) if col in table.columns else (None, False)


def target_spec(table: MetaTable, target: str, *, base_score: float | None = None,
                points_per_unit: float | None = None, success_threshold: float | None = None,
                rows: np.ndarray | None = None) -> Target:
    """How to read ``target``: offset and base score from the base column
    (when constant; 0 for the nats targets, changes from the base model by
    definition), points per unit (100 when scores lie in [0, 1], 1 for nats),
    and the success threshold (default: median score of ``rows``)."""
    col, delta = base_column(table, target)
    if base_score is None and target in NATS_TARGETS:
        base_score = 0.0
    if base_score is None and col is not None:
        base = table.numeric(col)
        if np.isfinite(base).all() and np.ptp(base) <= 1e-9:
            base_score = float(base[0])
    offset = base_score if delta and base_score is not None else 0.0
    if delta and base_score is None:
        raise PredictError(f"target {target!r} is a change from the base model, but the base score is "
                           f"unknown: give --base-score")
    y = target_values(table, target)[rows if rows is not None else slice(None)] + offset
    if points_per_unit is None and target in NATS_TARGETS:
        points_per_unit = 1.0
    if points_per_unit is None:
        points_per_unit = 100.0 if float(np.min(y)) >= -1.0 and float(np.max(y)) <= 1.0 else 1.0
    if success_threshold is None:
        success_threshold = float(np.median(y))
    return Target(target, float(offset), float(points_per_unit), base_score, float(success_threshold))


def fit_rows(predictor: Predictor, table: MetaTable, features: Sequence[str], target: Target,
             rows: np.ndarray, group_column: str | None) -> Predictor:
    """Fit ``predictor`` on ``rows`` of the table (CV+ folds by ``group_column``)."""
    X = table.matrix(features)[rows]
    y = target_values(table, target.name)[rows]
    groups = [table.text(group_column)[i] for i in rows] if group_column else None
    return predictor.fit(X, y, features=features, groups=groups, target=target)


def fit_table(table: MetaTable, target: Target, features: Sequence[str], predictor: Predictor,
              *, group_column: str | None, seed: int = 0,
              info: dict[str, Any] | None = None) -> tuple[Predictor, dict[str, Any]]:
    """Fit on every row and return the predictor and the ``model.json``
    extras (training data, groups, in-sample and out-of-fold metrics)."""
    rows = np.arange(len(table))
    fit_rows(predictor, table, features, target, rows, group_column)
    y = target_values(table, target.name) + target.offset
    pred = predictor.predict(table.matrix(features))
    metrics = {"train": point_metrics(y, pred, target.points_per_unit)}
    extra = {"training": {"path": table.path, "sha256": table.sha256, "seed": seed, "rows": len(table),
                          "group_column": group_column,
                          "groups": len(set(table.text(group_column))) if group_column else len(table)},
             "metrics": metrics, **(info or {})}
    return predictor, extra
