"""Ground truth v2 after the build, end to end on CPU: a tiny v2 store (the
``tiny-all`` preset plus runs at learning rate 5, where the tiny model
diverges), ``benchmarks/refit_v2.sh`` into a temporary multi-target bundle,
and lints of a real slice with that bundle: every target with its interval,
unit and grouped-CV skill in text, JSON and SARIF, the divergence
classifier's probability with its Brier and AUC, and the gate per target."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from tests.meta.conftest import EVAL, INSTRUCT
from tuneahead_lint.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = str(INSTRUCT / "alpaca_5k_subset" / "alpaca_5000.json")
TARGETS = {"y_indomain": "nats", "y_general": "nats", "y_general_acc": "points"}
# test speed: fewer trees, folds and repeats than the real refit
FAST = "--n-estimators 40 --cv-folds 3"
NO_GUARD = "no out-of-distribution guard"


def _build(store: Path, model_dir: str) -> None:
    """tiny-all, then six of its recipes at lr 5 for 4 steps (some diverge)."""
    from tuneahead_lint.meta.build import build
    from tuneahead_lint.meta.presets import PRESETS
    from tuneahead_lint.meta.runner import WorkerConfig
    from tuneahead_lint.meta.store import Store

    assert main(["meta", "build", "--preset", "tiny-all", "--store", str(store), "--base-model", model_dir,
                 "--data-dir", str(INSTRUCT), "--eval-dir", str(EVAL), "--features", "static", "--workers", "0",
                 "--deadline", "170"]) == 0
    specs = [replace(s, hp=replace(s.hp, lr=5.0, max_steps=4)) for s in PRESETS["tiny-all"].specs(model_dir)[:6]]
    cfg = WorkerConfig(data_dir=str(INSTRUCT), eval_dir=str(EVAL), device="cpu", threads=1, features=("static",),
                       probe_steps=2, probe_extra=())
    with Store(str(store)) as db:
        assert build(specs, db, cfg, "tiny-all", workers=0, log=lambda _: None).failed == 0


@pytest.fixture(scope="module")
def bundle(tiny_model_dir, tmp_path_factory) -> Path:
    """OUT_DIR of refit_v2.sh on the tiny store."""
    tmp = tmp_path_factory.mktemp("v2bundle")
    _build(tmp / "m.sqlite", tiny_model_dir)
    env = dict(os.environ, PY=sys.executable, DATA_DIR=str(INSTRUCT), PYTHONPATH=str(ROOT),
               EVAL_OPTS=f"--split random --repeats 1 {FAST}", FIT_OPTS=f"--cv-repeats 2 {FAST}")
    res = subprocess.run(["bash", str(ROOT / "benchmarks" / "refit_v2.sh"), str(tmp / "m.sqlite"), str(tmp / "out")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "out"


@pytest.fixture()
def lint(bundle, tiny_model_dir, monkeypatch, capsys):
    """``lint(*args) -> (exit code, stdout)`` with the bundle and the tiny base model."""
    monkeypatch.setenv("TUNEAHEAD_CACHE", str(bundle.parent / "cache"))

    def run(*args: str) -> tuple[int, str]:
        code = main(["--no-color", "--select", "TA4", "--model", str(bundle / "models"),
                     "--base-model", tiny_model_dir, *args, DATA])
        captured = capsys.readouterr()
        run.err = captured.err
        return code, captured.out
    return run


def test_the_store_has_diverged_and_converged_runs(bundle):
    flags = [r["y_diverged"] for r in csv.DictReader((bundle / "meta.csv").open(encoding="utf-8"))]
    assert "1" in flags and "0" in flags
    assert {p.name for p in (bundle / "models").iterdir()} == {*TARGETS, "y_diverged"}
    card = json.loads((bundle / "models" / "y_diverged" / "static" / "model.json").read_text())
    assert card["kind"] == "classifier" and card["cv"]["diverged_runs"] == flags.count("1")
    assert 0 <= card["cv"]["brier"] <= 1 and card["cv"]["brier_base"] > 0 and 0 <= card["cv"]["auc_pooled"] <= 1


def test_no_recipe_column_is_a_feature(bundle):
    """The export writes identity and recipe columns (true corruption doses:
    the answer) before the hyperparameters; none of them may be a feature."""
    header = next(csv.reader((bundle / "meta.csv").open(encoding="utf-8")))
    recipe = set(header[:header.index("learning_rate")])
    for target in (*TARGETS, "y_diverged"):
        doc = json.loads((bundle / "models" / target / "static" / "model.json").read_text())
        assert not recipe & set(doc["features"]), target


def test_json_has_every_target_with_interval_unit_and_skill(lint):
    from tuneahead_lint.schemas import load_schema

    code, out = lint("--format", "json")
    doc = json.loads(out)
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    targets = {t["target"]: t for t in doc["extra"]["targets"]}
    assert {n: t["unit"] for n, t in targets.items()} == TARGETS
    for t in targets.values():
        assert t["low"] <= t["score"] <= t["high"] and t["verdict"] in ("go", "no-go", "uncertain")
        skill = t["detail"]["model_skill"]
        assert skill["rmse"] is not None and "skill" in skill and "gate_accuracy" in skill
        assert t["score_in_unit"] == pytest.approx(t["score"] * t["detail"]["points_per_unit"], rel=1e-5)
        assert [a["feature"] for a in t["attributions"]]  # SHAP per target
    assert [n for n, t in targets.items() if t["gate"]] == ["y_general_acc"]  # the benchmark score, as before
    assert doc["prediction"]["score"] == targets["y_general_acc"]["score"]
    div = doc["extra"]["divergence"]
    assert 0 <= div["probability"] <= 1 and div["skill"]["brier"] is not None and "auc" in div["skill"]
    assert div["guarded"] is False and any(NO_GUARD in w for w in div["warnings"]) and 0 < div["base_rate"] < 1
    assert div["gate_far"] == (not doc["prediction"]["in_distribution"])
    p = doc["prediction"]
    assert (p["target"], p["unit"]) == ("y_general_acc", "points") and p["model_skill"]["rmse"] is not None
    for t in targets.values():  # a warning exactly where the skill is not above its SE
        assert (t["warning"] is not None) == (not t["model_skill"]["skill"] > t["model_skill"]["skill_se"])


def test_text_shows_every_target_and_the_divergence(lint):
    code, out = lint()
    block = out.split("Predicted targets")[1].split("Summary")[0]
    for name, unit in TARGETS.items():
        line = next(x for x in block.splitlines() if x.strip().startswith(f"{name} ({unit})"))
        assert "interval" in line and "verdict" in line
    assert block.count("skill ") >= len(TARGETS) and "y_general_acc (points) [gate]" in block
    assert "Divergence (model" in out and "P(diverged)" in out and "Brier" in out and "AUC" in out
    words = " ".join(out.split())
    assert "(training base rate " in words and NO_GUARD in words
    assert "prediction: y_general_acc (gate) " in words and "; grouped-CV skill " in words.split("Summary")[1]


def test_html_lists_every_target_and_the_divergence(lint):
    code, out = lint("--format", "html")
    table = out.split("<h3>Predicted targets</h3>")[1].split("</table>")[0]
    assert all(f"<td>{name}" in table and f"<td>{unit}</td>" in table for name, unit in TARGETS.items())
    assert "<h3>Divergence</h3>" in out and "Brier" in out and NO_GUARD in out
    assert all(row.count(" ± ") == 1 for row in table.split("</tr>")[1:-1])  # each target's skill ± SE
    assert "<th>trust</th><td>grouped-CV skill " in out and "<th>target</th><td>y_general_acc (points" in out


def test_sarif_run_properties_carry_every_target(lint):
    code, out = lint("--format", "sarif")
    log = json.loads(out)
    schema = json.loads((ROOT / "tests" / "reporters" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    props = log["runs"][0]["properties"]
    preds = {p["target"]: p for p in props["predictions"]}
    assert set(preds) == set(TARGETS)
    assert all(p["low"] <= p["score"] <= p["high"] and p["model_skill"]["rmse"] is not None for p in preds.values())
    assert 0 <= props["divergence"]["probability"] <= 1 and props["divergence"]["skill"]["brier"] is not None
    assert props["divergence"]["guarded"] is False and NO_GUARD in props["divergence"]["warnings"][-1]
    assert all(p["unit"] == TARGETS[p["target"]] and "warning" in p for p in preds.values())
    gate = props["prediction"]
    assert gate["target"] == "y_general_acc" and gate["model_skill"]["rmse"] is not None and gate["verdict_reason"]
    notes = [n["message"]["text"] for n in log["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    for name, unit in TARGETS.items():
        assert sum(n.startswith(f"{name} ({unit})") and "skill " in n for n in notes) == 1
    assert any(n.startswith("P(diverged)") and NO_GUARD in n for n in notes)


def test_a_loss_gate_target_speaks_nats(lint):
    """TA401 and the prediction block of a y_indomain gate: margins in nats, never points."""
    code, out = lint("--gate-target", "y_indomain", "--min-score", "1")
    words = " ".join(out.split())
    ta401 = words.split("TA401 predicted-failure")[1].split("fix:")[0]
    assert code == 1 and "nats below min-score 1" in ta401 and "points" not in ta401
    assert "; grouped-CV skill +" in ta401 or "; grouped-CV skill -" in ta401
    block = words.split("Prediction (model")[1].split("planned hyperparameters")[0]
    assert "nats (interval " in block and " nats)" in block and "points" not in block
    code, page = lint("--format", "html", "--gate-target", "y_indomain")
    head = page.split("<h3>Predicted targets</h3>")[0].split("<h2>Prediction</h2>")[1]
    assert " nats</td>" in head and "points" not in head  # score, interval, waterfall in nats
    ranges = page.split("<h2>Features against the training runs</h2>")[1].split("</tr>")[0]
    assert "<th>nats</th>" in ranges


@pytest.mark.parametrize("target", ["y_indomain", "y_general"])
def test_the_gate_reads_the_named_target(lint, target):
    code, out = lint("--format", "json", "--gate-target", target, "--min-score", "1e6")
    doc = json.loads(out)
    gate = [t for t in doc["extra"]["targets"] if t["gate"]]
    assert [t["target"] for t in gate] == [target] and doc["prediction"]["model"].endswith(f"-{target}/static")
    verdict, reason = doc["prediction"]["verdict"], doc["extra"]["prediction_detail"]["verdict_reason"]
    # no-go below an unreachable min-score, unless the guard finds the slice far from the training runs
    assert (verdict, code) == ("no-go", 1) or (verdict, code, reason[:8]) == ("uncertain", 0, "far from"), reason
    assert ("TA401" in {f["rule_id"] for f in doc["findings"]}) == (verdict == "no-go")
    code, out = lint("--format", "json", "--gate-target", target, "--min-score", "-1e6")
    assert code == 0 and json.loads(out)["prediction"]["verdict"] in ("go", "uncertain")


def test_gate_on_y_indomain_fails_the_lint(lint):
    code, out = lint("--format", "json", "--gate-target", "y_indomain", "--min-score", "1e6")
    assert code == 1 and json.loads(out)["prediction"]["verdict"] == "no-go"


def test_unknown_gate_target_is_a_usage_error(lint):
    code, _ = lint("--gate-target", "y_nope")
    err = lint.err
    assert code == 2 and "y_nope" in err and "y_indomain" in err and "Traceback" not in err


def test_divergence_says_when_the_gate_guard_finds_the_dataset_far(bundle, tiny_model_dir):
    """The classifier has no guard of its own; the gate target's guard, on
    the same training runs, flags a dataset far from all of them."""
    from tuneahead_lint.predict.stage import predict_stage
    from tuneahead_lint.predict.table import feature_kind
    from tuneahead_lint.reporters.text import divergence_block
    from tuneahead_lint.types import Measure

    names = set()
    for card in (bundle / "models").glob("*/static/model.json"):
        names |= {n for n in json.loads(card.read_text())["features"] if feature_kind(n) != "hparam"}
    far = tuple((n, Measure(1e12)) for n in sorted(names))
    out = predict_stage(far, model=str(bundle / "models"), probe=False, min_score=None, base_model=tiny_model_dir)
    assert out.prediction.in_distribution is False and out.divergence.gate_far is True
    console = Console(width=300, record=True, no_color=True)
    console.print(divergence_block(out.divergence))
    text = console.export_text()
    assert NO_GUARD in text and "gate target's distance guard finds this dataset far" in text
