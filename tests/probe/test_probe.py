"""End to end on the tiny Alpaca slice: named finite features, determinism,
cache, step records. One session-wide pair of tiny runs (see conftest)."""

from __future__ import annotations

import math

import pytest

from tuneahead_lint.probe import CONTRAST_FEATURES, PROBE_FEATURES, ProbeConfig, ProbeResult

pytestmark = pytest.mark.slow
NAMES = [s.name for s in PROBE_FEATURES] + [n for n, _ in CONTRAST_FEATURES]


def test_features_are_named_finite_and_ordered(tiny_runs):
    result = tiny_runs[0]
    assert [n for n, _ in result.values] == NAMES
    for name, m in result.values:
        assert math.isfinite(m.value), name
    assert result.steps_run == 3 and len(result.losses) == len(result.grad_norms) == 3
    assert result.device == "cpu" and result.wall_s > 0 and not result.cached


def test_sign_conventions(tiny_runs):
    r = tiny_runs[0]
    assert r.value("probe_initial_loss") == r.losses[0] > 0
    assert 0 <= r.value("probe_grad_sparsity") <= 1
    assert 0 <= r.value("probe_activation_sparsity") <= 1
    assert -1 <= r.value("probe_grad_consistency") <= 1
    assert r.value("probe_param_change_norm") > 0
    assert r.value("probe_grad_norm_mean") == pytest.approx(sum(r.grad_norms) / 3)


def test_same_seed_gives_identical_features_on_cpu(tiny_runs):
    a, b, _ = tiny_runs
    assert a.values == b.values and a.losses == b.losses and a.grad_norms == b.grad_norms


def test_cache_hit_returns_the_stored_result(tiny_runs, probe_cache_dir):
    _, b, c = tiny_runs
    assert not b.cached and c.cached
    assert c.values == b.values and c.losses == b.losses and c.step_refs == b.step_refs
    assert c.wall_s == b.wall_s and c.key == b.key
    assert (probe_cache_dir / "probe" / f"{b.key}.json").is_file()


def test_step_refs_name_the_batch_records(tiny_runs, examples):
    r = tiny_runs[0]
    lines = {(ex.path, ex.line) for ex in examples}
    assert len(r.step_refs) == 3 and all(len(refs) == 2 for refs in r.step_refs)
    assert all(ref in lines for refs in r.step_refs for ref in refs)
    assert r.get("probe_initial_loss").refs == r.step_refs[0]


def test_result_json_round_trip(tiny_runs):
    r = tiny_runs[0]
    back = ProbeResult.from_json(r.to_json(), cached=False)
    assert back == r


def test_cache_key_changes_with_hyperparameters_and_data(examples, tiny_cfg):
    import dataclasses

    from tuneahead_lint.probe.run import cache_key

    cfg = tiny_cfg.resolved()
    base = cache_key("probe", examples, cfg)
    assert base == cache_key("probe", examples, cfg)
    assert base != cache_key("probe", examples, dataclasses.replace(cfg, lr=1e-4))
    assert base != cache_key("probe", examples, dataclasses.replace(cfg, steps=4))
    assert base != cache_key("probe", examples[1:], cfg)


def test_defaults_follow_the_device():
    cpu = ProbeConfig(device="cpu").resolved()
    gpu = ProbeConfig(device="cuda").resolved()
    assert (cpu.steps, gpu.steps) == (20, 100)
    assert ProbeConfig(device="cuda", steps=7).resolved().steps == 7
    assert "use_cache" not in cpu.params() and cpu.params()["device"] == "cpu"


def test_report_states_the_probe_budget_as_run(tiny_runs):
    """The report says how many steps the probe ran, where, and with which
    hyperparameters (the CPU default budget is smaller than the GPU's)."""
    from tuneahead_lint.pipeline import probe_extra
    from tuneahead_lint.reporters.text import probe_line

    run = dict(probe_extra(tiny_runs[0]))["probe_run"]
    assert run["steps_run"] == 3 and run["steps"] == 3 and run["device"] == "cpu"
    assert (run["batch_size"], run["max_len"], run["lora_r"], run["lora_alpha"]) == (2, 48, 16, 32)
    assert "wall_s" not in run and "cached" not in run  # reports stay byte-identical
    line = probe_line(run).plain
    assert line.startswith("probe: 3 steps on cpu (lr 0.0002, batch 2, LoRA r16/alpha 32, 48 tokens")
    assert probe_line({**run, "steps": 100, "steps_run": 40}).plain.startswith("probe: 40 of 100 steps")
    assert probe_extra(None) == ()
