"""Predictor bundles: the shipped single-target layout, per-target
subfolders, the gate target, per-target SHAP findings, and the pieces of
the divergence classifier that need no meta build (binary text models,
AUC). The slices of the shipped model stand in for targets here; the real
per-target refit is tests/meta/test_v2_bundle_e2e.py."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tuneahead_lint import pipeline
from tuneahead_lint.cli import main
from tuneahead_lint.predict.bundle import GateTargetError, open_bundle
from tuneahead_lint.predict.stage import predict_stage
from tuneahead_lint.types import Measure

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "tuneahead-smollm2-135m"
META = ROOT / "data" / "meta" / "gpu-lease-converged.csv"
DATA = "tests/fixtures/features/alpaca_120.jsonl"


def _values() -> tuple[tuple[str, Measure], ...]:
    """The first training run's stored features (the shipped model's inputs)."""
    row = next(csv.DictReader(META.open(encoding="utf-8")))
    doc = json.loads((SHIPPED / "static" / "model.json").read_text(encoding="utf-8"))
    return tuple((n, Measure(float(row[n]), ((DATA, 3),))) for n in doc["features"]
                 if doc["feature_kinds"][n] != "hparam")


def _bundle(tmp_path: Path, *targets: str, top: bool = False) -> Path:
    """A bundle whose targets are copies of the shipped static model."""
    root = tmp_path / "bundle"
    for t in targets:
        shutil.copytree(SHIPPED / "static", root / t / "static")
    if top:
        shutil.copytree(SHIPPED / "static", root / "static")
    return root


def test_the_shipped_bundle_is_single_target():
    b = open_bundle(None, probe=False)
    assert b.single and b.gate == "performance" and b.folder("performance") == SHIPPED / "static"
    assert open_bundle(None, probe=True).folder("performance") == SHIPPED / "full"


def test_per_target_subfolders_and_the_default_gate(tmp_path):
    assert open_bundle(str(_bundle(tmp_path, "b_target", "a_target")), False).gate == "a_target"  # first by name
    shutil.rmtree(tmp_path / "bundle")
    b = open_bundle(str(_bundle(tmp_path, "y_indomain", "y_general_acc")), False)
    assert not b.single and [t for t, _ in b.targets] == ["y_general_acc", "y_indomain"]
    assert b.gate == "y_general_acc"  # the benchmark score, the shipped model's target
    assert open_bundle(str(tmp_path / "bundle"), False, "y_indomain").gate == "y_indomain"


def test_a_top_level_model_stays_the_default_gate(tmp_path):
    b = open_bundle(str(_bundle(tmp_path, "y_indomain", top=True)), False)
    assert [t for t, _ in b.targets] == ["performance", "y_indomain"] and b.gate == "performance"


def test_unknown_gate_target_names_the_targets(tmp_path):
    with pytest.raises(GateTargetError, match="y_nope.*targets: y_indomain"):
        open_bundle(str(_bundle(tmp_path, "y_indomain")), False, "y_nope")


def test_every_target_is_predicted_and_the_gate_is_the_single_models_prediction(tmp_path):
    single = predict_stage(_values(), model=None, probe=False, min_score=None)
    out = predict_stage(_values(), model=str(_bundle(tmp_path, "y_general_acc", "other")), probe=False,
                        min_score=0.9)
    assert single.targets == () and single.divergence is None
    assert [(t.target, t.unit, t.gate) for t in out.targets] == [("other", "points", False),
                                                                  ("y_general_acc", "points", True)]
    assert out.prediction.score == single.prediction.score and out.prediction.verdict == "no-go"  # min-score: gate only
    assert out.targets[0].prediction.verdict == "go" and out.targets[0].detail.model_skill.skill is not None


def test_shap_findings_per_points_target(tmp_path, monkeypatch, capsys):
    values = _values()
    monkeypatch.setattr(pipeline, "_run_features", lambda *a, **k: pipeline.Provided(
        SimpleNamespace(values=values), frozenset({"embeddings", "base_model"})))
    config = tmp_path / ".tuneahead.toml"
    attribution_rules = [f"TA4{n:02d}" for n in (2, 3, 4, 5, 6, 8, 9, 10, 11, 99)]
    config.write_text("".join(f"[rules.{r}]\npoints = 0.1\n" for r in attribution_rules), encoding="utf-8")
    root = _bundle(tmp_path, "y_general_acc", "other")
    monkeypatch.chdir(ROOT)
    main(["--format", "json", "--select", "TA4", "--config", str(config), "--model", str(root), DATA])
    findings = [f for f in json.loads(capsys.readouterr().out)["findings"] if "feature" in f["evidence"]]
    gate = [f for f in findings if "target" not in f["evidence"]]
    other = [f for f in findings if f["evidence"].get("target") == "other"]
    assert gate and len(other) == len(gate)  # the same model: the same features cost the same points
    assert all(f["message"].endswith(" [target other]") for f in other)
    assert not {f["fingerprint"] for f in gate} & {f["fingerprint"] for f in other}
    # the evidence's predicted score comes with the model card's grouped-CV skill
    assert {f["evidence"]["skill"] for f in findings} == {"+0.02 ± 0.11, not above its standard error: "
                                                          "do not rely on the prediction"}


def test_binary_text_model_matches_lightgbm():
    lgb = pytest.importorskip("lightgbm")
    from tuneahead_lint.predict.textmodel import TextBooster

    rows = list(csv.DictReader(META.open(encoding="utf-8")))
    names = ["learning_rate", "near_dup_ratio", "record_count", "type_token_ratio", "reference_ppl_mean"]
    X = np.array([[float(r[n]) for n in names] for r in rows])
    perf = np.array([float(r["performance"]) for r in rows])
    y = (perf > np.median(perf)).astype(float)
    booster = lgb.train({"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1,
                         "min_data_in_bin": 1}, lgb.Dataset(X, y), num_boost_round=20)
    text = TextBooster(booster.model_to_string())
    assert np.allclose(text.predict(X), booster.predict(X), atol=1e-12)
    assert np.allclose(text.predict(X, raw_score=True), booster.predict(X, raw_score=True), atol=1e-12)
    assert np.allclose(text.predict(X, pred_contrib=True), booster.predict(X, pred_contrib=True), atol=1e-9)


def test_roc_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from tuneahead_lint.predict.diverge import roc_auc

    rows = list(csv.DictReader(META.open(encoding="utf-8")))
    perf = np.array([float(r["performance"]) for r in rows])
    y = (perf > np.median(perf)).astype(float)
    score = np.array([float(r["near_dup_ratio"]) for r in rows])  # ties included
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score))
    assert np.isnan(roc_auc(np.zeros(3), np.arange(3.0)))


def test_v2_corruption_doses_are_never_features():
    from tuneahead_lint.meta.variants import KINDS
    from tuneahead_lint.predict.table import NOT_FEATURES

    assert set(KINDS) <= NOT_FEATURES


def test_the_config_names_the_gate_target(tmp_path, monkeypatch, capsys):
    values = _values()
    monkeypatch.setattr(pipeline, "_run_features", lambda *a, **k: pipeline.Provided(
        SimpleNamespace(values=values), frozenset({"embeddings", "base_model"})))
    config = tmp_path / ".tuneahead.toml"
    config.write_text('gate-target = "other"\nmin-score = 0.9\n', encoding="utf-8")
    root = _bundle(tmp_path, "y_general_acc", "other")
    monkeypatch.chdir(ROOT)
    code = main(["--format", "json", "--select", "TA4", "--config", str(config), "--model", str(root), DATA])
    doc = json.loads(capsys.readouterr().out)
    assert [(t["target"], t["verdict"]) for t in doc["extra"]["targets"] if t["gate"]] == [("other", "no-go")]
    assert code == 1 and doc["prediction"]["verdict"] == "no-go"
    assert main(["--select", "TA4", "--config", str(config), "--gate-target", "nope", "--model", str(root), DATA]) == 2
    assert "gate-target 'nope'" in capsys.readouterr().err
