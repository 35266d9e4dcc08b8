"""Lexical and word-distribution descriptors.

Words are lower-cased Unicode ``\\w+`` runs (``Corpus.prompt_words``); no
stemming, no stop-word list. CJK text is not segmented (a run of Han
characters is one word), which inflates type counts for Chinese data.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from tuneahead_lint.features.corpus import MAX_REFS, Corpus
from tuneahead_lint.types import Measure

STTR_SEGMENT = 1000
REPETITION_N = 3
GROUNDEDNESS_N = 2
LOOP_DISTINCT = 4
WORDFREQ_FLOOR = 1e-8  # wordfreq's own resolution; unseen words get this frequency

_SENTENCE = re.compile(r"[.!?;]+\s+|\n+")
_CLAUSE_MARKERS = frozenset(
    "after although as because before if once since than that though unless until "
    "when whenever where whereas wherever whether which while who whom whose why how".split())


def type_token_ratio(c: Corpus) -> Measure:
    """Standardised TTR: mean distinct/total words over consecutive
    1,000-word segments of all text (prompts then responses, record order);
    comparable across dataset sizes, unlike a raw corpus TTR."""
    words = [w for p, r in zip(c.prompt_words, c.response_words) for w in (*p, *r)]
    if not words:
        return Measure(float("nan"), detail="no words")
    segments = [words[i:i + STTR_SEGMENT] for i in range(0, len(words), STTR_SEGMENT)]
    if len(segments) > 1 and len(segments[-1]) < STTR_SEGMENT:
        segments.pop()
    ttr = float(np.mean([len(set(s)) / len(s) for s in segments]))
    return Measure(ttr, detail=f"{len(segments)} segments of {STTR_SEGMENT} words")


def ngram_repetition(words: Sequence[str], n: int = REPETITION_N) -> float | None:
    """rep-n (Welleck et al. 2020): 1 - distinct n-grams / n-grams; ``None``
    when the text has no n-gram."""
    grams = list(zip(*(words[k:] for k in range(n))))
    if not grams:
        return None
    return 1.0 - len(set(grams)) / len(grams)


def verbatim_loop(words: Sequence[str], min_unit: int = 5, max_unit: int = 120) -> tuple[int, float]:
    """(unit, copies) of the passage of ``min_unit``..``max_unit`` words that
    ``words`` repeats back to back most often (a decoding loop); (0, 0.0) when
    none repeats. A passage of fewer than :data:`LOOP_DISTINCT` distinct words
    (table cells, markup) does not count."""
    best = (0, 0.0)
    for unit in range(min_unit, min(max_unit, len(words) // 2) + 1):
        for start, run in _repeat_runs(words, unit):
            copies = (run + unit) / unit
            if copies > best[1] and len(set(words[start:start + unit])) >= LOOP_DISTINCT:
                best = (unit, copies)
    return best


def _repeat_runs(words: Sequence[str], unit: int) -> Iterator[tuple[int, int]]:
    """(start, length) of each maximal run of positions i with
    ``words[i] == words[i + unit]``."""
    start = run = 0
    for i in range(len(words) - unit):
        if words[i] == words[i + unit]:
            start, run = (i, 1) if run == 0 else (start, run + 1)
        elif run:
            yield start, run
            run = 0
    if run:
        yield start, run


def response_ngram_repetition(c: Corpus) -> Measure:
    """Mean rep-3 over responses with at least one word 3-gram."""
    reps = [ngram_repetition(w) for w in c.response_words]
    rows = [i for i, r in enumerate(reps) if r is not None]
    if not rows:
        return Measure(float("nan"), detail="no response has 3 words")
    vals = np.array([reps[i] for i in rows])
    worst = [rows[i] for i in np.argsort(-vals, kind="stable")]
    return Measure(float(vals.mean()), c.refs_at(worst), "most repetitive responses as evidence")


def clause_depth(text: str) -> int:
    """Proxy for parse depth (no parser): per sentence, 1 + subordinating or
    relative clause markers + deepest bracket nesting; the max over sentences."""
    best = 0
    for sentence in _SENTENCE.split(text):
        words = re.findall(r"\w+", sentence.lower())
        if not words:
            continue
        markers = sum(w in _CLAUSE_MARKERS for w in words)
        best = max(best, 1 + markers + _bracket_depth(sentence))
    return best


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}" and depth:
            depth -= 1
    return deepest


def instruction_clause_depth_proxy(c: Corpus) -> Measure:
    """Mean :func:`clause_depth` of prompts, a named proxy for parse depth."""
    if not len(c):
        return Measure(float("nan"))
    depth = np.array([clause_depth(p) for p in c.prompts], np.float64)
    deepest = c.refs_at(np.argsort(-depth, kind="stable"))
    return Measure(float(depth.mean()), deepest,
                   "proxy, not a parse: 1 + clause markers + bracket nesting, max over sentences")


def top_instruction_share(c: Corpus) -> Measure:
    """Share of records whose instruction (first prompt line) is the most
    common one: 1.0 when every record repeats one instruction."""
    g = c.instruction_group
    if g is None:
        return Measure(float("nan"))
    count = len(g.members)
    return Measure(count / len(c), g.members[:MAX_REFS], f"{count} records start with {g.instruction[:80]!r}")


@functools.lru_cache(maxsize=2)
def reference_frequencies(lang: str = "en") -> dict[str, float]:
    """wordfreq's word -> frequency table (sums to about 1), built from
    wordfreq's packed lists (0.2 s). Nothing is cached on disk: the former
    pickle copy loaded no faster and let a file planted in the cache run code."""
    from wordfreq import get_frequency_dict

    return get_frequency_dict(lang, wordlist="best")


def vocab_kl_divergence(c: Corpus) -> Measure:
    """KL(P_data || Q_ref) in nats: P = word unigram distribution of prompts
    and responses, Q = wordfreq English frequencies (unseen words get 1e-8).
    High for jargon, code, templates or another language."""
    counts = Counter(w for ws in (*c.prompt_words, *c.response_words) for w in ws)
    total = sum(counts.values())
    if not total:
        return Measure(float("nan"), detail="no words")
    ref = reference_frequencies(c.cfg.reference_lang)
    terms = {w: (k / total) * math.log((k / total) / max(ref.get(w, 0.0), WORDFREQ_FLOOR))
             for w, k in counts.items()}
    top = sorted(terms, key=lambda w: (-terms[w], w))[:5]
    return Measure(float(sum(terms.values())),
                   detail=f"wordfreq {c.cfg.reference_lang}; largest terms: {', '.join(top)}")


def grounded_share(prompt: Sequence[str], response: Sequence[str], n: int = GROUNDEDNESS_N) -> float | None:
    """Share of the response's word n-grams that occur in the prompt."""
    grams = list(zip(*(response[k:] for k in range(n))))
    if not grams:
        return None
    source = set(zip(*(prompt[k:] for k in range(n))))
    return sum(g in source for g in grams) / len(grams)


def answer_groundedness(c: Corpus) -> Measure:
    """Mean share of response word bigrams found in the prompt."""
    shares = [grounded_share(p, r) for p, r in zip(c.prompt_words, c.response_words)]
    rows = [i for i, s in enumerate(shares) if s is not None]
    if not rows:
        return Measure(float("nan"), detail="no response has 2 words")
    vals = np.array([shares[i] for i in rows])
    least = [rows[i] for i in np.argsort(vals, kind="stable")]
    return Measure(float(vals.mean()), c.refs_at(least), "least grounded responses as evidence")
