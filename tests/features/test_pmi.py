"""The base-model record evidence of the full lint: TA207's PMI gap and TA118's
end-of-turn probability (tuneahead_lint/features/pmi.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tuneahead_lint.checks.consistency  # noqa: F401  (registers the checks)
from tuneahead_lint.checks import CHECKS, CheckContext
from tuneahead_lint.checks.consistency import judged_by_model, misplaced, unexplained
from tuneahead_lint.features import Ending, Mismatch
from tuneahead_lint.features.pmi import PairPmi, PairScore, open_ending
from tuneahead_lint.readers import read
from tuneahead_lint.ruleset.registry import find_rule
from tuneahead_lint.types import text_hash

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample" / "alpaca_sample.jsonl"


def _mismatch(gap: float, own: float = 0.1, z: float = -3.0) -> Mismatch:
    return Mismatch(("f.jsonl", 1), own, float("nan"), ("f.jsonl", 1), z, "k", pmi_gap=gap)


def test_gap_is_own_log_likelihood_per_token_minus_the_mean_of_the_others():
    score = PairScore(logp=np.array([-5.0, -10.0, -6.0, -8.0, -20.0, -10.0, -10.0, -10.0]),
                      tokens=np.full(8, 10.0), end_logp=np.full(8, np.nan))
    got = PairPmi.from_scores(np.array([3, 9]), score, width=4)
    assert np.allclose(got.gap, [-0.5 + 0.8, -2.0 + 1.0])
    assert got.at(9) == pytest.approx(-1.0) and np.isnan(got.at(4))


def test_reported_only_at_the_pmi_margin_and_never_unscored():
    assert unexplained(_mismatch(-0.06), 0.05) and misplaced(_mismatch(-0.06), 0.3, 2.0, 0.05)
    assert not unexplained(_mismatch(-0.04), 0.05)
    assert not misplaced(_mismatch(float("nan")), 0.3, 2.0, 0.05)


def test_model_vetoes_only_the_learned_habit_reasons_and_adds_only_below_its_limit():
    assert judged_by_model("no terminal punctuation", -0.5, -8.0, -1.0) == ""
    assert judged_by_model("no terminal punctuation", -3.0, -8.0, -1.0) == "no terminal punctuation"
    assert judged_by_model("unclosed code block", -0.1, -8.0, -1.0) == "unclosed code block"
    assert judged_by_model("", -9.0, -8.0, -1.0).startswith("the base model expects it to go on")
    assert judged_by_model("", -7.0, -8.0, -1.0) == ""
    assert judged_by_model("no terminal punctuation", None, -8.0, -1.0) == "no terminal punctuation"


def test_open_endings_are_long_responses_without_a_sentence_or_fence_end():
    assert open_ending("Photosynthesis is the process by which plants use light to turn")
    assert open_ending("def f(x):\n    y = x + 1\n    z = compute(y, x, 2)\n    data = response.json()")
    assert not open_ending("Photosynthesis is the process by which plants use light to grow.")
    assert not open_ending("Here is the code:\n```\nprint('hello world and more words')\n```")
    assert not open_ending("Too short to judge")


def test_ta118_reads_the_end_of_turn_probability_of_the_full_lint():
    """Alpaca records 1-30: no text heuristic flags them; the one the model
    expects to go on is reported, the others are not."""
    examples = [e for e in read(str(SAMPLE)) if e.ok][:30]
    cut = examples[5]
    ends = (Ending((cut.path, cut.line), text_hash(cut.prompt, cut.response), -12.0),
            Ending((examples[6].path, examples[6].line), text_hash(examples[6].prompt, examples[6].response), -2.0))
    opts = find_rule("TA118").defaults()
    assert not list(CHECKS["truncated_response"](examples, CheckContext(options=opts)))
    hits = list(CHECKS["truncated_response"](examples, CheckContext(
        options=opts, features=SimpleNamespace(endings=ends))))
    assert [h.lines for h in hits] == [(cut.line,)]
    assert "log p(end of turn) -12.0" in dict(hits[0].evidence)["reason"]


@pytest.mark.slow
def test_base_model_prefers_the_true_prompt_and_ends_finished_responses():
    """Real Alpaca pairs: each response is likelier after its own prompt than
    after its neighbour's, and the end of turn is likelier after the whole
    response than after its first two thirds."""
    from tuneahead_lint.features.config import FeatureConfig
    from tuneahead_lint.features.pmi import pair_scores

    recs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:6]]
    prompts = [r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "") for r in recs]
    responses = [r["output"] for r in recs]
    cut = [r[:len(r) * 2 // 3].rstrip() for r in responses]
    cfg = FeatureConfig(use_cache=False)
    own, _ = pair_scores(prompts + prompts, responses + responses, [False] * 6 + [True] * 6, cfg)
    rolled, _ = pair_scores(prompts[1:] + prompts[:1], responses, [False] * 6, cfg)
    halves, _ = pair_scores(prompts, cut, [True] * 6, cfg)
    assert (own.logp[:6] > rolled.logp).all(), (own.logp, rolled.logp)
    assert (own.end_logp[6:] > halves.end_logp).sum() >= 5, (own.end_logp, halves.end_logp)
