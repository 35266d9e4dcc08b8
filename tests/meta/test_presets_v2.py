"""The gpu-v2 preset keeps what it states: the grid (corruptions x doses x
source sets x learning rates), sizes, steps, seed repeats, and an order whose
every prefix covers the grid evenly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tuneahead_lint.meta.heldout import HELDOUT_N
from tuneahead_lint.meta.presets import (PRESETS, V2_HIGH_LR, V2_LRS, V2_MIN_STEPS, V2_POOL, V2_SOURCES, v2_doses,
                                         v2_kind)
from tuneahead_lint.meta.variants import KINDS, source_split, train_pool

SPECS = PRESETS["gpu-v2"].specs("m")
CONFIG = [s.config_id for s in SPECS]  # computed once: a hash of the spec's JSON
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "instruct"


def seeds_of(specs):
    seeds: dict[str, set[int]] = {}
    for s, config in zip(specs, CONFIG):  # specs: SPECS or a prefix of it
        seeds.setdefault(config, set()).add(s.seed)
    return seeds


def spread(counter):
    return min(counter.values()) / max(counter.values())


def test_size_of_the_grid():
    assert len(SPECS) >= 500 and len({s.run_id for s in SPECS}) == len(SPECS)
    assert PRESETS["gpu-v2"].summary.startswith(f"{len(SPECS):,} runs")
    steps = [s.hp.steps(s.recipe.size) for s in SPECS]
    assert f"{min(steps)}-{max(steps)} steps" in PRESETS["gpu-v2"].summary
    cells = Counter((v2_kind(s), s.recipe.sources[0][0], s.hp.lr) for s in SPECS
                    if s.seed == 0 and s.hp.lr != V2_HIGH_LR)
    for kind in KINDS:
        for src in V2_SOURCES:
            for lr in V2_LRS:
                assert cells[(kind, src, lr)] == len(v2_doses(kind)), (kind, src, lr)  # every dose
                assert cells[("clean", src, lr)] >= 1, (src, lr)


def test_doses_sizes_steps_and_heldout():
    for s in SPECS:
        kind = v2_kind(s)
        assert kind == "clean" or list(s.recipe.doses.values()) in ([d] for d in v2_doses(kind))
        assert s.hp.steps(s.recipe.size) >= V2_MIN_STEPS and s.hp.max_steps == 0
        assert s.recipe.size * s.hp.epochs <= s.hp.steps(s.recipe.size) * s.hp.batch_size  # whole epochs train
        assert s.recipe.heldout == HELDOUT_N and s.recipe.size <= V2_POOL[s.recipe.sources[0][0]]
    sizes = {s.recipe.size for s in SPECS}
    assert max(sizes) == 5000 and {500, 1000, 2000, 5000} <= sizes


def test_learning_rates_and_few_at_1e_2():
    lrs = Counter(s.hp.lr for s in SPECS)
    assert set(lrs) == {*V2_LRS, V2_HIGH_LR}
    assert spread(Counter({lr: lrs[lr] for lr in V2_LRS})) > 0.95
    assert 0 < lrs[V2_HIGH_LR] / len(SPECS) < 0.03


def test_three_seeds_for_a_sixth_of_configs_at_every_rate():
    seeds = seeds_of(SPECS)
    assert set(map(frozenset, seeds.values())) == {frozenset({0}), frozenset({0, 1, 2})}
    repeated = {c for c, v in seeds.items() if len(v) == 3}
    assert len(repeated) / len(seeds) >= 0.15
    for lr in V2_LRS:
        configs = {config for s, config in zip(SPECS, CONFIG) if s.hp.lr == lr}
        assert len(configs & repeated) / len(configs) >= 0.15, lr
    assert {v2_kind(s) for s, config in zip(SPECS, CONFIG) if config in repeated} == {"clean", *KINDS}


@pytest.mark.parametrize("n,kinds,sources,lrs", [(100, 0.35, 0.4, 0.75), (250, 0.6, 0.6, 0.9),
                                                  (500, 0.8, 0.7, 0.9), (1000, 0.85, 0.85, 0.95)])
def test_any_prefix_covers_the_grid_evenly(n, kinds, sources, lrs):
    """min/max count of each kind, source set and learning rate among the first ``n`` runs."""
    head = SPECS[:n]
    assert set(Counter(v2_kind(s) for s in head)) == {"clean", *KINDS}
    assert spread(Counter(v2_kind(s) for s in head)) >= kinds
    assert spread(Counter(s.recipe.sources[0][0] for s in head)) >= sources
    assert spread(Counter(s.hp.lr for s in head if s.hp.lr != V2_HIGH_LR)) >= lrs
    assert len(Counter(d for s in head for d in s.recipe.doses.values())) == 5
    seeds = seeds_of(head)
    assert sum(len(v) == 3 for v in seeds.values()) / len(seeds) >= 0.15


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/instruct")
def test_pool_sizes_match_the_data():
    for src in V2_SOURCES:
        assert len(source_split(src, str(SHARED), HELDOUT_N)[0]) == V2_POOL[src], src


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/instruct")
def test_the_largest_runs_of_each_kind_build_at_their_dose():
    """On the real sets: the largest config of each kind builds, and trains its dose."""
    for kind in KINDS:
        spec = max((s for s in SPECS if v2_kind(s) == kind and s.seed == 0),
                   key=lambda s: (s.recipe.size * max(s.recipe.doses.values()), s.run_id))
        variant = spec.variant(SHARED)
        times = Counter(i for b in spec.plan() for i in b)
        hit = sum(m for i, m in times.items() if kind in variant.tags[i])
        dose = spec.recipe.doses[kind]
        assert abs(hit - dose * sum(times.values())) <= 0.5 * sum(set(times.values())), spec.recipe.label
        src = spec.recipe.sources[0][0]
        assert len(train_pool(spec.recipe, src, str(SHARED))) >= spec.recipe.size
