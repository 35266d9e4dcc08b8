"""Base-model scores of (prompt, response) pairs: the PMI gap of TA207 and the
end-of-turn probability of TA118, from one conditional pass.

A pair is scored in the instruct model's chat format
(``<|im_start|>user\\n PROMPT <|im_end|>\\n<|im_start|>assistant\\n RESPONSE``),
the prompt cut to its first :data:`PROMPT_TOKENS` tokens. A ``head`` row scores
the first :data:`RESPONSE_TOKENS` response tokens, a ``tail`` row the last ones
(the start of a long response cut away). When the whole response fits, head
and tail are one row (scored once), and the end-of-turn token after it is
scored as well: ``end_logp``, the model's view of whether the response may
stop there. A tail row always scores the end of turn.

PMI, log p(r | p) - log p(r), says how much a prompt helps predict a
response. TA207 compares the PMI of a response with its own prompt with its
PMI with the prompts nearest to it; log p(r) cancels in that difference, so
only conditional rows are scored. The model only runs the language-model head
on the scored positions (not on the prompt's). Values are cached per (model,
limits, row) like perplexity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import re

import numpy as np

if TYPE_CHECKING:
    from tuneahead_lint.features.config import FeatureConfig

PROMPT_TOKENS = 48
RESPONSE_TOKENS = 32
BATCH_TOKENS = 1024  # as perplexity: bigger batches are slower on CPU
USER, ASSISTANT, END = "<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>"


@dataclass(frozen=True, slots=True)
class PairScore:
    """Per scored pair: ``logp`` (sum over the scored response tokens, nats),
    ``tokens`` (how many) and ``end_logp`` (log p(end of turn) after the
    response; NaN for a head row of a response that does not fit)."""

    logp: np.ndarray
    tokens: np.ndarray
    end_logp: np.ndarray


@dataclass(frozen=True, slots=True)
class Row:
    """Token ids of one scored row, where the response starts, whether the
    end of turn is appended (and scored), whether the whole response is in."""

    ids: list[int]
    start: int
    end: bool
    whole: bool


def pair_scores(prompts: Sequence[str], responses: Sequence[str], tails: Sequence[bool],
                cfg: FeatureConfig) -> tuple[PairScore, dict[str, Any]]:
    """Scores per (prompt, response) pair: a tail row where ``tails`` is
    true, else a head row; run info (pairs, scored rows, tokens)."""
    from tuneahead_lint.basemodel import fast_tokenizer, model_id
    from tuneahead_lint.cache import VectorCache, cached_values, namespace

    params = {"model": model_id(cfg.base_model), "prompt_tokens": PROMPT_TOKENS,
              "response_tokens": RESPONSE_TOKENS, "format": "chatml", "dtype": "float32"}
    tok = fast_tokenizer(cfg.base_model)
    rows = build_rows(prompts, responses, tails, tok)
    keys = [_key(p, r, row) for p, r, row in zip(prompts, responses, rows)]
    by_key = dict(zip(keys, rows))
    cache = VectorCache(cfg.cache_path(), namespace("pair-scores", params), dtype="float64")
    try:
        values, scored = cached_values(keys, cache, lambda todo: score_rows([by_key[k] for k in todo], cfg),
                                       label="pair scores")
    finally:
        cache.close()
    v = np.array(values, np.float64).reshape(-1, 3)
    tokens = sum(len(by_key[k].ids) for k in dict.fromkeys(keys)) if scored else 0
    return PairScore(v[:, 0], v[:, 1], v[:, 2]), {**params, "pairs": len(keys), "scored": scored,
                                                  "scored_tokens_max": tokens}


def _key(prompt: str, response: str, row: Row) -> str:
    """Cache key: a whole response's head and tail rows are the same row."""
    mode = "whole" if row.whole else ("tail" if row.end else "head")
    return f"{mode}\x00{prompt}\x00{response}"


