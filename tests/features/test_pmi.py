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
PLANTED = Path(__file__).resolve().parents[1] / "fixtures" / "planted16" / "planted.jsonl"


def _mismatch(gap: float, own: float = 0.1, z: float = -3.0) -> Mismatch:
    return Mismatch(("f.jsonl", 1), own, float("nan"), ("f.jsonl", 1), z, "k", pmi_gap=gap)


def test_gap_is_own_log_likelihood_per_token_minus_the_mean_of_the_others():
    score = PairScore(logp=np.array([-5.0, -10.0, -6.0, -8.0, -20.0, -10.0, -10.0, -10.0]),
                      tokens=np.full(8, 10.0), end_logp=np.full(8, np.nan))
    got = PairPmi.from_scores(np.array([3, 9]), score, width=4)
    assert np.allclose(got.gap, [-0.5 + 0.8, -2.0 + 1.0])
    assert got.at(9) == pytest.approx(-1.0) and np.isnan(got.at(4))


def test_reported_only_at_the_pmi_margin_and_never_unscored():
    assert unexplained(_mismatch(-0.06), 0.05) and misplaced(_mismatch(-0.06), 0.3, 2.0, 0.05, 0.2)
    assert not unexplained(_mismatch(-0.04), 0.05)
    assert not misplaced(_mismatch(float("nan")), 0.3, 2.0, 0.05, 0.2)


def test_model_vetoes_only_the_learned_habit_reasons_and_never_adds():
    assert judged_by_model("no terminal punctuation", -2.5, -6.0) == ""
    assert judged_by_model("no terminal punctuation", -12.4, -6.0) == "no terminal punctuation"
    assert judged_by_model("unclosed code block", -0.1, -6.0) == "unclosed code block"
    assert judged_by_model("", -30.0, -6.0) == ""
    assert judged_by_model("no terminal punctuation", None, -6.0) == "no terminal punctuation"


def test_open_endings_are_long_responses_without_a_sentence_or_fence_end():
    assert open_ending("Photosynthesis is the process by which plants use light to turn")
    assert open_ending("def f(x):\n    y = x + 1\n    z = compute(y, x, 2)\n    data = response.json()")
    assert not open_ending("Photosynthesis is the process by which plants use light to grow.")
    assert not open_ending("Here is the code:\n```\nprint('hello world and more words')\n```")
    assert not open_ending("Too short to judge")


def test_ta118_drops_a_learned_habit_flag_the_base_model_finds_finished():
    """Planted set A line 647 (a finished Dolly list answer without a full
    stop, flagged by the file's habit) and line 806 (a truncated plant):
    with the end-of-turn log-probabilities the full lint measured (-2.56 and
    -12.44), only the truncated one stays."""
    examples = [e for e in read(str(PLANTED)) if e.ok]
    by_line = {e.line: e for e in examples}
    ends = tuple(Ending((by_line[n].path, n), text_hash(by_line[n].prompt, by_line[n].response), v)
                 for n, v in ((647, -2.5575), (806, -12.442)))
    opts = find_rule("TA118").defaults()
    fast = {h.lines[0] for h in CHECKS["truncated_response"](examples, CheckContext(options=opts))}
    full = {h.lines[0] for h in CHECKS["truncated_response"](examples, CheckContext(
        options=opts, features=SimpleNamespace(endings=ends)))}
    assert {647, 806} <= fast and fast - full == {647}


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


def test_one_pass_serves_the_pmi_gaps_and_the_endings(monkeypatch):
    """Corpus.base_scores over real Alpaca records: the PMI rows (own prompt,
    then 3 others, head rows) come first, the end rows (tail rows) after
    them, and each result lands on its corpus row."""
    import tuneahead_lint.features.pmi as pmi
    from tests.rules.fakes import HashingEmbedder
    from tuneahead_lint.features.config import FeatureConfig
    from tuneahead_lint.features.corpus import Corpus

    calls = []

    def fake(prompts, responses, tails, cfg):  # noqa: ANN001, ANN202
        calls.append(list(tails))
        own = np.array([float(len(p) % 7) for p in prompts])
        return PairScore(-own, np.full(len(prompts), 2.0), np.array([-float(len(r)) for r in responses])), {}

    monkeypatch.setattr(pmi, "pair_scores", fake)
    examples = [e for e in read(str(SAMPLE)) if e.ok][:60]
    corpus = Corpus(examples, FeatureConfig(pmi_candidates=5, end_candidates=4, use_cache=False), HashingEmbedder())
    gaps, ends = corpus.base_scores
    cand, n_end = corpus.pmi_candidates, len(corpus.end_candidates)
    assert 0 < len(gaps.rows) <= 5 and n_end == 4
    assert calls == [[False] * (4 * len(gaps.rows)) + [True] * n_end]
    for r, others in zip(gaps.rows, corpus.nearest_other_prompts(gaps.rows)):
        logp = [-(len(corpus.prompts[j]) % 7) / 2 for j in (r, *others)]
        assert gaps.at(int(r)) == pytest.approx(logp[0] - np.mean(logp[1:]))
    assert set(cand) >= set(gaps.rows.tolist())
    for r in corpus.end_candidates:
        assert ends[int(r)] == -float(len(corpus.responses[r]))
