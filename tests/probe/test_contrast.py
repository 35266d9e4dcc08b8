"""Rubric violations (pure functions) and the base model's preference."""

from __future__ import annotations

import pytest

from tuneahead_lint.probe.contrast import (VIOLATIONS, build_pairs, format_broken, looped,
                                           swapped, truncated, wrong_language)
from tuneahead_lint.probe.features import contrast_values

TEXT = "First line here.\n\n  Second line, indented: yes! Third part of the answer goes on."


def test_truncated_keeps_the_first_half_of_the_visible_words():
    assert truncated(TEXT, len(TEXT), "") == "First line here.\n\n  Second line, indented: yes!"
    assert truncated(TEXT, 16, "") == "First"  # only "First line here." is visible


def test_swapped_returns_the_other_response():
    assert swapped(TEXT, len(TEXT), "other") == "other"


def test_looped_repeats_the_opening_to_the_same_length():
    out = looped(TEXT, len(TEXT), "")
    assert out.startswith("First line here.\n\n  Second First line")
    assert len(TEXT) - 2 <= len(out) <= len(TEXT)
    assert looped("two words", 9, "") is None


def test_wrong_language_transliterates_latin_only():
    assert wrong_language("Hello, World", 12, "") == "Хелло, Шорлд"
    assert wrong_language("你好，世界 ok", 8, "") is None


def test_format_broken_collapses_layout():
    assert format_broken(TEXT, len(TEXT), "") == (
        "First line here.Second line,indented:yes!Third part of the answer goes on.")


def test_pairs_skip_violations_that_change_nothing(tokenizer, examples):
    items, triples, chosen = build_pairs(tokenizer, examples, n_pairs=6, max_len=64, seed=0)
    assert len(chosen) == 6 and len(items) == len(triples)
    kinds = {k for k, _, _ in triples}
    assert kinds <= {"intact"} | {k for k, _ in VIOLATIONS}
    for kind, r, i in triples:
        if kind != "intact":
            intact = next(j for k, rr, j in triples if k == "intact" and rr == r)
            assert items[i].input_ids != items[intact].input_ids


@pytest.mark.slow
def test_base_model_prefers_intact_responses_on_real_data(tiny_runs):
    result = tiny_runs[0]
    assert result.value("contrast_margin_swapped") > 0
    assert result.value("contrast_margin_mean") > 0
    assert 0.5 <= result.value("contrast_win_rate") <= 1


def test_contrast_values_macro_mean_and_refs():
    from tuneahead_lint.probe.contrast import Pair

    pairs = [Pair("swapped", "a.jsonl", 3, -0.5), Pair("swapped", "a.jsonl", 5, 1.5),
             Pair("truncated", "a.jsonl", 3, 2.0)]
    vals = dict(contrast_values(pairs))
    assert vals["contrast_margin_swapped"].value == pytest.approx(0.5)
    assert vals["contrast_margin_swapped"].refs == (("a.jsonl", 3),)
    assert vals["contrast_margin_mean"].value == pytest.approx(1.25)
    assert vals["contrast_win_rate"].value == pytest.approx(2 / 3)
