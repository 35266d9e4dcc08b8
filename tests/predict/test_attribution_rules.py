"""Attribution triggers (TA4xx): thresholds in points, direction, catch-all,
predicted failure, out-of-distribution. The predictor output is built by
hand here; tests/predict/test_lint_predict.py runs the real stage."""

from __future__ import annotations

import fnmatch
from dataclasses import replace

import pytest

from tuneahead_lint.config import Config
from tuneahead_lint.predict.table import HPARAMS
from tuneahead_lint.ruleset.evaluate import RESERVED_ATTRIBUTIONS, Context, evaluate
from tuneahead_lint.ruleset.registry import load_rules
from tuneahead_lint.types import (
    Attribution, Example, GuardResult, ModelSkill, Prediction, PredictionDetail, PredictOutcome, Turn,
)

RULES = load_rules()
EXAMPLES = (Example("data.jsonl", 1, 0, "alpaca", (Turn("user", "Hi"), Turn("assistant", "Hello"))),)


def outcome(attributions, score=0.5, min_score=None, far=False, refs=None):
    threshold = min_score if min_score is not None else 0.48
    high = score + 0.02
    verdict = "uncertain" if far else ("no-go" if high < threshold else "go")
    pred = Prediction(score, score - 0.02, high, "m/full", 0.48, not far, verdict)
    guard = GuardResult(1.0, 1.0, 3.2 if far else 0.4,
                        (("code_ratio", 6.1), ("record_count", -0.2)) if far else (), ())
    detail = PredictionDetail(0.52, tuple(attributions), 100.0, "m", min_score=min_score, threshold=threshold,
                              threshold_source="min-score" if min_score is not None else "base model",
                              guard=guard)
    return PredictOutcome(pred, detail, refs or {})


def run(out, config=None):
    ctx = Context(EXAMPLES, frozenset({"records", "predictor"}), {}, prediction=out)
    findings, _ = evaluate(RULES, Config(None, config or {"select": ["TA4"]}), ctx)
    return findings


def attr(feature, points, value=0.3, lo=0.0, hi=0.1, mid=0.05):
    return Attribution(feature, value, points, lo, hi, mid)


def test_feature_rule_fires_past_its_points_threshold():
    found = run(outcome([attr("near_dup_ratio", -2.5), attr("embedding_outlier_ratio", -0.5)]))
    assert [(f.rule_id, dict(f.evidence)["feature"]) for f in found] == [("TA402", "near_dup_ratio")]
    f = found[0]
    assert "near_dup_ratio = 0.3 costs 2.5 points" in f.message
    assert "successful runs: 0 to 0.1, median 0.05" in f.message
    assert f.remedy.startswith("Deduplicate semantically")


def test_points_option_changes_the_threshold():
    out = outcome([attr("near_dup_ratio", -2.5)])
    cfg = {"select": ["TA4"], "rules": {"TA402": {"points": 3.0}}}
    assert not [f for f in run(out, cfg) if f.rule_id == "TA402"]


def test_direction_sends_the_other_side_to_the_catch_all():
    small = attr("record_count", -4.0, value=64, lo=500, hi=2000, mid=1000)
    large = attr("record_count", -4.0, value=5000, lo=500, hi=2000, mid=1000)
    assert [f.rule_id for f in run(outcome([small]))] == ["TA405"]
    assert [f.rule_id for f in run(outcome([large]))] == ["TA499"]


def test_positive_attributions_never_fire():
    assert run(outcome([attr("near_dup_ratio", 5.0), attr("lora_r", 3.0)])) == []


def test_catch_all_takes_unclaimed_features():
    found = run(outcome([attr("lora_r", -1.5, value=4, lo=8, hi=32, mid=16)]))
    assert [f.rule_id for f in found] == ["TA499"]


def test_predicted_failure_and_its_evidence():
    found = run(outcome([], score=0.40, min_score=0.45))
    assert [f.rule_id for f in found] == ["TA401"]
    ev = dict(found[0].evidence)
    assert ev["below"] == pytest.approx(3.0) and ev["unit"] == "points" and ev["threshold"] == 0.45  # upper end 0.42
    assert found[0].severity.value == "error" and "below min-score 0.45" in found[0].message
    assert found[0].message.endswith("grouped-CV skill never measured: do not rely on the prediction")


