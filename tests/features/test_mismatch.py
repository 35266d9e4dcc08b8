"""TA207 mismatched-pair on real Alpaca records with swapped responses."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from tuneahead_lint.checks import CheckContext
from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.ruleset.registry import find_rule

features = pytest.importorskip("tuneahead_lint.features")
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample" / "alpaca_sample.jsonl"


def ta207(path: Path, tmp_path: Path, **gap: float):
    """TA207 on the file at its defaults (or with ``min_gap=...`` in both the
    features and the rule): (features, hits)."""
    from tuneahead_lint.readers import read

    exs = list(read(str(path)))
    extra = {"mismatch_min_gap": gap["min_gap"]} if gap else {}
    cfg = features.FeatureConfig(cache_dir=str(tmp_path / "cache"), skip=frozenset({"base_model"}), **extra)
    result = features.compute_features(exs, cfg)
    rule = find_rule("TA207")
    options = {**rule.defaults(), **gap}
    return result, list(load_all()[rule.check](exs, CheckContext(options=options, features=result)))


def swapped_set(tmp_path: Path) -> tuple[Path, set[int]]:
    """alpaca_sample with the responses of 10 random pairs swapped: (file, swapped lines)."""
    recs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(3)
    idx = rng.sample(range(len(recs)), 20)
    for a, b in zip(idx[::2], idx[1::2]):
        recs[a]["output"], recs[b]["output"] = recs[b]["output"], recs[a]["output"]
    path = tmp_path / "swapped.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return path, {i + 1 for i in idx}


@pytest.mark.slow
def test_swapped_responses_are_found_and_clean_pairs_are_not(tmp_path):
    path, swapped = swapped_set(tmp_path)
    _, hits = ta207(path, tmp_path)
    found = {h.lines[0] for h in hits}
    assert found <= swapped  # no clean record
    assert len(found) >= 19  # measured: 19 of 20 (one swap lands between two related tasks)
    partner = {h.lines[0]: dict(h.evidence)["other_line"] for h in hits}
    assert all(v.startswith("line ") and int(v[5:]) in swapped for v in partner.values())


def strangers_set(tmp_path: Path) -> tuple[Path, set[int]]:
    """alpaca_sample where 10 records take the response of 10 other records
    that are then removed (the answered prompt is not in the file, as in the
    planted sets): (file, lines of the 10)."""
    recs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    idx = random.Random(3).sample(range(len(recs)), 20)
    for a, b in zip(idx[:10], idx[10:]):
        recs[a]["output"] = recs[b]["output"]
    kept = [i for i in range(len(recs)) if i not in set(idx[10:])]
    path = tmp_path / "strangers.jsonl"
    path.write_text("".join(json.dumps(recs[i]) + "\n" for i in kept), encoding="utf-8")
    return path, {n + 1 for n, i in enumerate(kept) if i in idx[:10]}


@pytest.mark.slow
def test_responses_to_prompts_outside_the_file_are_found_by_the_local_fit_gap(tmp_path):
    path, strangers = strangers_set(tmp_path)
    _, hits = ta207(path, tmp_path, min_gap=0.2)
    found = {h.lines[0] for h in hits}
    # measured: 9 of 10 (line 118, a proverb's meaning under another proverb
    # question, has a gap of 0.158) and one clean record, line 268 ("Give an
    # example of the voice command an assistant can understand." -> a bare
    # quoted command, gap 0.223)
    assert len(found & strangers) >= 9
    assert len(found - strangers) <= 1
    assert all("worse than the file's prompts and responses nearest" in dict(h.evidence)["reason"]
               for h in hits if h.lines[0] in strangers)


@pytest.mark.slow
def test_the_local_fit_gap_is_off_by_default(tmp_path):
    path, _ = strangers_set(tmp_path)
    result, hits = ta207(path, tmp_path)
    assert all(math.isnan(m.local_gap) for m in result.mismatches)
    assert not hits  # measured: the partner test alone finds none of the 10 (their prompts are gone)
