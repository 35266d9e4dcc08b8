"""The v2 corruption kinds do what their names say, and the linter's own
checks see the ones it has a rule for."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.meta.conftest import INSTRUCT
from tuneahead_lint.checks.text import find_refusal
from tuneahead_lint.meta import corrupt
from tuneahead_lint.meta.variants import Recipe, VariantError, build_tagged, wrong_lang_source

ALPACA = (("alpaca", 1.0),)


def tagged(sources=ALPACA, size=20, **kw):
    return build_tagged(Recipe(sources, size, heldout=4, **kw), INSTRUCT)


def split(v, kind):
    hit = [ex for ex, t in zip(v.examples, v.tags) if kind in t]
    rest = [ex for ex, t in zip(v.examples, v.tags) if kind not in t]
    return hit, rest


def cjk(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def clean_pairs():
    return {ex.prompt: ex.response for ex in tagged().examples}


def test_every_refusal_text_is_one_ta116_flags():
    for text in corrupt.REFUSALS + corrupt._DISCLAIMERS:
        assert find_refusal(text, ("en",)), text


def test_refusal_replaces_or_prefixes_the_answer():
    hit, _ = split(tagged(refusal=0.5), "refusal")
    assert len(hit) == 10
    assert all(find_refusal(ex.response, ("en",)) for ex in hit)


def test_gibberish_replaces_the_response_and_keeps_the_prompt():
    own = clean_pairs()
    hit, rest = split(tagged(gibberish=0.5), "gibberish")
    assert len(hit) == 10 and all(ex.prompt in own and ex.response != own[ex.prompt] for ex in hit)
    assert all(own[ex.prompt] == ex.response for ex in rest)


def test_scramble_keeps_the_words_in_another_order():
    own = clean_pairs()
    hit, _ = split(tagged(scramble=1.0), "scramble")
    assert len(hit) == 20
    assert all(Counter(ex.response.split()) == Counter(own[ex.prompt].split()) for ex in hit)
    assert sum(ex.response != " ".join(own[ex.prompt].split()) for ex in hit) >= 15  # one-word answers stay


def test_exact_dups_are_exact_copies_of_untouched_records():
    hit, rest = split(tagged(exact_dups=0.25), "exact_dups")
    assert len(hit) == 5
    assert all(ex.turns in {r.turns for r in rest} for ex in hit)


def test_wrong_language_comes_from_the_other_language_set():
    hit, rest = split(tagged(wrong_lang=0.5), "wrong_lang")
    assert len(hit) == 10 and all(cjk(ex.response) for ex in hit) and not any(cjk(ex.response) for ex in rest)
    zh = (("oasst_zh", 1.0),)
    assert wrong_lang_source(Recipe(zh, 8)) == "alpaca"
    hit, rest = split(tagged(zh, 16, wrong_lang=0.25), "wrong_lang")
    assert len(hit) == 4 and not any(cjk(ex.prompt + ex.response) for ex in hit)


def test_off_domain_outliers_come_from_their_source():
    hit, _ = split(tagged(outliers=0.25, outlier_source="gsm8k"), "outliers")
    assert len(hit) == 5 and all("####" in ex.response for ex in hit)


def test_whole_record_corruptions_take_disjoint_records():
    v = tagged(outliers=0.2, wrong_lang=0.2, exact_dups=0.2, near_dups=0.2)
    assert all(len(t) <= 1 for t in v.tags)
    assert Counter(t[0] for t in v.tags if t) == {"outliers": 4, "wrong_lang": 4, "exact_dups": 4, "near_dups": 4}


@pytest.mark.parametrize("kw,msg", [
    ({"near_dups": 0.6, "outliers": 0.5}, "sum to <= 1"),
    ({"scramble": 1.5}, "scramble"),
])
def test_impossible_doses_are_refused(kw, msg):
    with pytest.raises(VariantError, match=msg):
        Recipe(ALPACA, 8, **kw)


def test_duplicates_need_an_original_and_other_sources_need_records():
    with pytest.raises(VariantError, match="left to copy"):
        tagged(near_dups=1.0)
    with pytest.raises(VariantError, match="needs 20 records"):
        tagged(outliers=1.0, outlier_source="gsm8k")  # gsm8k slice: 16 after its held-out


def test_v2_kinds_keep_v1_recipe_json_and_label():
    v1 = Recipe(ALPACA, 8, label_noise=0.5)
    assert v1.to_json() == ('{"label_noise":0.5,"near_dups":0.0,"outlier_source":"garbage","outliers":0.0,'
                            '"seed":0,"size":8,"sources":[["alpaca",1.0]],"template_leak":0.0,"truncate":0.0}')
    r = Recipe(ALPACA, 8, refusal=0.25, wrong_lang=0.1)
    assert r.label == "alpaca-n8-lang0.1-refusal0.25" and Recipe.from_json(r.to_json()) == r
    assert r.doses == {"wrong_lang": 0.1, "refusal": 0.25}


def test_drawn_sources_name_every_set_records_come_from():
    assert Recipe(ALPACA, 8).drawn_sources == ("alpaca",)
    assert Recipe(ALPACA, 8, outliers=0.5).drawn_sources == ("alpaca",)  # garbage
    r = Recipe((("gsm8k", 0.5), ("alpaca", 0.5)), 8, outliers=0.2, outlier_source="lima", wrong_lang=0.2)
    assert r.drawn_sources == ("alpaca", "gsm8k", "lima", "oasst_zh")


def test_text_makers_never_leave_a_blank_response():
    """'?????' (a real oasst_zh response) once became '' under a near-duplicate edit."""
    import random

    for text in ("?????", "!", "...", "a", "Yes.", "好的！"):
        for seed in range(20):
            rng = random.Random(seed)
            for fn in (corrupt.perturb, corrupt.scramble, corrupt.truncate, corrupt.refusal):
                assert fn(text, rng).strip(), (fn.__name__, text, seed)
