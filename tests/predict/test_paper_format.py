"""``meta fit``/``meta eval`` accept the paper's released CSV layout
(``dataset_name, overall_accuracy, <features>``): here the committed
meta-dataset's real rows under the paper's column names."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from predict.helpers import FAST
from tuneahead_lint.cli import cli
from tuneahead_lint.predict.table import default_features, pick_features, pick_target, read_table

# our name -> the paper's name for the same quantity
PAPER_NAMES = {"record_count": "dataset_num_items", "near_dup_ratio": "approximate_duplicates",
               "embedding_outlier_ratio": "embedding_outlier_ratio", "reference_ppl_mean": "reference_perplexity",
               "probe_initial_loss": "initial_loss", "probe_loss_decay_rate": "loss_decay_rate",
               "probe_forgetting": "catastrophic_forgetting", "type_token_ratio": "output_ttr"}


def paper_layout(meta_csv, out):
    table = read_table(meta_csv)
    target = pick_target(table, None)
    feats = [f for f in default_features(table, target)]
    header = ["dataset_name", "overall_accuracy", *(PAPER_NAMES.get(f, f) for f in feats)]
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in table.cells:
            d = dict(zip(table.columns, row))
            w.writerow([d.get("run_id", "run"), d[target], *(d[f] for f in feats)])
    return header


def test_paper_layout_is_read_without_options(meta_csv, tmp_path):
    header = paper_layout(meta_csv, tmp_path / "paper.csv")
    table = read_table(tmp_path / "paper.csv")
    assert pick_target(table, None) == "overall_accuracy"
    assert set(pick_features(table, "overall_accuracy", None)) <= set(header[2:])
    out = tmp_path / "m"
    res = CliRunner().invoke(cli, ["meta", "fit", str(tmp_path / "paper.csv"), "-o", str(out), *FAST,
                                   "--cv-repeats", "1"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "model.json").read_text())
    assert doc["target"]["name"] == "overall_accuracy" and "dataset_name" not in doc["features"]
    res = CliRunner().invoke(cli, ["meta", "eval", str(tmp_path / "paper.csv"), "--target",
                                   "overall_accuracy", "--split", "random", "--repeats", "2", *FAST])
    assert res.exit_code == 0, res.output


def test_explicit_target_and_features(meta_csv, tmp_path):
    header = paper_layout(meta_csv, tmp_path / "paper.csv")
    out = tmp_path / "m"
    chosen = ",".join(header[2:4])
    res = CliRunner().invoke(cli, ["meta", "fit", str(tmp_path / "paper.csv"), "-o", str(out), "--target",
                                   "overall_accuracy", "--features", chosen, *FAST, "--cv-repeats", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "model.json").read_text())["features"] == header[2:4]


def test_unknown_columns_are_usage_errors(meta_csv, tmp_path):
    paper_layout(meta_csv, tmp_path / "paper.csv")
    res = CliRunner().invoke(cli, ["meta", "fit", str(tmp_path / "paper.csv"), "-o", str(tmp_path / "m"),
                                   "--features", "no_such_column"])
    assert res.exit_code != 0 and "not found: no_such_column" in res.output
