"""The shipped single-target bundle (models/tuneahead-smollm2-135m) renders
byte for byte as expected in every format, on the stored
features of one training run of its meta-dataset (so no embedder or base
model runs). Refresh with ``pytest --update-golden`` only after an
intended change to the prediction's rendering."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from reporters.golden import assert_golden
from tuneahead_lint import pipeline
from tuneahead_lint.cli import main
from tuneahead_lint.types import Measure

ROOT = Path(__file__).resolve().parents[2]
DATA = "tests/fixtures/features/alpaca_120.jsonl"
META = ROOT / "data" / "meta" / "gpu-lease-converged.csv"
HPARAMS = {"learning_rate", "batch_size", "epochs", "lora_r", "lora_alpha", "max_len", "max_steps"}


@pytest.fixture()
def stored_features(monkeypatch):
    """The feature stage returns the first training run's stored features."""
    row = next(csv.DictReader(META.open(encoding="utf-8")))
    names = sorted(k for k in row if k not in HPARAMS)
    model = json.loads((ROOT / "models/tuneahead-smollm2-135m/static/model.json").read_text(encoding="utf-8"))
    values = tuple((n, Measure(float(row[n]) if row[n] else float("nan"), ((DATA, 3),)))
                   for n in model["features"] if n in names)

    def fake(*_args, **_kw):
        return pipeline.Provided(SimpleNamespace(values=values), frozenset({"embeddings", "base_model"}))

    monkeypatch.setattr(pipeline, "_run_features", fake)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "html"])
@pytest.mark.parametrize(("gate", "code"), [((), 0), (("--min-score", "0.62"), 1)], ids=["go", "no-go"])
def test_shipped_bundle_prediction_is_unchanged(fmt, gate, code, stored_features, monkeypatch, capsys, request):
    monkeypatch.chdir(ROOT)
    assert main(["--no-color", "--select", "TA4", "--format", fmt, *gate, DATA]) == code
    out = capsys.readouterr().out
    assert "tuneahead-smollm2-135m/static" in out  # SARIF too: the prediction is in run.properties
    name = "go" if not gate else "nogo"
    if fmt == "sarif":
        out = _without_rule_list(out)
    assert_golden(f"shipped_bundle_{name}.{ 'txt' if fmt == 'text' else fmt }", out, request)


def _without_rule_list(sarif: str) -> str:
    """The run without the driver's rule list and rule indexes (they change
    with every new rule)."""
    run = json.loads(sarif)["runs"][0]
    del run["tool"]
    for result in run["results"]:
        result.pop("ruleIndex", None)
    return json.dumps(run, indent=2, sort_keys=True) + "\n"