def build_rows(prompts: Sequence[str], responses: Sequence[str], tails: Sequence[bool], tok: Any) -> list[Row]:
    """The chat-format row of each pair (see the module docstring)."""
    user, assistant = (tok.encode(s, add_special_tokens=False).ids for s in (USER, ASSISTANT))
    end = tok.token_to_id(END)
    p_ids = [e.ids[:PROMPT_TOKENS] for e in tok.encode_batch(list(prompts), add_special_tokens=False)]
    r_ids = [e.ids for e in tok.encode_batch(list(responses), add_special_tokens=False)]
    out = []
    for p, r, tail in zip(p_ids, r_ids, tails):
        whole = len(r) <= RESPONSE_TOKENS
        part = r if whole else (r[-RESPONSE_TOKENS:] if tail else r[:RESPONSE_TOKENS])
        head = user + p + assistant
        out.append(Row(head + part + ([end] if whole or tail else []), len(head), whole or tail, whole))
    return out


def score_rows(rows: Sequence[Row], cfg: FeatureConfig) -> list[np.ndarray]:
    """[sum log p of the response tokens, their count, log p(end) or NaN]
    per row, batched by length."""
    import torch

    from tuneahead_lint import progress
    from tuneahead_lint.basemodel import default_device, load_causal_lm
    from tuneahead_lint.features.embed.embedder import length_batches

    device = cfg.device or default_device()
    model, _ = load_causal_lm(cfg.base_model, device=device, dtype="float32", tokenizer=False)
    out: list[np.ndarray] = [np.zeros(3)] * len(rows)
    lengths = np.array([len(r.ids) for r in rows])
    with torch.inference_mode():
        for batch in length_batches(lengths, BATCH_TOKENS, max_rows=32):
            for i, stat in zip(batch, _batch([rows[i] for i in batch], model, device)):
                out[i] = stat
            progress.advance(len(batch))
    return out


def _batch(rows: list[Row], model: Any, device: str) -> list[np.ndarray]:
    """Runs the backbone over the padded batch and the language-model head
    only where a response token (or the end of turn) is predicted."""
    import torch

    width = max(len(r.ids) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        ids[k, :len(r.ids)] = torch.tensor(r.ids)
        mask[k, :len(r.ids)] = 1
    hidden = model.model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
    which = [(k, t) for k, r in enumerate(rows) for t in range(r.start - 1, len(r.ids) - 1)]
    at_row, at_pos = (torch.tensor(x, dtype=torch.long) for x in zip(*which))
    logits = model.lm_head(hidden[at_row.to(device), at_pos.to(device)]).float()
    logp = -torch.nn.functional.cross_entropy(logits, ids[at_row, at_pos + 1].to(device), reduction="none")
    return _summaries(rows, logp.cpu().numpy().astype(np.float64))


def _summaries(rows: list[Row], logp: np.ndarray) -> list[np.ndarray]:
    out, at = [], 0
    for r in rows:
        n = len(r.ids) - r.start
        mine, at = logp[at:at + n], at + n
        words = mine[:-1] if r.end else mine
        out.append(np.array([words.sum(), len(words), mine[-1] if r.end else np.nan], np.float64))
    return out


@dataclass(frozen=True, slots=True)
class PairPmi:
    """Per scored corpus row (sorted): ``gap``, the PMI of the response with
    its own prompt minus its mean PMI with the other prompts scored for it
    (nats per response token). An answer gains more from its own prompt than
    from similar ones (gap > 0); a response that belongs to another prompt
    does not (gap <= 0)."""

    rows: np.ndarray
    gap: np.ndarray

    @classmethod
    def from_scores(cls, rows: np.ndarray, score: PairScore, width: int) -> PairPmi:
        """``score`` holds, per row, its own pair then ``width - 1`` others."""
        if not len(rows):
            return cls(rows, np.zeros(0))
        logp = score.logp.reshape(len(rows), width) / np.maximum(score.tokens.reshape(len(rows), width), 1)
        return cls(rows, logp[:, 0] - logp[:, 1:].mean(1))

    def at(self, row: int) -> float:
        """The gap of a corpus row; NaN when it was not scored."""
        k = int(np.searchsorted(self.rows, row))
        return float(self.gap[k]) if k < len(self.rows) and self.rows[k] == row else float("nan")


def open_ending(response: str, min_words: int = 8) -> bool:
    """A response of ``min_words`` or more that does not end a sentence or a
    code fence: the rows whose end-of-turn probability TA118 reads."""
    tail = response.rstrip()
    return len(tail.split()) >= min_words and not _CLOSED.search(tail)


_CLOSED = re.compile(r"(?:[.!?\u3002\uff01\uff1f\u2026]|```|~~~)[\"'\u201d\u2019)\]*_]*$")
