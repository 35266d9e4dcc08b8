"""The dose that trains is the dose asked for: for every corruption kind and
dose, the share of corrupted records among the records a run trains on
(sub-sampled, ordered, cut to max_steps x batch size, counted as often as they
are trained) matches the recipe within rounding."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.meta.conftest import INSTRUCT
from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.presets import PRESETS
from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.variants import EDITS, KINDS, OVERWRITES, Recipe, VariantError
from tuneahead_lint.probe.data import usable

ALPACA = (("alpaca", 1.0),)
SUITE = SuiteSpec(("arc_easy",), 8)
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "instruct"
HPS = {
    "one epoch": HParams(batch_size=4, epochs=1.0),
    "partial last epoch": HParams(batch_size=4, epochs=2.5),
    "max_steps cut": HParams(batch_size=3, max_steps=3),  # 9 of 16 records train
    "cut, some twice": HParams(batch_size=8, epochs=3.0, max_steps=3),  # 24 slots over 16 records
}
DUPS = ("exact_dups", "near_dups")


def doses(kind):
    return (0.0, 0.1, 0.25, 0.5, 0.75 if kind in DUPS else 1.0)


def trained_share(spec: RunSpec, kind: str) -> tuple[int, int, float]:
    """(corrupted trainings, trainings, rounding tolerance) of ``kind`` in ``spec``'s run."""
    variant = spec.variant(INSTRUCT)
    assert len(usable(variant.examples)) == len(variant.examples)  # finetune's indices are the plan's
    times = Counter(i for batch in spec.plan() for i in batch)
    hit = sum(m for i, m in times.items() if kind in variant.tags[i])
    tol = 0.5 * sum(set(times.values()))  # one rounding per group of equally trained records
    return hit, sum(times.values()), tol


@pytest.mark.parametrize("hp_name", list(HPS))
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_trains_at_its_dose(kind, hp_name):
    for dose in doses(kind):
        for seed in (0, 1):
            spec = RunSpec(Recipe(ALPACA, 16, seed=seed, heldout=4, **{kind: dose}), HPS[hp_name], seed,
                           "base", SUITE)
            hit, total, tol = trained_share(spec, kind)
            assert abs(hit - dose * total) <= tol, (kind, dose, hp_name, seed, hit, total)


def test_mixed_doses_each_train_at_their_own_rate():
    recipe = Recipe((("alpaca", 0.5), ("gsm8k", 0.5)), 16, heldout=2, wrong_lang=0.25, exact_dups=0.25,
                    label_noise=0.5, truncate=0.25, refusal=0.5)
    spec = RunSpec(recipe, HPS["cut, some twice"], 3, "base", SUITE)
    for kind, dose in recipe.doses.items():
        hit, total, tol = trained_share(spec, kind)
        assert abs(hit - dose * total) <= tol, kind


def test_tiny_presets_train_at_their_doses():
    specs = PRESETS["tiny"].specs("base") + PRESETS["tiny-all"].specs("base")
    assert {k for s in specs for k in s.recipe.doses} == set(KINDS)
    for spec in specs:
        for kind, dose in spec.recipe.doses.items():
            hit, total, tol = trained_share(spec, kind)
            assert abs(hit - dose * total) <= tol, spec.recipe.label


def test_dose_never_moves_the_sample_or_its_order():
    """Separate streams: a corruption changes only the records it picks."""
    clean = RunSpec(Recipe(ALPACA, 16, heldout=4), HPS["one epoch"], 0, "base", SUITE).variant(INSTRUCT)
    for kind in EDITS:
        v = RunSpec(Recipe(ALPACA, 16, heldout=4, **{kind: 0.5}), HPS["one epoch"], 0, "base", SUITE).variant(INSTRUCT)
        same = [a.turns == b.turns for a, b, t in zip(clean.examples, v.examples, v.tags) if not t]
        assert same and all(same), kind
    for kind in OVERWRITES:
        v = RunSpec(Recipe(ALPACA, 16, heldout=4, **{kind: 0.5}), HPS["one epoch"], 0, "base", SUITE).variant(INSTRUCT)
        kept = [a.turns for a, t in zip(clean.examples, v.tags) if not t]
        assert kept and kept == [b.turns for b, t in zip(v.examples, v.tags) if not t], kind


