"""Planted-defect set of issue 16 (tests/fixtures/planted16, built by
benchmarks/planted/make_planted.py): per class, >= 95% of the plants are named by
the rules that catch the class, and <= 1% of the clean records by the new rules.

A class whose rule is not registered yet is skipped, naming the missing rule.
The benchmark with the peer linter and the second set is benchmarks/bench_planted.py.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.planted.score import lint_flags, lint_json, load_truth, registry_rules, score  # noqa: E402

PLANTED = ROOT / "tests" / "fixtures" / "planted16"
TRUTH = load_truth(PLANTED)
FULL_ONLY = set(TRUTH["full_lint_rules"])
MIN_RECALL = 0.95
MAX_CLEAN_SHARE = 0.01
# Variants left out of a class's recall by design, with the reason (named in the
# benchmark's report too). None today: the human_vs_model conflicting answers
# (a human's and a model's free-text answers to one open prompt), which TA117
# does not judge (benchmarks/results/issue16_conflict.md: of the 12 planted pairs
# 1 disagrees in substance, 5 agree, 6 vary), are named by TA120 repeated-prompt.
EXCLUDED_VARIANTS: dict[str, set[str]] = {}
FAST_CLASSES = [c for c, rules in TRUTH["classes"].items() if rules[0] not in FULL_ONLY]
FULL_CLASSES = [c for c, rules in TRUTH["classes"].items() if rules[0] in FULL_ONLY]


@pytest.fixture(scope="module")
def known() -> set[str]:
    return registry_rules(ROOT)


@pytest.fixture(scope="module")
def fast_scores():
    return score(TRUTH, lint_flags(lint_json(PLANTED / "planted.jsonl", ROOT)))


@pytest.fixture(scope="module")
def full_scores():
    return score(TRUTH, lint_flags(lint_json(PLANTED / "planted.jsonl", ROOT, full=True)))


def _require(rule_ids: list[str], known: set[str]) -> None:
    missing = [r for r in rule_ids if r not in known]
    if missing:
        pytest.skip(f"rule {', '.join(missing)} not in the registry yet")


def test_truth_file_matches_the_data():
    lines = (PLANTED / "planted.jsonl").read_text(encoding="utf-8").splitlines()
    assert [row["line"] for row in TRUTH["lines"]] == list(range(1, len(lines) + 1))
    plants = Counter(r["class"] for r in TRUTH["lines"] if r.get("role") == "plant")
    assert set(plants) == set(TRUTH["classes"]) and min(plants.values()) >= 20
    clean_sources = {r["src"] for r in TRUTH["lines"] if r["class"] == "clean"}
    assert len(clean_sources) >= 4


@pytest.mark.parametrize("cls", FAST_CLASSES)
def test_fast_recall(cls, known, fast_scores):
    _require(TRUTH["classes"][cls][:1], known)
    s = fast_scores[0][cls]
    kept = {v: fp for v, fp in s.variants.items() if v not in EXCLUDED_VARIANTS.get(cls, set())}
    found, plants = sum(f for f, _ in kept.values()), sum(p for _, p in kept.values())
    assert found / plants >= MIN_RECALL, (f"{found}/{plants} found", "missed lines", s.missed, s.by_rule, s.variants)


def test_fast_clean_flagged_by_new_rules(known, fast_scores):
    new = [r for r in TRUTH["new_rules"] if r not in FULL_ONLY]
    if not known & set(new):
        pytest.skip(f"none of the new rules {new[0]}-{new[-1]} is in the registry yet")
    clean = fast_scores[1]
    assert clean.flagged_new <= MAX_CLEAN_SHARE * clean.records, (clean.lines_new, clean.by_rule)


# Known gap, issue 16 left open: in the default full lint TA207 finds 2 of 20 planted
# mismatched pairs (a swap inside one domain, e.g. GSM8K, looks like any other pair to
# MiniLM, and the planted responses answer prompts that are not in the file). Its local
# fit gap (min_gap 0.2, off by default) finds 15 of 20 on set A and on set B with 5 and 2
# of 600 clean records flagged, but names 528 records on the 14 shared sets, 5 of 107 read
# real mismatches (benchmarks/results/issue16_mismatch_s21.md). The base-model PMI gap
# (pmi_candidates, off by default for its cost) reaches 17/20 with every candidate
# scored, at 9 of 600 clean records (benchmarks/results/issue16_pmi_eos.md).
KNOWN_GAPS = {"mismatched_pair": "TA207 recall 2/20 on set A (local fit gap and PMI check off by default)"}


@pytest.mark.slow
@pytest.mark.parametrize("cls", [pytest.param(c, marks=pytest.mark.xfail(reason=KNOWN_GAPS[c], strict=True))
                                 if c in KNOWN_GAPS else c for c in FULL_CLASSES])
def test_full_recall(cls, known, full_scores):
    _require(TRUTH["classes"][cls][:1], known)
    s = full_scores[0][cls]
    assert s.found / s.plants >= MIN_RECALL, (f"{s.found}/{s.plants} found", "missed lines", s.missed, s.by_rule)


@pytest.mark.slow
@pytest.mark.parametrize("rule_id", ["TA202", "TA207"])
def test_full_clean_flagged_by_embedding_rules(rule_id, known, full_scores):
    """The outlier score and the mismatched-pair rule leave the clean records alone."""
    _require([rule_id], known)
    clean = full_scores[1]
    assert clean.by_rule.get(rule_id, 0) <= MAX_CLEAN_SHARE * clean.records, clean.by_rule
