"""The multiple-choice suite: loaders, item order, slices, and scoring that
gathers only continuation positions yet equals the full-logits answer."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.meta.conftest import EVAL
from tuneahead_lint.meta import evalsuite as E

SHARED_EVAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "eval"


@pytest.mark.parametrize("name", sorted(E.BENCHMARKS))
def test_every_benchmark_loads_from_the_fixture(name):
    items = E.load_benchmark(name, EVAL)
    assert len(items) == 24
    assert [it.key for it in items] == sorted(it.key for it in items)  # content-hash order
    for it in items:
        assert 0 <= it.gold < len(it.continuations)
        assert len(it.contexts) in (1, len(it.continuations))
        assert all(c.startswith(" ") for c in it.continuations)


def test_formats_are_cloze():
    arc = E.load_benchmark("arc_easy", EVAL, 1)[0]
    assert arc.contexts[0].startswith("Question: ") and arc.contexts[0].endswith("\nAnswer:")
    wino = E.load_benchmark("winogrande", EVAL, 1)[0]
    assert len(wino.contexts) == 2 and wino.continuations[0] == wino.continuations[1]
    mmlu = E.load_benchmark("mmlu", EVAL, 1)[0]
    assert "The following is a question about" in mmlu.contexts[0]
    assert len(mmlu.continuations) == 4 and not any(c.strip() in "ABCD" for c in mmlu.continuations)


def test_n_items_is_a_prefix_and_a_cap():
    five = E.load_benchmark("piqa", EVAL, 5)
    assert five == E.load_benchmark("piqa", EVAL)[:5]
    assert len(E.load_benchmark("piqa", EVAL, 10_000)) == 24


def test_shipped_slice_starts_with_the_fixture_items():
    # Both were cut from the same files by content-hash order.
    shipped = E.shipped_eval_dir()
    for name in E.BENCHMARKS:
        assert E.load_benchmark(name, shipped, 24) == E.load_benchmark(name, EVAL)
    size = sum(f.stat().st_size for f in shipped.rglob("*") if f.is_file())
    assert size < 2_000_000


@pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="needs ../shared/data/eval")
def test_shipped_slice_equals_the_full_files_first_items():
    for name in E.BENCHMARKS:
        assert E.load_benchmark(name, E.shipped_eval_dir(), 200) == E.load_benchmark(name, SHARED_EVAL, 200)


def test_write_slice_roundtrip(tmp_path):
    written = E.write_slice(EVAL, tmp_path, 6)
    assert set(written.values()) == {6}
    for name in E.BENCHMARKS:
        assert E.load_benchmark(name, tmp_path) == E.load_benchmark(name, EVAL, 6)


def test_unknown_benchmark_and_missing_file(tmp_path):
    with pytest.raises(E.EvalError, match="unknown benchmark"):
        E.load_benchmark("hellaswag", EVAL)
    with pytest.raises(E.EvalError, match="not found"):
        E.load_benchmark("arc_easy", tmp_path)


def _full_logits_scores(model, tok, items):
    """Reference: whole-vocabulary log-softmax over every position."""
    import torch

    out = []
    with torch.no_grad():
        for it in items:
            row = []
            for j, cont in enumerate(it.continuations):
                ctx = tok(it.context(j), add_special_tokens=False)["input_ids"]
                c = tok(cont, add_special_tokens=False)["input_ids"]
                logits = model(input_ids=torch.tensor([ctx + c])).logits[0].float()
                lp = torch.log_softmax(logits, -1)
                row.append(float(sum(lp[len(ctx) - 1 + k, t] for k, t in enumerate(c))))
            out.append(row)
    return out


@pytest.mark.parametrize("name", ["arc_easy", "piqa", "winogrande", "boolq", "truthfulqa_mc1"])
@pytest.mark.parametrize("batch_tokens", [256, 8192])  # one item per shared forward, then many
def test_scoring_matches_full_logits_with_and_without_prefix_sharing(tiny_lm, name, batch_tokens):
    model, tok = tiny_lm
    items = E.load_benchmark(name, EVAL, 4 if batch_tokens == 256 else 10)
    ref = _full_logits_scores(model, tok, items)
    for share in (False, True):
        got = E.continuation_logprobs(model, tok, items, "cpu", batch_tokens=batch_tokens, share_prefix=share,
                                      head_rows=7)
        for a, b in zip(got, ref):
            assert a == pytest.approx(b, abs=2e-4)


def test_accuracy_and_normalisation():
    it = E.MCItem("arc_easy", "k", ("Q",), (" a", " much longer answer"), 1)
    s = E.accuracy([it], [[-2.0, -3.0]])
    assert (s.acc, s.acc_norm) == (0.0, 1.0)  # -3/19 bytes beats -2/2 bytes
    assert s.score == s.acc  # every benchmark is scored by acc
    assert s.correct == (0,)  # per-item correctness under the score metric


def test_nan_scores_count_as_wrong():
    it = E.MCItem("boolq", "k", ("Q",), (" no", " yes"), 0)
    s = E.accuracy([it, it], [[math.nan, math.nan], [math.nan, -1.0]])
    assert s.acc == 0.0


def test_evaluate_returns_every_benchmark(tiny_lm):
    model, tok = tiny_lm
    suite = {n: E.load_benchmark(n, EVAL, 3) for n in ("arc_easy", "mmlu")}
    scores = E.evaluate(model, tok, suite, "cpu")
    assert set(scores) == {"arc_easy", "mmlu"}
    assert all(s.n == 3 and 0 <= s.score <= 1 for s in scores.values())
    assert E.suite_hash(suite) != E.suite_hash({"arc_easy": suite["arc_easy"]})