def test_one_kinds_picks_do_not_depend_on_another_kinds_dose():
    def picked(**kw):
        recipe = Recipe(ALPACA, 16, heldout=4, truncate=0.25, **kw)
        v = RunSpec(recipe, HPS["one epoch"], 0, "base", SUITE).variant(INSTRUCT)
        return [i for i, t in enumerate(v.tags) if "truncate" in t]
    assert picked() == picked(label_noise=0.5) == picked(refusal=1.0)


def test_seed_repeats_share_the_sample_and_the_dose_not_the_placement():
    """The training seed reorders the batches; the corruptions follow the
    batch order (so every stretch carries the dose) but the sampled records,
    their clean form and the dose stay."""
    def run(seed, **kw):
        return RunSpec(Recipe(ALPACA, 16, heldout=4, **kw), HPS["one epoch"], seed, "base", SUITE)
    clean = [run(s).variant(INSTRUCT) for s in (0, 1)]
    assert clean[0] == clean[1] and run(0).plan() != run(1).plan()
    noisy = [run(s, gibberish=0.25).variant(INSTRUCT) for s in (0, 1)]
    assert [sum("gibberish" in t for t in v.tags) for v in noisy] == [4, 4]
    for v in noisy:
        assert [ex.prompt for ex in v.examples] == [ex.prompt for ex in clean[0].examples]


def test_plan_is_what_finetune_trains_and_refuses_foreign_indices():
    hp = HPS["cut, some twice"]
    plan = hp.plan(16, 5)
    assert len(plan) == hp.steps(16) == 3 and all(len(b) == 8 for b in plan)
    assert plan == hp.plan(16, 5)
    with pytest.raises(VariantError, match="outside"):
        from tuneahead_lint.meta.variants import build_tagged
        build_tagged(Recipe(ALPACA, 4), INSTRUCT, [[0, 9]])


def prefix_error(spec: RunSpec, kind: str, data_dir) -> float:
    """Largest |corrupted - dose x trained| over the run's step prefixes, in record-trainings."""
    tags, dose = spec.variant(data_dir).tags, spec.recipe.doses[kind]
    hit = total = worst = 0
    for batch in spec.plan():
        hit += sum(kind in tags[i] for i in batch)
        total += len(batch)
        worst = max(worst, abs(hit - dose * total))
    return worst


@pytest.mark.parametrize("kind", ["gibberish", "near_dups", "label_noise"])
def test_every_prefix_of_the_training_carries_the_dose(kind):
    """A run stopped (or probed) after any step trained on the dose, within a
    record or two (the fixture is too small to tell this from random picks:
    the test below on the real sets does)."""
    for dose in doses(kind)[1:]:
        spec = RunSpec(Recipe(ALPACA, 32, heldout=4, **{kind: dose}), HParams(batch_size=4, epochs=2.5), 2,
                       "base", SUITE)
        assert prefix_error(spec, kind, INSTRUCT) <= 2.5, dose


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/instruct")
@pytest.mark.parametrize("kind,dose", [("refusal", 0.5), ("exact_dups", 0.25), ("truncate", 0.1)])
def test_every_prefix_carries_the_dose_on_a_real_run(kind, dose):
    """2,000 records, 1.5 epochs: random picks would stray by ~sqrt(2000 x dose) records."""
    spec = RunSpec(Recipe((("gsm8k", 1.0),), 2000, heldout=200, **{kind: dose}),
                   HParams(batch_size=8, epochs=1.5), 0, "base", SUITE)
    assert prefix_error(spec, kind, SHARED) <= 2.5