def test_predicted_failure_of_a_loss_target_is_in_nats():
    """A v2 loss target (y_indomain: nats, 1 per target unit) says nats, not points."""
    out = outcome([], score=0.40, min_score=0.45)
    out = replace(out, detail=replace(out.detail, points_per_unit=1.0, unit="nats", target="y_indomain"))
    message = run(out)[0].message
    assert "its upper end is 0.03 nats below min-score 0.45" in message and "points" not in message


def test_attribution_rules_never_read_nats_as_points():
    """A loss gate target's SHAP attributions are in nats; the rules' points
    threshold and "costs N points" message do not apply to them."""
    out = outcome([attr("near_dup_ratio", -2.5)])
    assert [f.rule_id for f in run(out)] == ["TA402"]
    nats = replace(out, detail=replace(out.detail, points_per_unit=1.0, unit="nats", target="y_indomain"))
    assert run(nats) == []


@pytest.mark.parametrize(("skill", "se", "words"), [
    (0.57, 0.14, "grouped-CV skill +0.57 ± 0.14;"),
    (0.02, 0.11, "grouped-CV skill +0.02 ± 0.11, not above its standard error: do not rely on the prediction"),
])
def test_predicted_failure_states_the_models_skill(skill, se, words):
    out = outcome([], score=0.40, min_score=0.45)
    out = replace(out, detail=replace(out.detail, model_skill=ModelSkill(skill=skill, skill_se=se)))
    assert (run(out)[0].message + ";").count(words) == 1


def test_predicted_failure_against_the_base_model_by_default():
    found = run(outcome([], score=0.44))  # interval 0.42-0.46, base model 0.48
    assert [f.rule_id for f in found] == ["TA401"]
    assert "its upper end is 2 points below the base model's score 0.48" in found[0].message
    assert run(outcome([], score=0.47)) == []  # the interval reaches the base model: go


def test_out_of_distribution_reports_and_does_not_gate():
    out = outcome([], score=0.40, min_score=0.45, far=True)
    assert out.prediction.verdict == "uncertain"
    found = run(out)
    assert [f.rule_id for f in found] == ["TA407"]
    assert "3.2x farther" in found[0].message and "code_ratio (+6.1 SD)" in found[0].message


def test_findings_point_at_the_feature_evidence_lines():
    refs = {"embedding_outlier_ratio": (("data.jsonl", 7), ("data.jsonl", 9), ("other.jsonl", 3))}
    f = run(outcome([attr("embedding_outlier_ratio", -2.0)], refs=refs))[0]
    assert (f.path, f.lines, f.related) == ("data.jsonl", (7, 9), (("other.jsonl", 3),))


def _known_features():
    from tuneahead_lint.features import FEATURE_NAMES
    from tuneahead_lint.probe import CONTRAST_FEATURES, PROBE_FEATURES

    return (*FEATURE_NAMES, *(s.name for s in PROBE_FEATURES), *(n for n, _ in CONTRAST_FEATURES),
            *sorted(HPARAMS))


def test_each_known_feature_has_at_most_one_specific_rule():
    patterns = {r.id: dict(r.trigger)["attribution"] for r in RULES
                if "attribution" in dict(r.trigger)}
    specific = {k: p for k, p in patterns.items() if p != "*" and p not in RESERVED_ATTRIBUTIONS}
    for name in _known_features():
        owners = [k for k, p in specific.items()
                  if any(fnmatch.fnmatchcase(name, q.strip()) for q in p.split("|"))]
        assert len(owners) <= 1, (name, owners)


def test_attribution_rules_have_points_and_a_catch_all():
    ids = {r.id for r in RULES if r.id.startswith("TA4")}
    assert {"TA401", "TA407", "TA499"} <= ids
    for r in RULES:
        trig = dict(r.trigger)
        if "attribution" in trig and trig["attribution"] not in RESERVED_ATTRIBUTIONS:
            assert r.defaults()["points"] > 0 and "below" not in trig, r.id  # points is the one threshold
            assert r.requires == ("predictor",)
