"""Predictor invariants on the committed meta-dataset: save/load round trip,
byte-stable files, SHAP additivity, out-of-range detection, conformal
intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from predict.helpers import SMALL
from tuneahead_lint.predict.explain import explain
from tuneahead_lint.predict.predictor import Predictor
from tuneahead_lint.predict.table import pick_features, pick_target, read_table
from tuneahead_lint.predict.train import fit_table, target_spec
from tuneahead_lint.types import FeatureRange


def fitted(meta_csv, **params):
    table = read_table(meta_csv)
    target = pick_target(table, None)
    features = pick_features(table, target, None)
    spec = target_spec(table, target)
    model, extra = fit_table(table, spec, features, Predictor(**{**SMALL, **params}), group_column="recipe_id")
    return table, features, model, extra


@pytest.fixture(scope="module")
def trained(meta_csv):
    return fitted(meta_csv)


def test_save_load_predicts_identically(trained, tmp_path):
    table, features, model, extra = trained
    model.save(tmp_path / "m", extra)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["CARD.md", "cv", "model.json", "model.txt"]
    loaded = Predictor.load(tmp_path / "m")
    X = table.matrix(features)
    assert np.array_equal(model.predict(X), loaded.predict(X))
    for a, b in zip(model.predict_interval(X), loaded.predict_interval(X)):
        assert np.array_equal(a, b)
    assert np.array_equal(model.guard_.distances(X), loaded.guard_.distances(X))
    assert loaded.features_ == model.features_
    assert loaded.ranges_ == model.ranges_


def test_refit_writes_the_same_bytes(meta_csv, trained, tmp_path):
    _, _, model, extra = trained
    _, _, again, extra2 = fitted(meta_csv)
    a, b = model.save(tmp_path / "a", extra), again.save(tmp_path / "b", extra2)
    for name in ("model.txt", "model.json", "CARD.md"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_shap_attributions_add_up_to_the_prediction(trained):
    table, features, model, _ = trained
    X = table.matrix(features)
    moved = 0.0
    for x, pred in zip(X, model.predict(X)):
        expected, attributions = explain(model, x)
        total = expected + sum(a.points for a in attributions) / model.target_.points_per_unit
        assert total == pytest.approx(pred, abs=1e-9)
        assert [a.feature for a in attributions] == list(features)
        moved += sum(abs(a.points) for a in attributions)
    assert (moved > 0) == (model.n_splits() > 0)


def test_out_of_range_names_the_feature(trained):
    table, features, model, _ = trained
    x = [model.ranges_[f].median for f in features]
    assert model.out_of_range(x) == ()
    r = model.ranges_[features[0]]
    x[0] = r.high + 2 * (r.high - r.low) + 1.0
    assert [name for name, *_ in model.out_of_range(x)] == [features[0]]
    x[0] = math.nan  # missing: LightGBM routes it, not out of range
    assert model.out_of_range(x) == ()


def test_cv_plus_interval_grows_with_coverage(meta_csv):
    widths = []
    for coverage in (0.5, 0.7, 0.9):
        table, features, model, _ = fitted(meta_csv, coverage=coverage)
        score, low, high = model.predict_interval(table.matrix(features))
        assert (low < high).all() and np.mean((low <= score) & (score <= high)) > 0.8
        widths.append(float(np.mean(high - low)))
    assert widths == sorted(widths)


def test_every_row_trains_and_min_child_samples_follows_the_row_count(trained):
    table, _, model, extra = trained
    assert extra["training"]["rows"] == model.n_rows_ == len(table) == 42
    assert model.min_child_samples_ == 2 and model.n_splits() > 0  # max(2, 42 // 15)
    assert np.isfinite(model.residuals_).all() and len(set(model.fold_.tolist())) == 5
    recipe = np.array(table.text("recipe_id"))
    for k in range(5):  # CV+ folds keep recipes whole
        assert not set(recipe[model.fold_ == k]) & set(recipe[model.fold_ != k])


def test_guard_ignores_size_and_flags_a_far_dataset(trained):
    table, features, model, _ = trained
    X = table.matrix(features)
    own = np.array([model.guard_.check(x).ratio for x in X])
    assert np.mean(own > 1) < 0.1  # training runs are near the training runs
    j = features.index("record_count")
    bigger, largest = X[0].copy(), X[0].copy()
    bigger[j], largest[j] = 50_000, 1_000  # trained on 250-1,000 records
    g = model.guard_.check(bigger)
    assert g.ratio == pytest.approx(model.guard_.check(largest).ratio) and not g.far
    assert g.size_beyond == (FeatureRange("record_count", 50_000.0, 250.0, 1000.0),)
    top = features[int(np.argmax(model.booster_.feature_importance(importance_type="gain")))]
    moved = X[0].copy()
    moved[features.index(top)] += 10 * np.nanstd(X[:, features.index(top)])
    g = model.guard_.check(moved)
    assert g.far and g.nearest_features[0][0] == top and top in g.reason()


def test_card_names_every_feature_and_the_data_hash(trained, tmp_path):
    table, features, model, extra = trained
    card = (model.save(tmp_path / "m", extra) / "CARD.md").read_text()
    assert table.sha256 in card
    for f in features:
        assert f"| {f} |" in card
