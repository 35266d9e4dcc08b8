"""The fixed clean held-out split: same records every time, clean, and never
(nor a normalised copy of one) in a training pool."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.meta.conftest import INSTRUCT
from tuneahead_lint.meta import heldout
from tuneahead_lint.meta.variants import (Recipe, VariantError, build_variant, heldout_records, load_source,
                                          train_pool)
from tuneahead_lint.types import Turn

ALPACA = (("alpaca", 1.0),)


def source(name="alpaca"):
    return list(load_source(name, str(INSTRUCT)))


def keys(examples):
    return {heldout.pair_key(ex) for ex in examples}


def test_split_is_fixed_and_independent_of_file_order():
    recs = source()
    train, held = heldout.split("alpaca", recs, 8)
    assert len(held) == 8 and len(train) == len(recs) - 8
    assert heldout.split("alpaca", recs, 8) == (train, held)
    assert keys(heldout.split("alpaca", recs[::-1], 8)[1]) == keys(held)
    assert keys(heldout.split("gsm8k", recs, 8)[1]) != keys(held)  # the set name salts the order
    assert keys(heldout.split("alpaca", recs, 4)[1]) < keys(held)  # a smaller split is a prefix


def test_train_pool_never_shares_a_normalised_prompt_or_response_with_the_heldout():
    recs = source()
    train, held = heldout.split("alpaca", recs, 10)
    assert heldout.leaks(train, held) == []
    assert keys(train).isdisjoint(keys(held))
    copy = replace(held[0], turns=tuple(Turn(t.role, "  " + t.content.upper() + "!") for t in held[0].turns))
    assert heldout.leaks([copy], held) == [copy]  # case, spacing and punctuation do not hide a copy


def test_duplicated_or_conflicting_records_are_never_held_out():
    recs = source()
    dup = replace(recs[5], turns=tuple(Turn(t.role, t.content.lower()) for t in recs[5].turns))
    conflict = replace(recs[6], turns=(recs[6].turns[0], Turn("assistant", "Something else entirely.")))
    planted = recs + [dup, conflict]
    train, held = heldout.split("alpaca", planted, 15)
    for ex in (recs[5], dup, recs[6], conflict):
        assert ex not in held
    assert heldout.leaks(train, held) == []


def test_heldout_prefers_no_record_by_position():
    """Across source sets the held-out spreads over the file, not its head."""
    recs = source()
    _, held = heldout.split("alpaca", recs, 10)
    assert max(ex.index for ex in held) >= len(recs) // 2
    assert min(ex.index for ex in held) < len(recs) // 2


@pytest.mark.parametrize("n", [-1, 21, 40])
def test_impossible_splits_are_refused(n):
    with pytest.raises(ValueError, match="held-out|hold out"):
        heldout.split("alpaca", source(), n)


def test_variants_never_draw_heldout_records():
    held = heldout_records("alpaca", INSTRUCT, 8)
    assert len(held) == 8
    for kw in ({}, {"label_noise": 0.5}, {"near_dups": 0.5}, {"outliers": 0.25, "outlier_source": "gsm8k"}):
        got = build_variant(Recipe(ALPACA, 32, heldout=8, **kw), INSTRUCT)  # the whole training pool
        assert len(got) == 32
        assert heldout.leaks(got, held) == []
    with pytest.raises(VariantError, match="usable records"):
        build_variant(Recipe(ALPACA, 33, heldout=8), INSTRUCT)


def test_mixed_recipes_seal_every_trained_sources_heldout():
    recipe = Recipe((("alpaca", 0.5), ("gsm8k", 0.5)), 16, heldout=4)
    sealed = [*heldout_records("alpaca", INSTRUCT, 4), *heldout_records("gsm8k", INSTRUCT, 4)]
    assert heldout.leaks(train_pool(recipe, "alpaca", str(INSTRUCT)), sealed) == []
    assert heldout.leaks(build_variant(recipe, INSTRUCT), sealed) == []


def test_heldout_field_keeps_v1_recipe_ids():
    v1 = Recipe(ALPACA, 8, label_noise=0.5)
    assert "heldout" not in v1.to_json()
    v2 = Recipe(ALPACA, 8, label_noise=0.5, heldout=4)
    assert v2.id != v1.id and Recipe.from_json(v2.to_json()) == v2
    with pytest.raises(VariantError, match="heldout"):
        Recipe(ALPACA, 8, heldout=-1)
