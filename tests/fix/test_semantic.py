"""Near-duplicates (TA201) and embedding outliers (TA202).

Fast tests feed ``plan_fix`` a hand-made feature result, so the mapping from
(path, line, content key) to records is checked without embeddings (one-line
arrays included). Slow tests embed the planted GSM8K set with the packaged
MiniLM (one embedding pass, cached for the others) and check the removal log
is exact and the output is the clean source slice; the Alpaca set's semantic
run is in benchmarks/bench_fix.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from .conftest import PLANTED, expected, expected_output, fix, logged, truth
from tuneahead_lint.fix import FixOptions, load, plan_fix
from tuneahead_lint.ruleset.registry import load_rules
from tuneahead_lint.types import text_hash

features = pytest.importorskip("tuneahead_lint.features")

A = '{"prompt": "Name a colour", "completion": "Red"}'
B = '{"prompt": "Name a colour!", "completion": "Red"}'
C = '{"prompt": "Name a fruit", "completion": "Apple"}'
D = '{"prompt": "zxqv 0x7f", "completion": "}}}{{{"}'


def _plan(tmp_path, monkeypatch, data: str, clusters=(), found=(), gaps=(), **options):
    path = tmp_path / "d.json"
    path.write_text(data)
    file = load(str(path))
    ex = {r.example.index: r.example for r in file.records}
    ref = lambda i: (str(path), ex[i].line)  # noqa: E731
    key = lambda i: text_hash(ex[i].prompt, ex[i].response)  # noqa: E731
    fake = SimpleNamespace(
        clusters=tuple(features.DupCluster(tuple(ref(i) for i in c), ref(c[0]), 0.97, 0.99,
                                           tuple(key(i) for i in c)) for c in clusters),
        outliers=tuple(features.Outlier(ref(i), 1.2, z, rz, key(i)) for i, z, rz in found),
        mismatches=tuple(features.Mismatch(ref(i), 0.05, float("nan"), ref(i), -2.5, key(i), local_gap=g)
                         for i, g in gaps),
        stats=(("embedding", {"model": "fake"}),))
    monkeypatch.setattr("tuneahead_lint.fix.semantic.feature_evidence", lambda *a, **k: fake)
    options.setdefault("lexical_dedup", False)  # A and B are lexical near-copies too: TA121 would go first
    return plan_fix([file], FixOptions(**options), load_rules())


def test_cluster_members_on_one_line_are_told_apart(tmp_path, monkeypatch):
    plan = _plan(tmp_path, monkeypatch, f"[{A}, {C}, {B}]", clusters=[(0, 2)])
    assert [(a.record, a.rule_id) for a in plan.actions] == [(3, "TA201")]
    assert plan.actions[0].detail == "near-duplicate of record 1 (cosine 0.970-0.990 in a cluster of 2, >= 0.95)"


def test_outlier_limit_and_method(tmp_path, monkeypatch):
    data = f"{A}\n{C}\n{D}\n"
    plan = _plan(tmp_path, monkeypatch, data, found=[(2, 4.5, 6.0), (1, 2.5, 3.5)])
    assert [(a.line, a.rule_id) for a in plan.actions] == [(3, "TA202")]
    assert plan.actions[0].detail.startswith("z=4.50 > 3 (cosine distance 1.200 to its 10th nearest record")
    robust = _plan(tmp_path, monkeypatch, data, found=[(2, 4.5, 6.0), (1, 2.5, 3.5)],
                   outlier_method="robust")
    assert [a.line for a in robust.actions] == [2, 3]
    high = _plan(tmp_path, monkeypatch, data, found=[(2, 4.5, 6.0)], outlier_sigma=5.0)
    assert high.actions == ()


def test_mismatched_drops_records_at_the_local_fit_gap_limit(tmp_path, monkeypatch):
    data, gaps = f"{A}\n{C}\n{D}\n", [(1, 0.15), (2, 0.31)]
    on = {"TA207": {"min_gap": 0.2}}
    plan = _plan(tmp_path, monkeypatch, data, gaps=gaps, mismatched=True, rule_options=on)
    assert [(a.line, a.rule_id) for a in plan.actions] == [(3, "TA207")]
    assert "fit each other 0.310 (cosine) worse than the file's prompts and responses nearest" in plan.actions[0].detail
    looser = _plan(tmp_path, monkeypatch, data, gaps=gaps, mismatched=True, rule_options={"TA207": {"min_gap": 0.1}})
    assert [a.line for a in looser.actions] == [2, 3]
    assert not _plan(tmp_path, monkeypatch, data, gaps=gaps, mismatched=True).actions  # min_gap 0: the test is off
    assert not _plan(tmp_path, monkeypatch, data, gaps=gaps, rule_options=on).actions  # --mismatched is opt-in


def test_switches_turn_semantic_remedies_off(tmp_path, monkeypatch):
    kw = dict(clusters=[(0, 1)], found=[(2, 9.0, 9.0)])
    data = f"{A}\n{B}\n{D}\n"
    assert [a.rule_id for a in _plan(tmp_path, monkeypatch, data, **kw, semantic_dedup=False).actions] == ["TA202"]
    assert [a.rule_id for a in _plan(tmp_path, monkeypatch, data, **kw, outliers=False).actions] == ["TA201"]
    assert _plan(tmp_path, monkeypatch, data, **kw, fast=True).actions == ()


def test_records_already_dropped_are_not_logged_twice(tmp_path, monkeypatch):
    """An empty record is dropped first (TA101): the feature run never sees
    it, and a cluster naming a dropped representative keeps the next member."""
    empty = '{"prompt": "Name a colour", "completion": " "}'
    plan = _plan(tmp_path, monkeypatch, f"{empty}\n{A}\n{B}\n", clusters=[(1, 2)])
    assert [(a.line, a.rule_id) for a in plan.actions] == [(1, "TA101"), (3, "TA201")]


# --- with embeddings -------------------------------------------------------------------


@pytest.mark.slow
def test_gsm8k_planted_log_is_exact(tmp_path, feature_cache):
    out = tmp_path / "clean.jsonl"
    result = fix([PLANTED / "gsm8k_planted.jsonl"], output=str(out))
    assert logged(result.plan.actions) == expected("gsm8k_planted.jsonl", semantic=True)
    assert out.read_bytes() == expected_output("gsm8k_planted.jsonl", semantic=True)
    partners = {t["record"]: t["partner"] for t in truth("gsm8k_planted.jsonl") if t["rule"] == "TA121"}
    for a in result.plan.actions:
        if a.rule_id == "TA121":
            assert a.detail.startswith(f"near-duplicate of line {partners[a.record]} (word 3-gram Jaccard ")
    counts = result.plan.counts()
    # the random-character and the Chinese plants go to TA107 / TA110 before the outlier step;
    # the three near-copies are lexical, so TA121 drops them before the embedding step
    assert (counts["drop TA121 lexical-near-duplicates"], counts["drop TA202 embedding-outliers"],
            counts["drop TA107 gibberish"], counts["drop TA110 off-language"]) == (3, 2, 1, 1)
    assert "drop TA201 near-duplicates" not in counts


@pytest.mark.slow
def test_dedup_threshold_is_applied(tmp_path, feature_cache):
    """Planted near-duplicate cosines are 0.995, 0.9997 and 0.9998: at 0.999
    the first is kept."""
    result = fix([PLANTED / "gsm8k_planted.jsonl"], dedup_threshold=0.999, outliers=False,
                 lexical_dedup=False, output=str(tmp_path / "o.jsonl"))
    near = sorted(a.record for a in result.plan.actions if a.rule_id == "TA201")
    assert near == [50, 145]


@pytest.mark.slow
def test_semantic_fix_is_deterministic(tmp_path, feature_cache):
    runs = []
    for i in range(2):
        out = tmp_path / f"o{i}.jsonl"
        result = fix([PLANTED / "gsm8k_planted.jsonl"], output=str(out))
        runs.append((out.read_bytes(), result.plan.actions))
    assert runs[0] == runs[1]


def test_without_the_feature_stage_semantic_remedies_are_skipped_loudly(tmp_path, monkeypatch):
    from tuneahead_lint.fix.semantic import SemanticUnavailable

    def missing(*args, **kwargs):
        raise SemanticUnavailable("dataset features are not installed")
    monkeypatch.setattr("tuneahead_lint.fix.semantic.feature_evidence", missing)
    path = tmp_path / "d.jsonl"
    path.write_text(f"{A}\n{A}\n")
    plan = plan_fix([load(str(path))], FixOptions(), load_rules())
    assert [a.rule_id for a in plan.actions] == ["TA106"]
    assert plan.notes == ("near-duplicates and outliers: skipped (dataset features are not installed)",)


def test_unknown_embedder_is_a_usage_error(tmp_path, capsys):
    from tuneahead_lint.cli import main

    path = tmp_path / "d.jsonl"
    path.write_text(f"{A}\n{C}\n")
    code = main(["fix", str(path), "-o", str(tmp_path / "o.jsonl"), "--embedder", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and "need the embedder" in err and len(err.strip().splitlines()) == 1
