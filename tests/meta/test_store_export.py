"""Store (append-only, resumable), specs and presets, CSV export, report statistics."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from tuneahead_lint.meta.export import rows, to_csv
from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.presets import PRESETS
from tuneahead_lint.meta.report import noise_and_spread, pooled_sd, report, spearman
from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.store import ScoreRow, Store
from tuneahead_lint.meta.variants import Recipe

SUITE = SuiteSpec(("arc_easy", "piqa"), 10)


def spec(seed=0, noise=0.0, lr=1e-3):
    return RunSpec(Recipe((("alpaca", 1.0),), 16, label_noise=noise), HParams(lr=lr), seed, "m", SUITE)


def run_row(s: RunSpec, **kw):
    row = {"run_id": s.run_id, "config_id": s.config_id, "preset": "t", "spec_json": s.to_json(),
           "recipe_id": s.recipe.id, "variant": s.recipe.label, "seed": s.seed, "base_model": s.base_model,
           "suite_hash": "h", "sources_digest": "d", "records": 16, "steps": 2, "target_tokens": 100,
           "loss_first": 2.0, "loss_last": 1.5, "loss_min": 1.4, "grad_norm_max": 1.0, "diverged": 0,
           "build_s": 0.1, "train_s": 1.0, "eval_s": 1.0, "total_s": 2.5, "device": "cpu", "host": "h",
           "worker": "1", "code_version": "v", "torch_version": "t", "finished_at": 1.0}
    row.update(kw)
    return row


def scores(arc, piqa):
    return [ScoreRow("arc_easy", arc, arc, arc, 10, "1" * 10), ScoreRow("piqa", piqa, piqa, piqa, 10, "0" * 10)]


def test_run_id_is_stable_and_config_id_ignores_the_seed():
    a, b = spec(0), spec(1)
    assert a.run_id != b.run_id and a.config_id == b.config_id
    assert RunSpec.from_json(a.to_json()) == a
    assert RunSpec.from_json(a.to_json()).run_id == a.run_id
    assert spec(noise=0.5).config_id != a.config_id


def test_presets_have_unique_runs_and_seed_repeats():
    for name, p in PRESETS.items():
        specs = p.specs("m")
        assert len({s.run_id for s in specs}) == len(specs), name
    cpu = PRESETS["cpu-small"].specs("m")
    assert len(cpu) == 20
    seeds: dict[str, set[int]] = {}
    for s in cpu:
        seeds.setdefault(s.config_id, set()).add(s.seed)
    assert sorted(len(v) for v in seeds.values() if len(v) > 1) == [2, 2, 3]
    gpu = PRESETS["gpu-full"].specs("m")
    assert len(gpu) > 400
    assert max(s.hp.lr for s in gpu) >= 1e-2  # rates high enough to fail
    assert {s.hp.batch_size for s in gpu} >= {4, 8, 16} and {s.hp.epochs for s in gpu} >= {1.0, 2.0, 3.0}
    for knob in ("label_noise", "near_dups", "outliers", "truncate", "template_leak"):
        assert any(getattr(s.recipe, knob) for s in gpu), knob
    assert any(s.recipe.label_noise >= 0.75 for s in gpu)
    assert len({s.recipe.size for s in gpu}) >= 4 and any(len(s.recipe.sources) > 1 for s in gpu)


def test_gpu_lease_prefix_is_a_balanced_sample():
    """A lease build is cut off after whatever number of runs fits: its first
    runs must already mix seed repeats, corruptions, failing learning rates,
    sizes and combinations."""
    lease = PRESETS["gpu-lease"].specs("m")
    assert len(lease) == 247 and all(s.recipe.size <= 1000 and s.hp.max_len == 256 for s in lease)
    head = lease[:30]
    per_config: dict[str, int] = {}
    for s in head:
        per_config[s.config_id] = per_config.get(s.config_id, 0) + 1
    assert max(per_config.values()) == 3  # a config with three seeds already
    assert sum(1 for s in head if s.seed) <= 10  # but repeats are not most of it
    assert any(s.hp.lr >= 3e-3 for s in head) and any(s.recipe.label_noise for s in head)
    assert any(len(s.recipe.sources) > 1 for s in head) and len({s.recipe.size for s in head}) >= 3


def test_store_appends_resumes_and_keeps_features(tmp_path):
    path = tmp_path / "m.sqlite"
    s0, s1 = spec(0), spec(1)
    with Store(path) as st:
        st.add_baseline("m", "h", scores(0.5, 0.6), 3.0, "cpu")
        st.add_run(run_row(s0), scores(0.55, 0.6))
        st.add_features(s0.run_id, "static", [], 0.1, {}, status="error", detail="not ready")
        with pytest.raises(Exception):
            st.add_run(run_row(s0), scores(0.1, 0.1))  # append-only: no second row for a run
    with Store(path) as st:  # reopen = resume
        assert st.done_ids() == {s0.run_id}
        assert st.feature_kinds(s0.run_id) == set()
        st.add_features(s0.run_id, "static", [("f_a", 1.0), ("f_nan", None)], 0.2, {"x": 1})
        st.add_features(s0.run_id, "static", [("f_a", 9.0)], 0.2, {})  # never overwrites a success
        assert st.feature_kinds(s0.run_id) == {"static"}
        st.add_run(run_row(s1, finished_at=2.0), scores(0.45, 0.6))
        st.add_failure("x", "{}", "boom")
        cols, table = rows(st)
    assert [r["run_id"] for r in table] == [s0.run_id, s1.run_id]
    r0 = table[0]
    assert r0["f_a"] == 1.0 and r0["f_nan"] is None
    assert r0["delta_arc_easy"] == pytest.approx(0.05)
    assert r0["performance"] == pytest.approx(0.575) and r0["base_performance"] == pytest.approx(0.55)
    assert r0["target"] == pytest.approx(0.025) and r0["target_benchmarks"] == "arc_easy+piqa"
    assert r0["learning_rate"] == 1e-3 and r0["sources"] == "alpaca:1" and r0["size"] == 16
    assert cols[:3] == ["run_id", "config_id", "preset"] and cols[-1] == "f_nan"


def test_csv_is_stable_and_round_trips(tmp_path):
    with Store(tmp_path / "m.sqlite") as st:
        st.add_baseline("m", "h", scores(0.5, 0.6), 3.0, "cpu")
        st.add_run(run_row(spec(0)), scores(0.55, 0.6))
        text1 = to_csv(*rows(st))
        text2 = to_csv(*rows(st, ["arc_easy"]))
    assert text1 == to_csv(*rows(Store(tmp_path / "m.sqlite")))
    got = list(csv.DictReader(io.StringIO(text1)))
    assert got[0]["target"] == "0.025" and got[0]["static_s"] == ""
    assert list(csv.DictReader(io.StringIO(text2)))[0]["target"] == "0.05"


def test_noise_floor_and_spread():
    assert pooled_sd([[1.0, 3.0], [5.0, 5.0], [7.0]]) == (pytest.approx(1.0), 2)
    table = [{"config_id": c, "t": v} for c, v in (("a", 0.0), ("a", 0.2), ("b", 1.0), ("b", 1.2), ("c", 2.0))]
    s = noise_and_spread(table, "t")
    assert s["floor"] == pytest.approx(math.sqrt(0.02)) and s["floor_df"] == 2
    assert s["spread"] == pytest.approx(0.9504385, rel=1e-6)  # SD of config means 0.1, 1.1, 2.0
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2, 2], [1, 2, 3, 4]) == pytest.approx(0.894427, rel=1e-5)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_report_lists_counts_noise_and_features(tmp_path):
    with Store(tmp_path / "m.sqlite") as st:
        st.add_baseline("m", "h", scores(0.5, 0.6), 3.0, "cpu")
        for i, (noise, arc) in enumerate([(0.0, 0.55), (0.0, 0.53), (0.5, 0.50), (1.0, 0.45), (0.2, 0.52)]):
            s = spec(seed=i if noise == 0.0 else 0, noise=noise)
            st.add_run(run_row(s, finished_at=float(i)), scores(arc, 0.6))
            st.add_features(s.run_id, "static", [("label_consistency", 1 - noise)], 0.1, {})
        text = report(st, plot=str(tmp_path / "p.png"))
    assert "runs: **5**" in text and "configs run with >= 2 seeds: 1" in text
    assert "| target |" in text and "| label_consistency | static | +0.97 |" in text
    assert "| label_noise | recipe | -0.97 |" in text
    assert (tmp_path / "p.png").stat().st_size > 1000
    json.dumps(text)


def v2_scores(arc_margin, piqa_margin):
    return [ScoreRow("arc_easy", 0.5, 0.5, 0.5, 10, "1" * 10, arc_margin),
            ScoreRow("piqa", 0.6, 0.6, 0.6, 10, "0" * 10, piqa_margin)]


def add_v2(st: Store, s: RunSpec, nll, margins=(0.3, 0.1), t=1.0, **row):
    st.add_run(run_row(s, finished_at=t, **row), v2_scores(*margins),
               [("indomain_nll", nll), ("base_indomain_nll", 2.0), ("indomain_tokens", 50.0),
                ("heldout_items", 4.0), ("load_s", 0.0), ("indomain_s", 0.2)])


def test_v2_targets_exported(tmp_path):
    with Store(tmp_path / "m.sqlite") as st:
        st.add_baseline("m", "h", v2_scores(0.2, 0.2), 1.0, "cpu")
        add_v2(st, spec(0), 1.8)
        add_v2(st, spec(1), 2.5, t=2.0, loss_last=3.5)  # loss rose 1.75x: exploded
        add_v2(st, spec(2), None, margins=(None, None), t=3.0, diverged=1, loss_last=None)
        cols, table = rows(st)
    assert cols.index("y_indomain") > cols.index("target") and "delta_margin_piqa" in cols
    clean, exploded, nan = table
    assert clean["y_indomain"] == pytest.approx(0.2) and clean["indomain_nll"] == 1.8
    assert clean["y_general"] == pytest.approx(((0.3 - 0.2) + (0.1 - 0.2)) / 2)
    assert clean["y_general_acc"] == clean["target"] and clean["y_diverged"] == 0
    assert exploded["y_diverged"] == 1 and exploded["y_indomain"] == pytest.approx(-0.5)
    assert nan["y_diverged"] == 1 and nan["y_indomain"] is None and nan["y_general"] is None


def test_old_store_gains_the_margin_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE scores (run_id TEXT NOT NULL, benchmark TEXT NOT NULL, acc REAL NOT NULL, "
                   "acc_norm REAL NOT NULL, score REAL NOT NULL, n INTEGER NOT NULL, correct TEXT NOT NULL, "
                   "PRIMARY KEY (run_id, benchmark))")
        db.execute("INSERT INTO scores VALUES ('r', 'piqa', 0.5, 0.5, 0.5, 2, '10')")
    with Store(path) as st:
        st.add_run(run_row(spec(0)), v2_scores(0.1, 0.2))
        got = {(r["run_id"], r["margin"]) for r in st.query("SELECT run_id, margin FROM scores")}
    assert got == {("r", None), (spec(0).run_id, 0.1), (spec(0).run_id, 0.2)}


def test_card_noise_floor_and_dose_response(tmp_path):
    from tuneahead_lint.meta.card import card

    with Store(tmp_path / "m.sqlite") as st:
        st.add_baseline("m", "h", v2_scores(0.2, 0.2), 1.0, "cpu")
        t = 0.0
        for noise, nlls in ((0.0, (1.80, 1.82)), (0.5, (1.90, 1.93)), (1.0, (2.10, 2.06))):
            for seed, nll in enumerate(nlls):
                t += 1
                add_v2(st, spec(seed, noise=noise), nll, t=t)
        text = card(st, tmp_path / "card", wall_s=60.0)
    assert (tmp_path / "card" / "CARD.md").read_text() == text
    assert (tmp_path / "card" / "dose_y_indomain.png").stat().st_size > 1000
    row = next(line for line in text.splitlines() if line.startswith("| y_indomain |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1:3] == ["6", "3"]  # runs, configs
    floor = math.sqrt((0.01 ** 2 * 2 + 0.015 ** 2 * 2 + 0.02 ** 2 * 2) / 3)
    assert float(cells[7]) == pytest.approx(floor, abs=1e-3)
    dose = next(line for line in text.splitlines() if line.startswith("| label_noise |"))
    assert "0: +0.190 (2)" in dose and dose.rstrip(" |").endswith("-0.96")  # ranks by hand: -16 / sqrt(16 * 17.5)
    assert "6.00 runs/min" in text
