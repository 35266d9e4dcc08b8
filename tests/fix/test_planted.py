"""The removal log on real slices with planted problems is exact: every
planted record found with the right action and rule, no clean record touched,
and the written file is the clean records byte for byte (with the shared data
present: exactly the real source slice).

Record-level remedies here (--fast, lexical near-duplicates TA121 included);
embedding near-duplicates and outliers in test_semantic.py (slow)."""

from __future__ import annotations

import json

import pytest

from .conftest import (PLANTED, expected, expected_output, fix, logged, needs_shared,
                                source_slice, truth)

NAMES = ["gsm8k_planted.jsonl", "alpaca_planted.json"]


@pytest.mark.parametrize("name, counts", [("gsm8k_planted.jsonl", (165, 13, 3)),
                                          ("alpaca_planted.json", (159, 8, 2))])
def test_record_remedies_log_is_exact(tmp_path, name, counts):
    result = fix([PLANTED / name], fast=True, output=str(tmp_path / name))
    assert logged(result.plan.actions) == expected(name, semantic=False)
    c = result.plan.counts()
    assert (c["records"], c["dropped"], c["changed"]) == counts


@pytest.mark.parametrize("name", NAMES)
def test_output_is_the_clean_records_byte_for_byte(tmp_path, name):
    """Clean records untouched, stripped records back to their original bytes
    (same key order, separators and escaping), the file's own separators."""
    out = tmp_path / name
    fix([PLANTED / name], fast=True, output=str(out))
    assert out.read_bytes() == expected_output(name, semantic=False)


def test_one_line_array_records_are_told_apart_by_number(tmp_path):
    result = fix([PLANTED / "alpaca_planted.json"], fast=True, output=str(tmp_path / "o.json"))
    assert {a.line for a in result.plan.actions} == {1}
    partners = {t["record"]: t["partner"] for t in truth("alpaca_planted.json") if t["rule"] == "TA106"}
    details = {a.record: a.detail for a in result.plan.actions if a.rule_id == "TA106"}
    assert details == {r: f"duplicate of record {p}" for r, p in partners.items()}
    assert len(json.loads((tmp_path / "o.json").read_bytes())) == 159 - 8


def test_duplicate_detail_names_the_kept_line(tmp_path):
    result = fix([PLANTED / "gsm8k_planted.jsonl"], fast=True, output=str(tmp_path / "o.jsonl"))
    partners = {t["record"]: t["partner"] for t in truth("gsm8k_planted.jsonl") if t["rule"] == "TA106"}
    details = {a.record: a.detail for a in result.plan.actions if a.rule_id == "TA106"}
    assert details == {r: f"duplicate of line {p}" for r, p in partners.items()}


@needs_shared
@pytest.mark.parametrize("name", NAMES)
def test_expected_output_is_the_real_source_slice(name):
    """The fixture's truth is complete: with every planted problem undone the
    file is the shared source slice it was cut from."""
    assert expected_output(name, semantic=True) == source_slice(name)
