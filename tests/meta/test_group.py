"""K runs trained and scored as one group (stacked adapters, the same
forward and backward passes for all) equal the same runs one by one, in float32 on CPU with the
tiny random model: loss curves, gradient norms, held-out NLL, benchmark
accuracies and margins, and the probe features read from each run's first
steps; a run that diverges inside the group finishes as diverged and leaves
the others as they would be alone; runs of different lengths share a group."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.meta.conftest import EVAL, INSTRUCT
from tuneahead_lint.meta import grouprun, runner
from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.variants import Recipe

SUITE = SuiteSpec(("arc_easy", "piqa"), 6)
HP = HParams(lr=1e-2, batch_size=2, max_len=64, max_steps=4)
PROBE = (("contrast_pairs", 2), ("forgetting_items", 4), ("flatness_items", 2))
REL = 2e-5  # float32; measured worst 3.8e-6 (probe loss decay rate): padding, bands and summation orders differ


def spec(model_dir: str, hp: HParams = HP, seed: int = 0, size: int = 8, **recipe) -> RunSpec:
    return RunSpec(Recipe((("alpaca", 1.0),), size, heldout=4, **recipe), hp, seed, model_dir, SUITE)


def cfg(*features: str) -> runner.WorkerConfig:
    return runner.WorkerConfig(data_dir=str(INSTRUCT), eval_dir=str(EVAL), device="cpu", features=features,
                               probe_steps=2, probe_extra=PROBE)


def group_specs(model_dir: str) -> list[RunSpec]:
    """Different data, learning rates, seeds, lengths; the third diverges at step 2."""
    return [spec(model_dir),
            spec(model_dir, replace(HP, lr=3e-3, max_steps=3), seed=1, label_noise=1.0),
            spec(model_dir, replace(HP, lr=1e30), seed=2),
            spec(model_dir, replace(HP, max_steps=6, weight_decay=0.1), seed=3, size=12, scramble=0.5)]


def alone(specs: list[RunSpec], c: runner.WorkerConfig) -> list[runner.RunOutcome]:
    outs = []
    for s in specs:
        runner.reset_worker()
        outs.append(runner.execute(s.to_json(), c))
        assert outs[-1].ok, outs[-1].error
    return outs


def together(specs: list[RunSpec], c: runner.WorkerConfig) -> list[runner.RunOutcome]:
    grouprun.reset_group_worker()
    outs = grouprun.execute_group([s.to_json() for s in specs], c)
    assert all(o.ok for o in outs), [o.error for o in outs]
    return outs


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= REL * max(1.0, abs(b))


ROW = ("loss_first", "loss_last", "loss_min", "grad_norm_max")


def assert_same_run(g: runner.RunOutcome, a: runner.RunOutcome) -> None:
    assert (g.row["diverged"], g.row["steps"], g.row["records"], g.row["target_tokens"]) == (
        a.row["diverged"], a.row["steps"], a.row["records"], a.row["target_tokens"])
    for k in ROW:
        assert close(g.row[k], a.row[k]), (k, g.row[k], a.row[k])
    gm, am = dict(g.metrics), dict(a.metrics)
    for name in ("indomain_nll", "base_indomain_nll", "indomain_nll_alpaca", "indomain_tokens"):
        assert close(gm[name], am[name]), (name, gm[name], am[name])
    for gs, as_ in zip(sorted(g.scores, key=str), sorted(a.scores, key=str)):
        assert (gs.benchmark, gs.n, gs.correct) == (as_.benchmark, as_.n, as_.correct)
        assert close(gs.margin, as_.margin), (gs.benchmark, gs.margin, as_.margin)


@pytest.fixture(scope="module")
def pair(tiny_model_dir):
    specs = group_specs(tiny_model_dir)
    c = cfg("probe")
    return specs, alone(specs, c), together(specs, c)


def test_group_equals_runs_one_by_one(pair):
    specs, one_by_one, grouped = pair
    assert [o.run_id for o in grouped] == [s.run_id for s in specs]
    for g, a in zip(grouped, one_by_one):
        assert_same_run(g, a)
    assert [o.row["steps"] for o in grouped] == [4, 3, 4, 6]  # different lengths in one group


def test_a_diverged_run_finishes_as_diverged_and_spares_the_others(pair):
    _, one_by_one, grouped = pair
    assert [o.row["diverged"] for o in grouped] == [0, 0, 1, 0]
    assert grouped[2].row["loss_last"] is None and grouped[2].row["loss_first"] is not None
    assert dict(grouped[2].metrics)["indomain_nll"] is None
    assert all(s.acc == 0.0 and s.margin is None for s in grouped[2].scores)  # as a NaN model scores
    assert dict(grouped[0].metrics)["indomain_nll"] < dict(grouped[0].metrics)["base_indomain_nll"]


def test_probe_features_read_from_each_run_in_the_group(pair):
    _, one_by_one, grouped = pair
    for g, a in zip(grouped, one_by_one):
        (gk, gstatus, gvals, *_), (ak, astatus, avals, *_) = g.features[0], a.features[0]
        assert (gk, gstatus) == (ak, astatus) == ("probe", "ok")
        assert [n for n, _ in gvals] == [n for n, _ in avals]
        if g.row["diverged"]:
            continue  # diverged at step 2 of 2 probe steps: NaN either way, but not bit for bit
        for (name, gv), (_, av) in zip(gvals, avals):
            if "time" in name or name.endswith("_s"):
                continue
            assert close(gv, av), (name, gv, av)


def test_groups_keep_order_and_split_by_lora_shape(tiny_model_dir):
    specs = group_specs(tiny_model_dir)
    other = spec(tiny_model_dir, replace(HP, lora_r=8))
    dropout = spec(tiny_model_dir, replace(HP, lora_dropout=0.1))
    groups = grouprun.make_groups([*specs[:2], other, *specs[2:], dropout], 3)
    ids = [[s.run_id for s in g] for g in groups]
    assert ids == [[specs[0].run_id, specs[1].run_id, specs[2].run_id], [other.run_id], [specs[3].run_id],
                   [dropout.run_id]]
    assert [len(g) for g in grouprun.make_groups(specs, 1)] == [1, 1, 1, 1]


def test_build_in_groups_commits_every_run_and_resumes(tiny_model_dir, tmp_path):
    from tuneahead_lint.meta.build import build
    from tuneahead_lint.meta.store import Store

    specs = group_specs(tiny_model_dir)
    with Store(tmp_path / "g.sqlite") as st:
        res = build(specs, st, cfg(), "t", workers=0, group_size=3, log=lambda _: None)
        assert (res.done, res.failed) == (4, 0)
        sizes = {r["run_id"]: r["value"] for r in st.query("SELECT run_id, value FROM metrics WHERE name='group_size'")}
        assert sorted(sizes.values()) == [1.0, 3.0, 3.0, 3.0]
        assert st.query("SELECT diverged FROM runs WHERE run_id=?", (specs[2].run_id,))[0]["diverged"] == 1
        again = build(specs, st, cfg(), "t", workers=0, group_size=3, log=lambda _: None)
        assert (again.skipped, again.done) == (4, 0)


def test_a_run_with_lora_dropout_runs_alone_on_peft(tiny_model_dir):
    s = spec(tiny_model_dir, replace(HP, lora_dropout=0.1, max_steps=2))
    runner.reset_worker()
    (out,) = grouprun.execute_group([s.to_json()], cfg())
    assert out.ok, out.error
    assert "group_size" not in dict(out.metrics) and dict(out.metrics)["worker_run"] == 1
