"""TA2xx dataset checks and their rule files."""

from __future__ import annotations

import pytest

from tests.features.conftest import examples_of, planted_records, records
from tests.features.test_features import NO_PPL, OFF_DOMAIN
from tuneahead_lint.checks import CHECKS, CheckContext
from tuneahead_lint.checks import consistency, dataset  # noqa: F401 - registers the checks
from tuneahead_lint.features import FeatureConfig, FeatureResult, compute_features
from tuneahead_lint.ruleset.registry import load_rules
from tuneahead_lint.types import Measure

TA2 = {r.id: r for r in load_rules() if r.id.startswith("TA2")}


def _ctx(rule_id: str, features: FeatureResult | None, **options) -> CheckContext:
    return CheckContext(options={**TA2[rule_id].defaults(), **options}, features=features)


def _run(rule_id: str, examples, features, **options):
    rule = TA2[rule_id]
    hits = list(CHECKS[rule.check](examples, _ctx(rule_id, features, **options)))
    for hit in hits:  # every message renders from its evidence
        rule.message.format(**dict(hit.evidence))
    return hits


def test_rules_are_wired() -> None:
    assert set(TA2) >= {"TA201", "TA202", "TA203", "TA204", "TA205", "TA206"}
    for rule in TA2.values():
        assert rule.check in CHECKS, rule.id
        assert rule.category == "dataset"


def _features(**values: float) -> FeatureResult:
    refs = (("d.jsonl", 3), ("d.jsonl", 7))
    return FeatureResult(values=tuple((k, Measure(v, refs)) for k, v in values.items()),
                         clusters=(), outliers=(), samples=(("reference_ppl", 64),),
                         stats=(), timings=())


def test_checks_without_features_yield_nothing() -> None:
    exs = examples_of(records("alpaca_120.jsonl"))
    for rule_id in ("TA201", "TA202", "TA205", "TA206"):
        assert _run(rule_id, exs, None) == []


def test_short_responses_and_perplexity_thresholds() -> None:
    hits = _run("TA205", [], _features(response_tokens_mean=2.5))
    assert [(h.path, h.lines) for h in hits] == [("d.jsonl", (3, 7))]
    assert dict(hits[0].evidence) == {"mean": 2.5, "limit": 8.0}
    assert _run("TA205", [], _features(response_tokens_mean=40.0)) == []
    hits = _run("TA206", [], _features(reference_ppl_mean=250.0))
    assert TA2["TA206"].message.format(**dict(hits[0].evidence)) == \
        "mean reference perplexity 250.0 over 64 sampled records (limit 100.0)"
    assert _run("TA206", [], _features(reference_ppl_mean=float("nan"))) == []


def test_constant_instruction_on_medical_meadow() -> None:
    exs = examples_of(records("medical_meadow_40.jsonl"), "med.jsonl")
    (hit,) = _run("TA203", exs, None)
    assert hit.lines[0] == 1 and len(hit.lines) == 40
    assert dict(hit.evidence)["instruction"] == "answer this question truthfully"
    assert _run("TA203", examples_of(records("alpaca_120.jsonl")), None) == []


def test_constant_instruction_reads_the_feature_stages_group(tmp_path, monkeypatch) -> None:
    """With features, TA203 takes the group behind top_instruction_share and
    does not group the records again; the finding is the same as without."""
    from tuneahead_lint.features import corpus

    exs = examples_of(records("medical_meadow_40.jsonl"), "med.jsonl")
    exs += examples_of(records("alpaca_120.jsonl")[:20], "other.jsonl")
    features = compute_features(exs, FeatureConfig(cache_dir=str(tmp_path),
                                                   skip=frozenset({"tokenizer", "embeddings", "base_model"})))
    assert features.value("top_instruction_share") == pytest.approx(40 / 60)
    fast = _run("TA203", exs, None)

    def regroup(examples):
        raise AssertionError("TA203 grouped the records again")

    monkeypatch.setattr(corpus, "instruction_group", regroup)
    monkeypatch.setattr(dataset, "_instruction", regroup)  # nor digests them while streaming
    assert _run("TA203", exs, features) == fast and len(fast) == 1
    assert fast[0].path == "med.jsonl" and len(fast[0].lines) == 40 and not fast[0].related


def test_repetitive_response() -> None:
    recs = records("alpaca_120.jsonl")[:30]
    recs.append({"instruction": "Describe the sea.", "input": "",
                 "output": "The sea is blue and deep. " * 12})
    (hit,) = _run("TA204", examples_of(recs), None)
    assert hit.lines == (31,)
    assert dict(hit.evidence)["repetition"] == "91%"  # 6 distinct of 70 3-grams


@pytest.mark.slow
def test_near_duplicate_and_outlier_findings(tmp_path) -> None:
    recs, dups, _ = planted_records()
    cfg = FeatureConfig(cache_dir=str(tmp_path), skip=NO_PPL)
    exs = examples_of(recs)
    features = compute_features(exs, cfg)
    hits = _run("TA201", exs, features, skip_exact_copies=False)
    assert sorted(h.lines for h in hits) == sorted((a + 1, b + 1) for a, b in dups)
    first = min(hits, key=lambda h: h.lines)
    assert TA2["TA201"].message.format(**dict(first.evidence)) == \
        "near-duplicate cluster of 2 records (min cosine 1.0 >= 0.95); keep data.jsonl:4"
    assert len({h.key for h in hits}) == len(hits)
    assert all(h.records == h.lines for h in hits)  # one record per line here
    # By default the byte-identical copy (line 4 / 121) is left to TA106.
    assert sorted(h.lines for h in _run("TA201", exs, features)) == sorted(
        (a + 1, b + 1) for a, b in dups[1:])
    # A stricter threshold than the feature run drops the looser clusters.
    assert len(_run("TA201", exs, features, min_similarity=0.999, skip_exact_copies=False)) == 1

    med = examples_of(records("medical_meadow_40.jsonl") + OFF_DOMAIN)
    outliers = _run("TA202", med, compute_features(med, cfg))
    assert sorted(h.lines[0] for h in outliers) == list(range(41, 45))


def test_one_line_array_findings_name_records() -> None:
    from tuneahead_lint.features import DupCluster
    from tuneahead_lint.types import Example, Turn, text_hash

    texts = [("Name a colour", "Red"), ("Name a color", "Red."), ("Count to 3", "1 2 3")]
    exs = [Example("a.json", 1, i, "alpaca", (Turn("user", p), Turn("assistant", r)))
           for i, (p, r) in enumerate(texts)]
    keys = tuple(text_hash(p, r) for p, r in texts[:2])
    cluster = DupCluster((("a.json", 1), ("a.json", 1)), ("a.json", 1), 0.97, 0.97, keys)
    features = FeatureResult(values=(), clusters=(cluster,), outliers=(), samples=(), stats=(),
                             timings=())
    (hit,) = _run("TA201", exs, features)
    assert hit.lines == (1, 1) and hit.records == (1, 2)
