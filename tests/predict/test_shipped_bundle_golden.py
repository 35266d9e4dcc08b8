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

import jsonschema
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


SKILL = "grouped-CV skill +0.02 ± 0.11"  # the shipped static model's card: not above its SE
NO_SKILL = "no better than the training mean"


@pytest.mark.parametrize("fmt", ["text", "html"])
def test_the_readable_formats_state_the_skill_beside_the_score(fmt, stored_features, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    main(["--no-color", "--select", "TA4", "--format", fmt, DATA])
    out = capsys.readouterr().out
    prediction = " ".join(out.split("Prediction")[1].split())  # text wraps at 100 columns
    assert prediction.index("0.5868") < prediction.index(SKILL) and NO_SKILL in prediction
    assert "+0.929 points" in out  # the change from the base model carries its unit
    if fmt == "text":
        assert f"prediction: 0.5868 (0.5589–0.619), verdict go; {SKILL} no skill" in out
    else:
        assert "<th>trust</th><td>" + SKILL in out and 'id="skill-warning"' in out
        assert "<th>target</th><td>performance (points: target units x 100)</td>" in out


def test_sarif_carries_the_prediction_without_findings(stored_features, monkeypatch, capsys):
    """Code review sees the verdict and how far to trust it even when no rule fires."""
    monkeypatch.chdir(ROOT)
    assert main(["--select", "TA4", "--format", "sarif", DATA]) == 0
    log = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "tests" / "reporters" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    run = log["runs"][0]
    p = run["properties"]["prediction"]
    assert run["results"] == [] and (p["target"], p["unit"], p["verdict"]) == ("performance", "points", "go")
    assert p["low"] <= p["score"] <= p["high"] and p["score_in_unit"] == pytest.approx(100 * p["score"], rel=1e-5)
    assert p["model_skill"]["skill"] == pytest.approx(0.0245, abs=1e-4) and NO_SKILL in p["warning"]
    note = run["invocations"][0]["toolExecutionNotifications"][-1]["message"]["text"]
    assert "score 0.5868" in note and SKILL in note and "verdict go" in note


def test_a_no_go_finding_carries_the_skill_in_every_format(stored_features, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    for fmt in ("concise", "json"):
        assert main(["--select", "TA4", "--format", fmt, "--min-score", "0.62", DATA]) == 1
        out = capsys.readouterr().out
        assert "0.09773 points below min-score 0.62" in out and SKILL + ", not above its standard error" in out
