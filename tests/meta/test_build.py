"""End to end on CPU with a tiny random model: build, resume, time budget,
several local workers, rebuild, feature backfill, export and report."""

from __future__ import annotations

import csv
import os
import sqlite3

import pytest

from tests.meta.conftest import EVAL, INSTRUCT
from tuneahead_lint.cli import main
from tuneahead_lint.meta.presets import PRESETS
from tuneahead_lint.meta.variants import build_variant


def build_args(store, model_dir, *extra):
    """The tiny preset, in this process (``--workers 0``) unless ``extra`` says otherwise."""
    workers = [] if "--workers" in extra else ["--workers", "0"]
    return ["meta", "build", "--preset", "tiny", "--store", str(store), "--base-model", model_dir,
            "--data-dir", str(INSTRUCT), "--eval-dir", str(EVAL), "--features", "none",
            *workers, *extra]


def count(store, table):
    with sqlite3.connect(store) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_build_resume_export_report(tmp_path, tiny_model_dir, capsys):
    store, out = tmp_path / "m.sqlite", tmp_path / "m.csv"
    assert main(build_args(store, tiny_model_dir, "--limit", "1")) == 0
    assert count(store, "runs") == 1 and count(store, "baselines") == 1
    # resume: the finished run is skipped, the other one runs
    assert main(build_args(store, tiny_model_dir, "--csv", str(out))) == 0
    err = capsys.readouterr().err
    assert "1 already in" in err and "1 to run" in err
    assert count(store, "runs") == 2 and count(store, "scores") == 2
    assert main(build_args(store, tiny_model_dir)) == 0
    assert "0 to run" in capsys.readouterr().err
    table = list(csv.DictReader(out.open()))
    assert len(table) == 2
    assert {r["variant"] for r in table} == {"alpaca-n8", "alpaca-n8-noise1"}
    assert all(r["n_arc_easy"] == "8" and r["steps"] == "2" and r["target"] != "" for r in table)
    assert main(["meta", "report", "--store", str(store)]) == 0
    assert "runs: **2**" in capsys.readouterr().out


def test_rebuild_writes_the_exact_training_data(tmp_path, tiny_model_dir, capsys):
    store = tmp_path / "m.sqlite"
    assert main(build_args(store, tiny_model_dir, "--limit", "1")) == 0
    with sqlite3.connect(store) as db:
        run_id = db.execute("SELECT run_id FROM runs").fetchone()[0]
    out = tmp_path / "v.jsonl"
    assert main(["meta", "rebuild", run_id[:8], "--store", str(store), "-o", str(out),
                 "--data-dir", str(INSTRUCT)]) == 0
    from tuneahead_lint.readers import read

    spec = PRESETS["tiny"].specs(tiny_model_dir)[0]
    want = build_variant(spec.recipe, INSTRUCT)
    assert [(e.prompt, e.response) for e in read(str(out))] == [(e.prompt, e.response) for e in want]


def test_time_budget_stops_submitting(tmp_path, tiny_model_dir, capsys):
    store = tmp_path / "m.sqlite"
    assert main(build_args(store, tiny_model_dir, "--time-budget", "0")) == 0
    assert "stopped by --time-budget/--deadline" in capsys.readouterr().err
    assert count(store, "runs") == 0 and count(store, "baselines") == 1


@pytest.mark.slow
def test_two_local_worker_processes(tmp_path, tiny_model_dir):
    store = tmp_path / "m.sqlite"
    assert main(build_args(store, tiny_model_dir, "--workers", "2")) == 0
    with sqlite3.connect(store) as db:
        workers = {r[0] for r in db.execute("SELECT worker FROM runs")}
    # persistent workers: either may take both runs, neither is this process
    assert count(store, "runs") == 2 and 1 <= len(workers) <= 2 and str(os.getpid()) not in workers


def test_missing_data_is_a_usage_error(tmp_path, tiny_model_dir, capsys):
    args = build_args(tmp_path / "m.sqlite", tiny_model_dir)
    args[args.index("--eval-dir") + 1] = str(tmp_path)
    assert main(args) == 2
    assert "benchmark file not found" in capsys.readouterr().err


def test_failed_runs_are_logged_and_retried(tmp_path, tiny_model_dir, capsys):
    store = tmp_path / "m.sqlite"
    args = build_args(store, tiny_model_dir, "--limit", "1")
    args[args.index("--data-dir") + 1] = str(tmp_path)  # no sources: the run fails in the worker
    assert main(args) == 1
    assert count(store, "failures") == 1 and count(store, "runs") == 0
    assert main(build_args(store, tiny_model_dir, "--limit", "1")) == 0
    assert count(store, "runs") == 1


@pytest.mark.slow
def test_probe_features_backfill(tmp_path, tiny_model_dir, capsys):
    store = tmp_path / "m.sqlite"
    assert main(build_args(store, tiny_model_dir, "--limit", "1")) == 0
    assert main(["meta", "features", "--store", str(store), "--kinds", "probe", "--probe-steps", "2",
                 "--data-dir", str(INSTRUCT)]) == 0
    with sqlite3.connect(store) as db:
        status = db.execute("SELECT status, detail FROM feature_sets").fetchall()
        names = [r[0] for r in db.execute("SELECT name FROM features")]
    assert status == [("ok", "")], status
    assert any(n.startswith("probe_") for n in names)
