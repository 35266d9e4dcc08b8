"""Contrast features (RuDE idea): does the base model prefer each record's own
response over the same response made to violate a rubric?

For each sampled record the *intact* response is scored against five
violations of it, all under the record's own prompt, with the chat template
and window of the probe (:func:`tuneahead_lint.probe.data.encode`):

``truncated``        the response cut after half of its (visible) words
``swapped``          the response of another sampled record
``looped``           its first third of words repeated up to its length
``wrong_language``   transliterated letter by letter into Cyrillic
``format_broken``    newlines and indentation collapsed, no space after punctuation

Score = mean per-token log-likelihood of the target (response + end-of-turn
tokens inside the window). Margin = score(intact) - score(violated), in nats
per token; positive when the base model prefers the intact response. A pair is
dropped when the violation does not apply (a response with no Latin letters
cannot be transliterated) or leaves the tokens unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tuneahead_lint.probe.data import Encoded, encode, sample_order
from tuneahead_lint.probe.progress import Stages
from tuneahead_lint.probe.scoring import target_logprobs
from tuneahead_lint.types import Example

_LATIN_TO_CYRILLIC = dict(zip("abcdefghijklmnopqrstuvwxyz",
                              "а б ц д е ф г х и й к л м н о п к р с т у в ш кс ы з".split()))
_CYRILLIC = str.maketrans({**_LATIN_TO_CYRILLIC,
                           **{k.upper(): v.capitalize() for k, v in _LATIN_TO_CYRILLIC.items()}})


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


def truncated(resp: str, visible: int, _other: str) -> str | None:
    """First half of the words of the visible part of the response."""
    words = _words(resp[:visible])
    if len(words) < 2:
        return resp[: max(1, visible // 2)] if visible > 1 else None
    return "".join(words[: len(words) // 2]).rstrip()


def swapped(_resp: str, _visible: int, other: str) -> str | None:
    """Another record's response."""
    return other


def looped(resp: str, visible: int, _other: str) -> str | None:
    """First third of the visible words, repeated until as long as the original."""
    words = _words(resp[:visible])
    if len(words) < 3:
        return None
    seed = "".join(words[: max(1, len(words) // 3)])
    seed = seed if seed[-1:].isspace() else seed + " "
    reps = -(-visible // len(seed))
    return (seed * reps)[:visible].rstrip()


def wrong_language(resp: str, _visible: int, _other: str) -> str | None:
    """Latin letters transliterated into Cyrillic (needs >= 50% Latin letters)."""
    letters = [c for c in resp if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii())
    if not letters or latin < len(letters) / 2:
        return None
    return resp.translate(_CYRILLIC)


def format_broken(resp: str, _visible: int, _other: str) -> str | None:
    """Whitespace layout collapsed to single spaces; no space after , . ; : ! ?"""
    flat = re.sub(r"\s+", " ", resp).strip()
    return re.sub(r"([,.;:!?]) (?=\S)", r"\1", flat)


Violation = Callable[[str, int, str], "str | None"]
VIOLATIONS: tuple[tuple[str, Violation], ...] = (
    ("truncated", truncated),
    ("swapped", swapped),
    ("looped", looped),
    ("wrong_language", wrong_language),
    ("format_broken", format_broken),
)


@dataclass(frozen=True, slots=True)
class Pair:
    """One scored pair: ``margin`` in nats/token, record at ``(path, line)``."""

    kind: str
    path: str
    line: int
    margin: float


def visible_chars(tokenizer, example: Example, enc: Encoded) -> int:
    """How many characters of the response fit in the probe window, given
    the record's encoding ``enc``."""
    target = [t for t in enc.labels if t >= 0]
    shown = tokenizer.decode(target, skip_special_tokens=False)
    resp = example.response
    return len(resp) if resp and resp in shown else min(len(resp), len(shown))


def build_pairs(tokenizer, examples: Sequence[Example], n_pairs: int, max_len: int, seed: int
                ) -> tuple[list[Encoded], list[tuple[str, int, int]], list[Example]]:
    """Encoded items, ``(kind, record, item)`` triples and the chosen records:
    item ``item`` is chosen record ``record`` with its response violated by
    ``kind`` (``"intact"``: unchanged)."""
    chosen = [examples[i] for i in sample_order(len(examples), seed)[:n_pairs]]
    items: list[Encoded] = []
    triples: list[tuple[str, int, int]] = []
    for r, ex in enumerate(chosen):
        intact = encode(tokenizer, ex, max_len)
        items.append(intact)
        triples.append(("intact", r, len(items) - 1))
        visible = visible_chars(tokenizer, ex, intact)
        other = chosen[(r + 1) % len(chosen)].response
        for kind, fn in VIOLATIONS:
            text = fn(ex.response, visible, other)
            if text is None or not text.strip() or text == ex.response:
                continue
            enc = encode(tokenizer, ex, max_len, response=text)
            if enc.input_ids == intact.input_ids:
                continue
            items.append(enc)
            triples.append((kind, r, len(items) - 1))
    return items, triples, chosen


def score_pairs(model, tokenizer, examples: Sequence[Example], n_pairs: int, max_len: int,
                seed: int, device: str, stages: Stages | None = None) -> list[Pair]:
    """All scored pairs of ``n_pairs`` seeded records (forward passes only)."""
    items, triples, chosen = build_pairs(tokenizer, examples, n_pairs, max_len, seed)
    if stages is not None:
        stages.stage("contrast", len(items))
    scores = target_logprobs(model, items, device, tokenizer.pad_token_id,
                             on_chunk=stages.advance if stages is not None else None)
    return pairs_from_scores(scores, triples, chosen)


def pairs_from_scores(scores: Sequence[tuple[float, int]], triples: Sequence[tuple[str, int, int]],
                      chosen: Sequence[Example]) -> list[Pair]:
    """The pairs of :func:`build_pairs`' items given their ``(sum log-prob, tokens)``."""
    mean = [s / n if n else float("nan") for s, n in scores]
    intact = {r: mean[i] for kind, r, i in triples if kind == "intact"}
    return [Pair(kind, chosen[r].path, chosen[r].line, intact[r] - mean[i])
            for kind, r, i in triples if kind != "intact"]

