"""Persistent workers on CPU with a tiny random model: the base model is
loaded once, every run starts from freshly initialised LoRA weights, the
in-domain target and margins are measured, and the probe is read from the run."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.meta.conftest import EVAL, INSTRUCT
from tuneahead_lint.meta import runner
from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.variants import Recipe

SUITE = SuiteSpec(("arc_easy", "piqa"), 6)
HP = HParams(lr=1e-2, batch_size=2, max_len=64, max_steps=4)
PROBE = (("contrast_pairs", 2), ("forgetting_items", 4), ("flatness_items", 2))


def spec(model_dir: str, hp: HParams = HP, seed: int = 0, **recipe) -> RunSpec:
    return RunSpec(Recipe((("alpaca", 1.0),), 8, heldout=4, **recipe), hp, seed, model_dir, SUITE)


def cfg(*features: str) -> runner.WorkerConfig:
    return runner.WorkerConfig(data_dir=str(INSTRUCT), eval_dir=str(EVAL), device="cpu", features=features,
                               probe_steps=2, probe_extra=PROBE)


def run(s: RunSpec, c: runner.WorkerConfig) -> runner.RunOutcome:
    out = runner.execute(s.to_json(), c)
    assert out.ok, out.error
    return out


def measured(out: runner.RunOutcome) -> tuple:
    """Everything a run measured except timings and the worker's run count."""
    keep = ("loss_first", "loss_last", "loss_min", "grad_norm_max", "diverged", "steps", "target_tokens")
    metrics = tuple((n, v) for n, v in out.metrics if not n.endswith("_s") and n != "worker_run")
    return tuple(out.row[k] for k in keep), tuple(out.scores), metrics


def base_params() -> dict:
    return {n: p.detach().clone() for n, p in runner._STATE.model.named_parameters() if "lora_" not in n}


def test_run_after_another_equals_run_in_a_fresh_worker(tiny_model_dir):
    a = spec(tiny_model_dir, replace(HP, lora_r=8), label_noise=1.0)  # another LoRA shape: re-attached
    b = spec(tiny_model_dir, replace(HP, lr=3e-3), seed=1)
    runner.reset_worker()
    first = run(a, cfg())
    before = base_params()
    after_a = run(b, cfg())
    assert dict(after_a.metrics)["worker_run"] == 2 and dict(after_a.metrics)["load_s"] < 1.0
    assert all(bool((p == before[n]).all()) for n, p in base_params().items())  # base weights untouched
    runner.reset_worker()
    fresh = run(b, cfg())
    assert dict(fresh.metrics)["worker_run"] == 1
    assert measured(after_a) == measured(fresh)
    assert measured(first) != measured(fresh)


def test_targets_are_measured(tiny_model_dir):
    runner.reset_worker()
    out = run(spec(tiny_model_dir), cfg())
    m = dict(out.metrics)
    assert m["heldout_items"] == 4 and m["indomain_tokens"] > 0
    assert m["indomain_nll"] == m["indomain_nll_alpaca"]
    # 4 steps at lr 1e-2 on alpaca fit held-out alpaca responses better than the random base
    assert m["indomain_nll"] < m["base_indomain_nll"]
    assert {s.benchmark for s in out.scores} == {"arc_easy", "piqa"}
    assert all(s.margin is not None and math.isfinite(s.margin) for s in out.scores)


def test_v1_recipe_without_heldout_has_no_indomain_target(tiny_model_dir):
    v1 = RunSpec(Recipe((("alpaca", 1.0),), 8), HP, 0, tiny_model_dir, SUITE)
    m = dict(run(v1, cfg()).metrics)
    assert m["indomain_nll"] is None and m["base_indomain_nll"] is None and m["indomain_tokens"] == 0


@pytest.mark.slow
def test_probe_read_from_the_run_depends_only_on_its_first_steps(tiny_model_dir):
    runner.reset_worker()
    long_run = run(spec(tiny_model_dir), cfg("probe"))
    short_run = run(spec(tiny_model_dir, replace(HP, max_steps=2)), cfg("probe"))
    (kind, status, values, _, conf, detail), = long_run.features
    assert (kind, status, detail, conf["source"]) == ("probe", "ok", "", "run")
    assert values == short_run.features[0][2]
    got = dict(values)
    assert got["probe_initial_loss"] == pytest.approx(long_run.row["loss_first"], rel=1e-6)
    separate = runner.compute_feature_set("probe", spec(tiny_model_dir), _examples(), cfg("probe"), "cpu")
    assert separate[1] == "ok" and {n for n, _ in separate[2]} == set(got)
    # the base loss at step 1 does not depend on the LoRA init (B = 0); contrast is the base model's
    sep = dict(separate[2])
    assert sep["probe_initial_loss"] == pytest.approx(got["probe_initial_loss"], rel=1e-5)
    contrast = [n for n in got if n.startswith("contrast_")]
    assert contrast and all(sep[n] == pytest.approx(got[n], rel=1e-5, abs=1e-6) for n in contrast)


def _examples():
    from tuneahead_lint.meta.variants import build_variant

    return build_variant(Recipe((("alpaca", 1.0),), 8, heldout=4), INSTRUCT)


def test_later_steps_without_statistics_train_the_same(tiny_model_dir):
    """``stats_steps=k``: steps after the k-th skip the per-step statistics
    and the device syncs, and train exactly the same."""
    from tuneahead_lint.basemodel import load_causal_lm
    from tuneahead_lint.meta.finetune import finetune
    from tuneahead_lint.meta.variants import build_variant

    examples = build_variant(Recipe((("alpaca", 1.0),), 8), INSTRUCT)
    hp = replace(HP, max_steps=5)
    fits = []
    for stats in (None, 2):
        model, tok = load_causal_lm(tiny_model_dir, "cpu")
        peft_model, fit = finetune(model, tok, examples, hp, 0, "cpu", stats_steps=stats)
        fits.append((fit, [p.detach().clone() for n, p in sorted(peft_model.named_parameters()) if "lora_" in n]))
    (full, w_full), (cheap, w_cheap) = fits
    assert cheap.trace.losses == pytest.approx(full.trace.losses, rel=1e-6)
    assert cheap.trace.grad_norms == pytest.approx(full.trace.grad_norms, rel=1e-4)
    assert len(full.trace.losses) == 4 and (len(cheap.trace.grad_cosines), len(full.trace.grad_cosines)) == (1, 3)
    assert all(bool((a == b).all()) for a, b in zip(w_full, w_cheap))
