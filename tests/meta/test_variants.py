"""Dataset variants: every corruption does what its name says, and a recipe
rebuilds the same records."""

from __future__ import annotations

import json

import pytest

from tests.meta.conftest import INSTRUCT
from tuneahead_lint.meta.variants import (GARBAGE, Recipe, VariantError, _allocate, build_variant,
                                          load_source, write_jsonl)

ALPACA = (("alpaca", 1.0),)


def build(**kw):
    return build_variant(Recipe(ALPACA, kw.pop("size", 30), **kw), INSTRUCT)


def pairs(examples):
    return [(ex.prompt, ex.response) for ex in examples]


def test_same_recipe_same_records_and_seed_changes_them():
    assert build(label_noise=0.5, seed=3) == build(label_noise=0.5, seed=3)
    assert pairs(build(seed=1)) != pairs(build(seed=2))


def test_clean_variant_is_a_sample_of_the_source():
    source = {(ex.prompt, ex.response) for ex in load_source("alpaca", str(INSTRUCT))}
    got = build(size=30)
    assert len(got) == 30
    assert set(pairs(got)) <= source
    assert len(set(pairs(got))) == 30  # without replacement
    assert all(ex.path.startswith("meta:") and ex.format == "messages" for ex in got)
    assert [ex.line for ex in got] == list(range(1, 31))


@pytest.mark.parametrize("rate", [0.2, 0.5, 1.0])
def test_label_noise_moves_responses_to_other_prompts(rate):
    clean, noisy = build(), build(label_noise=rate)
    own = {p: r for p, r in pairs(clean)}
    moved = [p for p, r in pairs(noisy) if own[p] != r]
    assert len(moved) == round(rate * 30)
    assert sorted(r for _, r in pairs(noisy)) == sorted(r for _, r in pairs(clean))  # same multiset


def test_near_dups_overwrite_with_light_edits():
    got = build(near_dups=0.5)
    origin = build()
    assert len(got) == 30
    changed = [a for a, b in zip(pairs(got), pairs(origin)) if a != b]
    assert len(changed) == 15
    words = {w for p, r in pairs(origin) for w in (p + " " + r).split()}
    for p, r in changed:  # most words come from some other record
        ws = (p + " " + r).split()
        assert sum(w in words for w in ws) / len(ws) > 0.6


def test_garbage_and_offdomain_outliers():
    garbage = [ex for ex in build(outliers=0.2) if ex.turns[0].content not in
               {p for p, _ in pairs(build())}]
    assert len(garbage) == 6
    zh = build(outliers=0.2, outlier_source="oasst_zh")
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in ex.response) for ex in zh) >= 6


def test_truncate_cuts_responses():
    clean, cut = dict(pairs(build())), pairs(build(truncate=0.5))
    shorter = [(p, r) for p, r in cut if len(r) < len(clean[p])]
    assert len(shorter) >= 14  # 15 picked; a one-word response may not shrink
    assert all(clean[p].startswith(r) for p, r in shorter)


def test_template_leak_puts_template_text_in_content():
    markers = ("<|im_end|>", "### Response:", "Assistant:", "### Instruction:")
    got = build(template_leak=0.5)
    assert sum(any(m in ex.prompt + ex.response for m in markers) for ex in got) == 15


def test_domain_mixing_allocates_by_weight():
    got = build_variant(Recipe((("alpaca", 0.5), ("gsm8k", 0.5)), 20), INSTRUCT)
    gsm = [ex for ex in got if "<<" in ex.response or "####" in ex.response]
    assert len(gsm) == 10
    assert _allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(_allocate(97, [0.2, 0.3, 0.5])) == 97


def test_recipe_json_roundtrip_and_label():
    r = Recipe((("alpaca", 0.7), ("gsm8k", 0.3)), 64, seed=2, outliers=0.3, outlier_source="oasst_zh")
    assert Recipe.from_json(r.to_json()) == r
    assert Recipe.from_json(r.to_json()).id == r.id
    assert r.label == "alpaca+gsm8k-n64-out0.3(oasst_zh)"
    assert Recipe(ALPACA, 8, label_noise=1.0).label == "alpaca-n8-noise1"


@pytest.mark.parametrize("kw,msg", [
    ({"size": 0}, "size"),
    ({"label_noise": 1.5}, "label_noise"),
    ({"outlier_source": "nope"}, "outlier_source"),
])
def test_bad_recipes_are_refused(kw, msg):
    with pytest.raises(VariantError, match=msg):
        Recipe(ALPACA, **{"size": 8, **kw})


def test_missing_or_too_small_source_is_a_variant_error(tmp_path):
    with pytest.raises(VariantError, match="not found"):
        build_variant(Recipe(ALPACA, 4), tmp_path)
    with pytest.raises(VariantError, match="usable records"):
        build_variant(Recipe(ALPACA, 1000), INSTRUCT)
    with pytest.raises(VariantError, match="unknown source"):
        Recipe((("nope", 1.0),), 4)


def test_written_variant_reads_back_with_the_project_readers(tmp_path):
    from tuneahead_lint.readers import read

    got = build(label_noise=0.3, template_leak=0.3, outliers=0.1)
    path = tmp_path / "v.jsonl"
    write_jsonl(got, path)
    back = list(read(str(path)))
    assert [(ex.prompt, ex.response) for ex in back] == pairs(got)
    assert all(json.loads(line)["messages"] for line in path.read_text().splitlines())
    assert GARBAGE == "garbage"
