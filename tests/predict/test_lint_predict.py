"""The predict stage inside ``tuneahead-lint``: prediction, interval,
attributions in the JSON, gate exit codes, plots.

The fast tests replace the feature stage by one meta-dataset row's stored
features (a training row: in distribution by construction), so they run
without the embedder or the base model; the slow test computes real
features of a real slice."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from click.testing import CliRunner

from predict.helpers import FAST
from tuneahead_lint import pipeline
from tuneahead_lint.cli import cli, main
from tuneahead_lint.predict.table import read_table
from tuneahead_lint.types import Measure

ROOT = Path(__file__).resolve().parents[2]
DATA = str(ROOT / "tests" / "fixtures" / "features" / "alpaca_120.jsonl")


@pytest.fixture(scope="module")
def model(meta_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    res = CliRunner().invoke(cli, ["meta", "fit", str(meta_csv), "-o", str(out), "--static-only", *FAST,
                                   "--cv-repeats", "1"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture()
def row_features(meta_csv, model, monkeypatch):
    """Make the feature stage return the stored features of one training row."""
    doc = json.loads((model / "model.json").read_text())
    table = read_table(meta_csv)
    row = dict(zip(table.columns, table.cells[0]))
    values = tuple((n, Measure(float(row[n]) if row[n] else float("nan"), ((DATA, 3),)))
                   for n in doc["features"] if doc["feature_kinds"][n] != "hparam")

    def fake(examples, config, opts, base_model, *_):
        return pipeline.Provided(SimpleNamespace(values=values), frozenset({"embeddings", "base_model"}))

    monkeypatch.setattr(pipeline, "_run_features", fake)
    return doc


def lint_json(capsys, *args):
    code = main(["--format", "json", "--select", "TA4", *args, DATA])
    return code, json.loads(capsys.readouterr().out)


def test_report_carries_prediction_interval_and_attributions(row_features, model, capsys):
    from tuneahead_lint.schemas import load_schema

    code, doc = lint_json(capsys, "--model", str(model))
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    p = doc["prediction"]
    detail, attrs = doc["extra"]["prediction_detail"], doc["extra"]["attributions"]
    # a training row, scored 0.588 against the base model's 0.5775: near the training runs, go
    assert code == 0 and p["in_distribution"] is True and p["verdict"] == "go"
    assert p["low"] < p["high"] and p["high"] >= detail["threshold"] == p["base_score"] == 0.5775
    assert detail["threshold_source"] == "base model" and "base model's score" in detail["verdict_reason"]
    assert detail["guard"]["far"] is False and detail["model_skill"]["skill"] is not None
    assert [a["feature"] for a in attrs] == row_features["features"]
    total = detail["expected_score"] + sum(a["points"] for a in attrs) / detail["points_per_unit"]
    assert total == pytest.approx(p["score"], abs=1e-4)  # JSON rounds to 6 digits
    assert {h["feature"] for h in detail["hparams"]} == {
        n for n in row_features["features"] if row_features["feature_kinds"][n] == "hparam"}


def test_report_json_is_byte_stable(row_features, model, capsys):
    main(["--format", "json", "--select", "TA4", "--model", str(model), DATA])
    first = capsys.readouterr().out
    main(["--format", "json", "--select", "TA4", "--model", str(model), DATA])
    assert capsys.readouterr().out == first


def test_predicted_failure_exits_1_and_success_exits_0(row_features, model, capsys):
    code, doc = lint_json(capsys, "--model", str(model), "--min-score", "1e6")
    assert code == 1 and doc["prediction"]["verdict"] == "no-go"
    assert [f["rule_id"] for f in doc["findings"] if f["rule_id"] == "TA401"] == ["TA401"]
    code, doc = lint_json(capsys, "--model", str(model), "--min-score", "-1e6")
    assert code == 0 and doc["prediction"]["verdict"] == "go"
    assert not [f for f in doc["findings"] if f["rule_id"] == "TA401"]


def test_out_of_distribution_is_uncertain_with_a_wider_interval(row_features, model, capsys, monkeypatch):
    _, near = lint_json(capsys, "--model", str(model))
    far = tuple((n, Measure(1e12)) for n in row_features["features"]
                if row_features["feature_kinds"][n] != "hparam")
    monkeypatch.setattr(pipeline, "_run_features", lambda *a: pipeline.Provided(
        SimpleNamespace(values=far), frozenset({"embeddings", "base_model"})))
    code, doc = lint_json(capsys, "--model", str(model), "--min-score", "1e6")
    p = doc["prediction"]
    assert code == 0 and p["in_distribution"] is False and p["verdict"] == "uncertain"
    assert doc["extra"]["prediction_detail"]["verdict_reason"].startswith("far from the training runs")
    assert p["high"] - p["low"] > near["prediction"]["high"] - near["prediction"]["low"]
    ids = [f["rule_id"] for f in doc["findings"]]
    assert "TA401" not in ids and "TA407" in ids


def test_no_prediction_on_zero_valid_records(row_features, model, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{\"instruction\": 1\n", encoding="utf-8")
    main(["--format", "json", "--select", "TA4", "--model", str(model), str(bad)])
    doc = json.loads(capsys.readouterr().out)
    assert doc["prediction"] is None
    assert {s["reason"] for s in doc["skipped"]} == {"skipped: no valid records to predict from"}


def test_text_report_shows_prediction_and_attributions(row_features, model, capsys):
    main(["--no-color", "--model", str(model), "--min-score", "0", "--select", "TA4", DATA])
    out = capsys.readouterr().out
    assert "Prediction (model" in out and "SHAP attributions" in out and "min-score 0" in out
    assert "verdict: go (" in out and "trust: grouped-CV skill" in out


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_is_written_and_stable(row_features, model, tmp_path, capsys, suffix):
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    assert main(["--select", "TA4", "--model", str(model), "--plot", str(a), DATA]) == 0, capsys.readouterr().err
    assert main(["--select", "TA4", "--model", str(model), "--plot", str(b), DATA]) == 0
    capsys.readouterr()
    assert a.stat().st_size > 1000 and a.read_bytes() == b.read_bytes()


def test_no_model_skips_the_prediction_rules(row_features, tmp_path, capsys):
    code, doc = lint_json(capsys, "--model", str(tmp_path / "nowhere"))
    assert doc["prediction"] is None
    assert {s["rule_id"] for s in doc["skipped"]} >= {"TA401", "TA402"}
    assert "no predictor model" in doc["skipped"][0]["reason"]


def test_fast_lint_skips_the_predictor(capsys):
    code, doc = lint_json(capsys, "--fast")
    assert doc["prediction"] is None
    assert all("needs dataset features" in s["reason"] for s in doc["skipped"])


def test_plot_without_prediction_is_a_usage_error(tmp_path, capsys):
    assert main(["--fast", "--select", "TA4", "--plot", str(tmp_path / "p.png"), DATA]) == 2
    assert "nothing to plot" in capsys.readouterr().err


@pytest.mark.slow
def test_real_features_predict_with_the_shipped_static_model(capsys):
    code, doc = lint_json(capsys, "--min-score", "0")
    p = doc["prediction"]
    assert p is not None and p["model"].endswith("/static") and p["verdict"] in ("go", "no-go", "uncertain")


def test_probe_runs_with_the_predictors_recipe(meta_csv, tmp_path, monkeypatch, capsys):
    from tuneahead_lint.predict.stage import probe_defaults

    out = tmp_path / "full"
    res = CliRunner().invoke(cli, ["meta", "fit", str(meta_csv), "-o", str(out), "--probe-steps", "5", *FAST,
                                   "--cv-repeats", "1"])
    assert res.exit_code == 0, res.output
    defaults = probe_defaults(str(out))
    assert defaults["steps"] == 5 and defaults["lora_dropout"] == 0.0
    seen = {}

    def fake_probe(examples, config, opts, base_model, *_):
        seen.update(opts.probe_params)
        return pipeline.Provided(missing=(("probe", "skipped in this test"),))

    monkeypatch.setattr(pipeline, "_run_probe", fake_probe)
    main(["--fast", "--probe", "--model", str(out), "--lr", "0.5", "--select", "TA4", DATA])
    capsys.readouterr()
    assert seen["steps"] == 5 and seen["lr"] == 0.5  # the command line wins over the recipe


@pytest.mark.parametrize(("low", "high", "threshold", "far", "verdict"), [
    (0.50, 0.57, 0.5775, False, "no-go"),  # the whole interval below the base model: makes it worse
    (0.55, 0.60, 0.5775, False, "go"),  # reaches the base model
    (0.50, 0.57, 0.5775, True, "uncertain"),  # far from training: never a silent no-go
    (0.50, 0.57, None, False, "uncertain"),  # no threshold
    (-math.inf, math.inf, 0.5775, False, "uncertain"),
])
def test_decide(low, high, threshold, far, verdict):
    from tuneahead_lint.predict.stage import decide

    guard = SimpleNamespace(far=far, ratio=2.0, reason=lambda: "far from the training runs: ...")
    got, reason = decide((low + high) / 2 if far or threshold else 0.53, low, high, threshold, "base model",
                         guard, 100.0)
    assert got == verdict and reason


@pytest.mark.parametrize(("skill", "se", "warned"), [(0.24, 0.14, False), (0.02, 0.11, True), (-0.1, 0.05, True)])
def test_text_report_says_when_the_model_has_no_skill(skill, se, warned):
    from rich.console import Console

    from tuneahead_lint.reporters.text import prediction_block
    from tuneahead_lint.types import ModelSkill, Prediction, PredictionDetail

    cv = ModelSkill(skill=skill, skill_se=se, rmse=1.9, rmse_mean=1.98, gate_accuracy=0.57)
    detail = PredictionDetail(0.5, (), 100.0, "m", verdict_reason="the interval reaches the base model",
                              model_skill=cv)
    console = Console(width=200, record=True, no_color=True)
    console.print(prediction_block(Prediction(0.58, 0.55, 0.61, "m/static", 0.5775, True, "go"), detail))
    out = console.export_text()
    assert f"grouped-CV skill {skill:+.2f}" in out and "go/no-go right on 57% of clear runs" in out
    assert ("no better than the training mean" in out) == warned
