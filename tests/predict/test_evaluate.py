"""Table 1 under resampling on the committed meta-dataset: metric
definitions, grouped folds that never split a recipe, every method present,
mean ± SE and skill, byte-stable JSON, and the refusal of a group column
that groups nothing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from predict.helpers import FAST
from tuneahead_lint.cli import cli, main
from tuneahead_lint.predict.evaluate import (EvalConfig, Gate, Outcome, metrics, noise_floor, ols, resamples,
                                             score_resample)
from tuneahead_lint.predict.table import read_table

METHODS = ["tuneahead", "static-only", "dynamic-only", "early-stop extrapolation", "loss-rate regression",
           "reference-ppl regression", "mean"]


def test_metrics_definitions():
    y = np.array([0.50, 0.60, 0.70, 0.80])
    m = metrics(y, y + np.array([0.005, -0.015, 0.025, -0.04]), 100.0)
    assert m["acc@1"] == 0.25 and m["acc@2"] == 0.5 and m["acc@3"] == 0.75
    assert m["rmse"] == pytest.approx(math.sqrt((0.25 + 2.25 + 6.25 + 16) / 4))
    perfect = metrics(y, y, 100.0)
    assert perfect["rmse"] == 0 and perfect["r2"] == 1 and perfect["pearson"] == pytest.approx(1)
    assert math.isnan(metrics(y, np.full(4, 0.6), 100.0)["pearson"])


def test_ols_recovers_a_line():
    X = np.arange(10.0).reshape(-1, 1)
    assert np.allclose(ols(X, 3 * X[:, 0] + 1, np.array([[20.0]])), [61.0])


def test_group_folds_never_split_a_recipe_and_cover_every_row(meta_csv):
    table = read_table(meta_csv)
    recipe = np.array(table.text("recipe_id"))
    rs = resamples(table, EvalConfig(split="group", folds=5, repeats=3, group_column="recipe_id"))
    assert len(rs) == 15
    for r in range(3):
        tests = np.concatenate([x.test for x in rs if x.repeat == r])
        assert sorted(tests) == list(range(len(table)))  # each row tested once per repeat
    for x in rs:
        assert not set(recipe[x.train]) & set(recipe[x.test])
    logo = resamples(table, EvalConfig(split="group", folds=0, group_column="recipe_id"))
    assert len(logo) == len(set(recipe)) and all(len(set(recipe[x.test])) == 1 for x in logo)


def test_noise_floor_is_the_pooled_seed_sd(meta_csv):
    table = read_table(meta_csv)
    floor = noise_floor(table, "performance", 100.0)
    assert floor is not None and 0.3 < floor < 3.0  # points; the card says 1.1


def _eval(meta_csv, *extra):
    res = CliRunner().invoke(cli, ["meta", "eval", str(meta_csv), "--folds", "3", "--repeats", "2",
                                   *FAST, *extra])
    assert res.exit_code == 0, res.output
    return res.output


def test_eval_json_is_byte_stable_and_complete(meta_csv):
    first = _eval(meta_csv, "--format", "json")
    assert first == _eval(meta_csv, "--format", "json")
    res = json.loads(first)["results"][0]
    assert res["split"] == "group" and res["group_column"] == "recipe_id" and res["resamples"] == 6
    s = res["summary"]
    assert set(s) == set(METHODS)
    assert s["mean"]["skill"]["mean"] == 0.0
    for name in METHODS:
        assert s[name]["rmse"]["se"] > 0 and s[name]["rmse"]["n"] == 6
    for name in METHODS[:3]:
        assert {"coverage", "flagged", "gate_accuracy", "nogo_recall"} <= set(s[name])
        assert 0 <= s[name]["coverage"]["mean"] <= 1
    assert res["gate"]["source"] == "base model's score" and res["gate"]["threshold"] == pytest.approx(0.5775)


def test_skill_coverage_and_gate_of_one_resample():
    y = np.array([0.50, 0.555, 0.60, 0.62])
    outcomes = {"mean": Outcome(np.full(4, 0.57)),
                "m": Outcome(y + 0.01, y - 0.02, np.array([0.53, 0.50, 0.63, 0.60]), np.array([0.5, 0.5, 2.0, 0.5]))}
    outcomes["m"] = Outcome(*[getattr(outcomes["m"], k) for k in ("pred", "low", "high", "ratio")],
                            np.array([True, False, False, False]))
    r = score_resample(outcomes, y, 100.0, Gate(0.55, "given", 1.0))["m"]
    assert r["skill"] == pytest.approx(1 - 1.0 / math.sqrt(np.mean(((0.57 - y) * 100) ** 2)))
    assert r["coverage"] == 0.5 and r["flagged"] == 0.25 and r["flagged_by_box"] == 0.25
    # clear runs (|y - 0.55| > 1 point): 0.50 no-go (said no-go), 0.60 (uncertain), 0.62 go (said go)
    assert r["gate_accuracy"] == 1.0 and r["gate_decided"] == pytest.approx(2 / 3) and r["nogo_recall"] == 1.0


def test_eval_text_has_skill_and_every_method(meta_csv):
    out = _eval(meta_csv, "--split", "random", "--repeats", "3")
    for name in METHODS + ["proxylm"]:
        assert f"| {name} |" in out
    assert "skill" in out and "± " in out and "flagged by guard" in out and "gate accuracy" in out


def test_eval_refuses_a_group_column_with_a_group_per_row(meta_csv, capsys):
    assert main(["meta", "eval", str(meta_csv), "--group", "run_id", "--repeats", "1"]) == 2
    err = capsys.readouterr().err
    assert "'run_id' has 42 groups for 42 rows: a grouped split by it is a random split" in err


def test_one_fold_is_a_usage_error(meta_csv, capsys):
    assert main(["meta", "eval", str(meta_csv), "--folds", "1"]) == 2
    assert "--folds" in capsys.readouterr().err
