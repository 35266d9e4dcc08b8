"""Table 1 protocol: metric definitions, every method present, byte-stable
JSON, both splits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from predict.helpers import SMALL
from tuneahead_lint.cli import cli
from tuneahead_lint.predict.evaluate import METRICS, metrics, ols

METHODS = ["tuneahead", "static-only", "dynamic-only", "early-stop extrapolation", "loss-rate regression",
           "reference-ppl regression", "proxylm", "mean"]


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


def _eval(meta_csv, *extra):
    args = ["meta", "eval", str(meta_csv), "--format", "json", "--bootstrap", "50",
            "--min-child-samples", str(SMALL["min_child_samples"]), *extra]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return res.output


def test_eval_json_is_byte_stable_and_complete(meta_csv):
    first = _eval(meta_csv)
    assert first == _eval(meta_csv)
    doc = json.loads(first)
    assert [r["split"] for r in doc["results"]] == ["random", "group"]
    rnd = doc["results"][0]
    assert [m["method"] for m in rnd["methods"]] == METHODS
    full = rnd["methods"][0]
    for k in METRICS:
        lo, hi = full[k]["ci"]
        assert lo is None or lo <= full[k]["value"] + 1e-9 <= hi + 2e-9 or k == "pearson"
    assert {"test_coverage", "half_width_points", "n_calibration"} <= set(rnd["coverage"])
    assert {"success_recall", "failure_recall", "compute_saved", "threshold"} <= set(rnd["gate"])


def test_eval_text_names_every_method(meta_csv):
    res = CliRunner().invoke(cli, ["meta", "eval", str(meta_csv), "--split", "random", "--bootstrap", "20",
                                   "--min-child-samples", "1"])
    assert res.exit_code == 0, res.output
    for name in METHODS:
        assert name in res.output
    assert "conformal interval" in res.output and "go/no-go" in res.output
