"""A tiny v2 build end to end on CPU: persistent worker process, export with
the v2 targets, the card, and a refit per target (`meta fit`)."""

from __future__ import annotations

import csv
import math
import sqlite3

from tests.meta.conftest import EVAL, INSTRUCT
from tuneahead_lint.cli import main
from tuneahead_lint.meta.commands import PRESET_NAMES
from tuneahead_lint.meta.presets import PRESETS


def test_cli_lists_every_preset():
    assert set(PRESET_NAMES) == set(PRESETS)


def test_tiny_build_export_card_refit(tmp_path, tiny_model_dir, capsys):
    store, out = tmp_path / "m.sqlite", tmp_path / "m.csv"
    assert main(["meta", "build", "--preset", "tiny-all", "--store", str(store), "--base-model", tiny_model_dir,
                 "--data-dir", str(INSTRUCT), "--eval-dir", str(EVAL), "--features", "static", "--workers", "1",
                 "--deadline", "170", "--csv", str(out)]) == 0
    table = list(csv.DictReader(out.open()))
    assert len(table) == len(PRESETS["tiny-all"].specs("m"))
    with sqlite3.connect(store) as db:  # one persistent worker ran them all
        assert db.execute("SELECT COUNT(DISTINCT worker) FROM runs").fetchone()[0] == 1
    for r in table:
        assert r["y_diverged"] in ("0", "1") and math.isfinite(float(r["y_indomain"]))
        assert abs(float(r["base_indomain_nll"]) - float(r["indomain_nll"]) - float(r["y_indomain"])) < 2e-4  # 6 digits in the CSV
        assert r["y_general"] != "" and r["y_general_acc"] == r["target"]
    assert len({r["base_indomain_nll"] for r in table}) == 1  # the base scored once, same held-out set
    with sqlite3.connect(store) as db:  # the worker's 1st, 2nd, ... run: it kept its model between runs
        order = sorted(v for (v,) in db.execute("SELECT value FROM metrics WHERE name='worker_run'"))
    assert order == list(range(1, len(table) + 1))
    assert main(["meta", "card", "--store", str(store), "-o", str(tmp_path / "card")]) == 0
    card = (tmp_path / "card" / "CARD.md").read_text()
    assert "| y_indomain |" in card and "## Dose-response: y_indomain" in card
    for target in ("y_indomain", "y_general"):
        assert main(["meta", "fit", str(out), "--target", target, "--static-only", "--cv-repeats", "2",
                     "-o", str(tmp_path / target)]) == 0
        assert (tmp_path / target / "model.txt").exists()
    assert "skill" in capsys.readouterr().out
