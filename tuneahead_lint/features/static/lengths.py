"""Global descriptors: size, token lengths, length ratio, character mix, code.

Token lengths use the base model's tokenizer (no special tokens). Character
ratios count over prompt and response text together.
"""

from __future__ import annotations

import re

import numpy as np

from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.types import Measure

_SPECIAL = re.compile(r"[^\w\s]|_")
_DIGIT = re.compile(r"\d")
_NONSPACE = re.compile(r"\S")
_FENCE = re.compile(r"```")
# One such line is enough to call a text code.
_STRONG = re.compile(
    r"^\s*(def \w+\(|class \w+[:(]|import \w|from [\w.]+ import |#include\s*<|"
    r"public (static |class )|function \w*\s*\(|console\.log\(|System\.out\.|"
    r"SELECT .+ FROM |CREATE TABLE |<\?php|<(div|html|body|script)\b|#!/)", re.M | re.I)
# Two such lines are needed: statements ending in ; { } or calls/assignments.
_WEAK = re.compile(r"(;|\{|\})\s*$|^\s*\w+(\.\w+)*\s*=\s*\S.*[()\[\]]|^\s*(return|for|while|if)\b.*[:{(]\s*$",
                   re.M)


def record_count(c: Corpus) -> Measure:
    return Measure(float(len(c)), detail="valid records (unreadable ones excluded)")


def _stat(values: np.ndarray, fn) -> float:
    return float(fn(values)) if len(values) else float("nan")


def _longest(c: Corpus, values: np.ndarray) -> tuple[tuple[str, int], ...]:
    return c.refs_at(np.argsort(-values, kind="stable"))


def prompt_tokens_mean(c: Corpus) -> Measure:
    p, _ = c.token_counts
    return Measure(_stat(p, np.mean), _longest(c, p), "longest prompts as evidence")


def prompt_tokens_std(c: Corpus) -> Measure:
    p, _ = c.token_counts
    return Measure(_stat(p, np.std), _longest(c, p))


def response_tokens_mean(c: Corpus) -> Measure:
    _, r = c.token_counts
    shortest = c.refs_at(np.argsort(r, kind="stable"))
    return Measure(_stat(r, np.mean), shortest, "shortest responses as evidence")


def response_tokens_std(c: Corpus) -> Measure:
    _, r = c.token_counts
    return Measure(_stat(r, np.std), _longest(c, r))


def output_input_ratio(c: Corpus) -> Measure:
    """Mean response tokens / mean prompt tokens (ratio of means: stable when
    some prompts are nearly empty)."""
    p, r = c.token_counts
    if not len(p) or p.sum() == 0:
        return Measure(float("nan"), detail="no prompt tokens")
    per_record = r / np.maximum(p, 1)
    return Measure(float(r.mean() / p.mean()), _longest(c, per_record),
                   "records with the largest response/prompt ratio as evidence")


def _char_share(c: Corpus, pattern: re.Pattern[str]) -> tuple[float, np.ndarray]:
    hits = np.array([len(pattern.findall(p)) + len(pattern.findall(r))
                     for p, r in zip(c.prompts, c.responses)], np.float64)
    chars = np.array([len(_NONSPACE.findall(p)) + len(_NONSPACE.findall(r))
                      for p, r in zip(c.prompts, c.responses)], np.float64)
    total = chars.sum()
    return (float(hits.sum() / total) if total else float("nan")), hits / np.maximum(chars, 1)


def special_char_ratio(c: Corpus) -> Measure:
    """Share of non-space characters that are neither letters nor digits."""
    value, per_record = _char_share(c, _SPECIAL)
    return Measure(value, _longest(c, per_record), "records with the highest share as evidence")


def digit_ratio(c: Corpus) -> Measure:
    """Share of non-space characters that are digits (arithmetic, tables)."""
    value, per_record = _char_share(c, _DIGIT)
    return Measure(value, _longest(c, per_record), "records with the highest share as evidence")


def looks_like_code(text: str) -> bool:
    """A fenced block, one unmistakable code line, or two statement-like lines."""
    if _FENCE.search(text) or _STRONG.search(text):
        return True
    return len(_WEAK.findall(text)) >= 2


def code_ratio(c: Corpus) -> Measure:
    """Share of records whose prompt or response contains code."""
    flags = [looks_like_code(p) or looks_like_code(r) for p, r in zip(c.prompts, c.responses)]
    rows = [i for i, f in enumerate(flags) if f]
    value = len(rows) / len(c) if len(c) else float("nan")
    return Measure(value, c.refs_at(rows), f"{len(rows)} records contain code")
