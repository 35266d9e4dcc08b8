"""TA121 lexical near-duplicates beyond the rule cases: stable across
processes, compact, and merged with TA201 in the full lint. Records: the
planted set A of issue 16 (tests/fixtures/planted16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tuneahead_lint.checks import CheckContext
from tuneahead_lint.checks.minhash import jaccard, per_record, shingle_batch, side_text
from tuneahead_lint.checks.neardup import LexicalNearDuplicates
from tuneahead_lint.checks.stream import run_over
from tuneahead_lint.readers import read
from tuneahead_lint.ruleset.registry import find_rule

ROOT = Path(__file__).resolve().parents[2]
PLANTED = ROOT / "tests" / "fixtures" / "planted16" / "planted.jsonl"


@pytest.fixture(scope="module")
def records():
    return list(read(str(PLANTED)))


def _check(**ctx) -> LexicalNearDuplicates:
    return LexicalNearDuplicates(CheckContext(options=find_rule("TA121").defaults(), **ctx))


def _lint_ta121(seed: str) -> list:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-m", "tuneahead_lint", "--fast", "--format", "json",
                          "--select", "TA121", str(PLANTED)], env=env, capture_output=True, text=True)
    return [(f["lines"], f["message"]) for f in json.loads(out.stdout)["findings"]]


def test_findings_do_not_depend_on_the_process_hash_seed():
    first = _lint_ta121("1")
    assert len(first) >= 20 and first == _lint_ta121("2")


def test_the_index_keeps_64_bytes_a_record_and_lets_go_of_every_representative(records):
    check = _check()
    for ex in records:
        check.observe(ex)
    check._flush()
    valid = sum(ex.ok for ex in records)
    assert sum(b.nbytes for b in check.bands) == 64 * valid
    assert check.table.nbytes == 2 << 22  # fixed, whatever the input size
    for ex in records:
        check.record(ex)
    assert len(check.heads) >= 20 and len(check.members) == 68 * sum(len(m) for _, m in check._clusters())
    assert check.held == {} and check.rep_of == {}  # nothing is held past its last partner


def test_a_planted_pair_is_named_with_its_exact_jaccard(records):
    hits = list(run_over(_check(), records))
    pair = next(h for h in hits if 63 in h.lines)
    assert pair.lines == (63, 544)
    a, b = (per_record(*shingle_batch([(side_text(_words(records[n - 1].prompt)),
                                        side_text(_words(records[n - 1].response)))]), 1)[0] for n in pair.lines)
    assert dict(pair.evidence)["jaccard"] == round(jaccard(a, b), 3) >= 0.7


def _words(text: str) -> list[str]:
    from tuneahead_lint.checks.consistency import words
    return words(text)


def _embedding_cluster(records, lines: tuple[int, ...]):
    from tuneahead_lint.features import DupCluster

    refs = tuple((records[n - 1].path, n) for n in lines)
    return SimpleNamespace(clusters=(DupCluster(refs, refs[0], 0.97, 0.99),))


def test_pairs_that_TA201_clusters_are_left_to_it_in_the_full_lint(records):
    pytest.importorskip("tuneahead_lint.features")
    features = _embedding_cluster(records, (63, 544))
    with_ta201 = list(run_over(_check(features=features, rules=frozenset({"near-duplicates"})), records))
    without = list(run_over(_check(features=features, rules=frozenset()), records))
    assert not [h for h in with_ta201 if 63 in h.lines]
    assert [h.lines for h in without if 63 in h.lines] == [(63, 544)]
    assert len(without) == len(with_ta201) + 1
