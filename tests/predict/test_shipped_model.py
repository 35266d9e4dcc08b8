"""The shipped predictor: both variants load, use names the lint computes,
and were trained on the committed meta-dataset."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tuneahead_lint.features import FEATURE_NAMES
from tuneahead_lint.predict.predictor import Predictor
from tuneahead_lint.predict.stage import DEFAULT_MODEL, model_dir
from tuneahead_lint.predict.table import HPARAMS
from tuneahead_lint.probe import CONTRAST_FEATURES, PROBE_FEATURES

ROOT = Path(__file__).resolve().parents[2]
KNOWN = set(FEATURE_NAMES) | HPARAMS | {s.name for s in PROBE_FEATURES} | {n for n, _ in CONTRAST_FEATURES}


@pytest.mark.parametrize(("probe", "variant"), [(True, "full"), (False, "static")])
def test_variant_loads_and_uses_lint_feature_names(probe, variant):
    folder = model_dir(None, probe)
    assert folder.name == variant and folder.parent.name == DEFAULT_MODEL
    model = Predictor.load(folder)
    assert set(model.features_) <= KNOWN
    kinds = set(model.doc_["feature_kinds"].values())
    assert ("dynamic" in kinds) == probe
    assert model.doc_["base_model"] == "smollm2-135m-instruct"
    assert {p.name for p in folder.iterdir()} == {"model.txt", "model.json", "CARD.md", "cv"}
    assert len(list((folder / "cv").glob("fold-*.txt"))) == model.doc_["conformal"]["folds"] == 10
    assert model.doc_["cv"]["skill"] is not None and "skill score" in (folder / "CARD.md").read_text()


@pytest.mark.parametrize("variant", ["full", "static"])
def test_trained_on_the_committed_meta_dataset(variant):
    doc = json.loads((ROOT / "models" / DEFAULT_MODEL / variant / "model.json").read_text())
    data = ROOT / doc["training"]["path"]
    if not data.is_file():
        pytest.skip(f"{data} is not in this checkout")
    assert hashlib.sha256(data.read_bytes()).hexdigest() == doc["training"]["sha256"], (
        f"{data} changed since the model was fitted: refit with the commands in "
        f"models/{DEFAULT_MODEL}/README.md")
