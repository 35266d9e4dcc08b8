"""The reported fix bug (issue 16): 300 real Alpaca records, 15 exact copies
and 5 random-character records. MiniLM puts the five random records in one
tight cluster (cosine 0.95-0.98); with centroid-distance outliers and dedup
first, fix dropped four as near-duplicates, kept the fifth and dropped a clean
record as the only outlier. Now record-level rules (TA107 gibberish) and
k-th-neighbour outliers run before near-duplicates, so no junk record is kept
as a cluster's representative, and no clean record is lost."""

from __future__ import annotations

import json
import random

import pytest

from .conftest import FIXTURES, fix
from tuneahead_lint.ruleset.registry import find_rule

SAMPLE = FIXTURES / "sample" / "alpaca_sample.jsonl"


def _junk(rng: random.Random) -> dict[str, str]:
    """Random characters, as the GSM8K planted set's garbage record."""
    text = lambda chars, n: "".join(rng.choice(chars) for _ in range(n))  # noqa: E731
    return {"instruction": text("abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()[]", 80), "input": "",
            "output": text("abcdefghijklmnopqrstuvwxyz0123456789 ", 160)}


def _planted(tmp_path) -> tuple[str, set[int], set[int]]:
    """(path, 1-based lines of copies, lines of junk) of the planted file."""
    rng = random.Random(16)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    copies = rng.sample(lines, 15)
    junk = [json.dumps(_junk(rng)) for _ in range(5)]
    out = lines + copies + junk
    path = tmp_path / "alpaca_junk.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    n = len(lines)
    return str(path), set(range(n + 1, n + 16)), set(range(n + 16, n + 21))


@pytest.fixture(scope="module")
def planted_fix(tmp_path_factory, feature_cache):
    tmp = tmp_path_factory.mktemp("junk")
    path, copies, junk = _planted(tmp)
    result = fix([path], output=str(tmp / "clean.jsonl"))
    return {a.line: a.rule_id for a in result.plan.actions}, copies, junk


@pytest.mark.slow
def test_fix_loses_no_clean_record(planted_fix):
    """The copies go as exact duplicates; no clean record goes as an outlier
    or a near-duplicate (the centroid score dropped one)."""
    dropped, copies, junk = planted_fix
    assert {line for line, rule in dropped.items() if rule == "TA106"} == copies
    assert {line: rule for line, rule in dropped.items() if line not in copies | junk} == {}


@pytest.mark.slow
def test_fix_drops_every_junk_record(planted_fix):
    """All five go, none kept as a cluster representative. MiniLM does not
    put these random-character records in a sparse region (their distance to
    the 10th nearest record is below the set's median), so the embedding
    outlier score alone cannot find them: the gibberish rule (TA107) drops
    them in the record-level step, before the semantic remedies."""
    if find_rule("gibberish") is None:
        pytest.skip("TA107 gibberish is not registered in this build")
    dropped, _, junk = planted_fix
    assert {line for line in dropped if line in junk} == junk
    assert {dropped[line] for line in junk} <= {"TA107", "TA202"}
