"""Digest-keyed caches of the record checks: same results, each distinct
text computed once, bounded, and the texts themselves not kept."""

from __future__ import annotations

import json
from pathlib import Path

from tuneahead_lint.checks import CheckContext
from tuneahead_lint.checks.record import TokenBudget
from tuneahead_lint.checks.textutil import DigestMemo, digest_cache, fluent_english, identify
from tuneahead_lint.types import Example, Turn

SLICE = Path(__file__).resolve().parent / "fixtures" / "features" / "alpaca_120.jsonl"


def _examples(copies: int = 3) -> list[Example]:
    recs = [json.loads(line) for line in SLICE.read_text(encoding="utf-8").splitlines()] * copies
    return [Example("data.jsonl", i + 1, i, "alpaca", (Turn("user", r["instruction"]), Turn("assistant", r["output"])))
            for i, r in enumerate(recs)]


def test_digest_cache_returns_what_the_function_returns_and_stays_bounded() -> None:
    calls: list[str] = []

    @digest_cache(maxsize=200)
    def words(text: str, lower: bool) -> int:
        calls.append(text)
        return len((text.lower() if lower else text).split())

    texts = [ex.response for ex in _examples(3)]
    assert [words(t, True) for t in texts] == [len(t.lower().split()) for t in texts]
    assert sorted(calls) == sorted(set(texts))  # each of the 120 distinct texts once
    assert words(texts[0], False) == len(texts[0].split()) and len(calls) == len(set(texts)) + 1
    memo = DigestMemo(3)
    for k in range(10):
        memo.get_or(k, lambda k=k: k)
    assert len(memo) <= 3


def test_cached_language_helpers_agree_with_a_fresh_call() -> None:
    texts = [ex.response for ex in _examples(1)]
    first = [(identify(t), fluent_english(t)) for t in texts]
    again = [(identify(t), fluent_english(t)) for t in texts]
    assert first == again
    assert [fluent_english.__wrapped__(t) for t in texts] == [f for _, f in first]


class _Tokenizer:
    """Counts the texts it is asked to encode (a whitespace 'tokenizer')."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode_batch(self, texts, add_special_tokens=False):
        self.texts += texts
        return [type("E", (), {"ids": t.split()})() for t in texts]


def test_token_budget_tokenizes_each_distinct_long_text_once() -> None:
    tok = _Tokenizer()
    check = TokenBudget(CheckContext(options={"max_prompt_tokens": 40, "max_response_tokens": 40}, tokenizer=tok))
    examples = _examples(3)
    for ex in examples:
        check.record(ex)
    hits = list(check.finish())
    long = {t for ex in examples for t in (ex.prompt, ex.response) if len(t) > 40}
    assert sorted(tok.texts) == sorted(long)
    over = {ex.index for ex in examples if len(ex.response.split()) > 40}
    assert over and {r - 1 for h in hits if dict(h.evidence)["part"] == "response" for r in h.records} == over
