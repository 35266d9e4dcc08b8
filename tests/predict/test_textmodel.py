"""The numpy evaluator of LightGBM text models gives lightgbm's own numbers
(predictions and SHAP values, shap's TreeExplainer too) on the shipped
predictors and on a freshly trained model with missing values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tuneahead_lint.predict.textmodel import TextBooster, Unsupported

lgb = pytest.importorskip("lightgbm")
MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*/*/model.txt"))


def rows(n_features: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1.5, size=(40, n_features))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.1] = 0.0
    return X


def same_as_lightgbm(text: str) -> None:
    ours, theirs = TextBooster(text), lgb.Booster(model_str=text)
    X = rows(ours.n_features)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(X, pred_contrib=True), theirs.predict(X, pred_contrib=True),
                               rtol=1e-7, atol=1e-10)
    assert sum(t["num_leaves"] for t in ours.dump_model()["tree_info"]) == \
        sum(t["num_leaves"] for t in theirs.dump_model()["tree_info"])


@pytest.mark.parametrize("path", MODELS, ids=[p.parent.name for p in MODELS])
def test_shipped_predictors(path):
    assert MODELS, "no shipped predictor found"
    same_as_lightgbm(path.read_text(encoding="utf-8"))


def test_trained_model_with_missing_values_and_deeper_trees():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6))
    X[rng.random(X.shape) < 0.15] = np.nan
    y = np.nan_to_num(X[:, 0]) * 2 + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) + rng.normal(0, 0.1, 300)
    params = {"objective": "regression", "num_leaves": 8, "min_data_in_leaf": 5, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=30)
    same_as_lightgbm(booster.model_to_string())


def test_matches_shap_tree_explainer():
    shap = pytest.importorskip("shap")
    text = MODELS[0].read_text(encoding="utf-8")
    X = np.nan_to_num(rows(TextBooster(text).n_features, seed=3))
    explainer = shap.TreeExplainer(lgb.Booster(model_str=text))
    contrib = TextBooster(text).predict(X, pred_contrib=True)
    np.testing.assert_allclose(contrib[:, :-1], explainer.shap_values(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(contrib[:, -1], np.ravel(explainer.expected_value)[0], rtol=1e-9)


def test_categorical_splits_are_refused():
    text = MODELS[0].read_text(encoding="utf-8")
    with pytest.raises(Unsupported):
        TextBooster(text.replace("num_cat=0", "num_cat=1", 1))
    with pytest.raises(Unsupported):
        TextBooster(text.replace("decision_type=2", "decision_type=3", 1))
