"""SYNTHETIC data, not a result: a stand-in for the paper's released
meta-dataset layout (``dataset_name, overall_accuracy, <33 features>``, one
row per run, ``dataset_name`` unique per row), generated here with a known
signal, to test the paths the external 450-run set takes:

* the per-benchmark column rule keeps ``base_model_perplexity`` and
  ``base_perplexity_std`` as features (the old pattern dropped them);
* a grouped split refuses a group column with one group per row;
* a random split trains on every non-test row (no early-stopping or
  calibration rows) with ``min_child_samples = max(2, n // 15)``.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from tuneahead_lint.cli import cli, main
from tuneahead_lint.predict.evaluate import EvalConfig, resamples
from tuneahead_lint.predict.predictor import Predictor
from tuneahead_lint.predict.table import PAPER_DYNAMIC, default_features, pick_target, read_table
from tuneahead_lint.predict.train import fit_rows, target_spec

STATIC = ["dataset_num_items", "approximate_duplicates", "embedding_outlier_ratio", "reference_perplexity",
          "base_model_perplexity", "base_perplexity_std", "output_ttr", "avg_input_length", "avg_output_length",
          "std_input_length", "std_output_length", "output_input_ratio", "special_char_ratio", "digit_ratio",
          "code_ratio", "semantic_diversity", "io_similarity", "vocab_kl", "instruction_depth"]
HPARAMS = ["learning_rate", "batch_size", "epochs", "lora_r"]
FEATURES = STATIC + sorted(PAPER_DYNAMIC) + HPARAMS  # 33


@pytest.fixture(scope="module")
def synthetic_csv(tmp_path_factory):
    """450 SYNTHETIC runs whose accuracy depends only on the two base-model
    perplexity columns (plus noise)."""
    rng = np.random.default_rng(14)
    n = 450
    X = rng.normal(size=(n, len(FEATURES)))
    ppl, std = X[:, FEATURES.index("base_model_perplexity")], X[:, FEATURES.index("base_perplexity_std")]
    y = 0.55 + 0.03 * np.tanh(ppl) - 0.02 * (std > 0) + rng.normal(scale=0.005, size=n)
    path = tmp_path_factory.mktemp("synthetic") / "paper_schema_SYNTHETIC.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset_name", "overall_accuracy", *FEATURES])
        for i in range(n):
            w.writerow([f"synthetic-run-{i:03d}", f"{y[i]:.6f}", *(f"{v:.6f}" for v in X[i])])
    return path


def test_every_numeric_column_is_a_feature(synthetic_csv):
    table = read_table(synthetic_csv)
    assert pick_target(table, None) == "overall_accuracy"
    feats = default_features(table, "overall_accuracy")
    assert len(feats) == 33 and {"base_model_perplexity", "base_perplexity_std"} <= set(feats)


def test_grouped_eval_refuses_one_group_per_row(synthetic_csv, capsys):
    assert main(["meta", "eval", str(synthetic_csv), "--repeats", "1"]) == 2
    assert "no column groups the runs" in capsys.readouterr().err
    assert main(["meta", "eval", str(synthetic_csv), "--group", "dataset_name", "--repeats", "1"]) == 2
    assert "'dataset_name' has 450 groups for 450 rows" in capsys.readouterr().err


def test_random_split_trains_on_every_other_row(synthetic_csv):
    table = read_table(synthetic_csv)
    rs = resamples(table, EvalConfig(split="random", repeats=1, seed=36, test_size=0.28))[0]
    assert len(rs.test) == 126 and len(rs.train) == 324
    spec = target_spec(table, "overall_accuracy")
    model = fit_rows(Predictor(cv_folds=5), table, default_features(table, "overall_accuracy"), spec,
                     rs.train, None)
    assert model.n_rows_ == 324 and model.min_child_samples_ == 21 and model.best_iteration_ == 140


def test_random_eval_finds_the_perplexity_signal(synthetic_csv):
    res = CliRunner().invoke(cli, ["meta", "eval", str(synthetic_csv), "--split", "random", "--seed", "36",
                                   "--test-size", "0.28", "--repeats", "1", "--cv-folds", "5",
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)["results"][0]["summary"]
    assert s["tuneahead"]["skill"]["mean"] > 0.5  # only the two perplexity columns carry signal
