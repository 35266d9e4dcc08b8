"""In-domain ground truth: how well a model fits the clean held-out responses
of the source sets a run trained on.

Each source set has a fixed clean held-out split (``meta.heldout.split``,
``Recipe.heldout`` records: no variant of such a recipe trains on them). A record is formatted like training
data (``probe.data.encode``: chat template, the prompt as context, only the
response tokens scored) and the score is the token-weighted mean negative
log-likelihood of the response tokens (nats per token). For a mix of sources
the run's value is the weight-averaged per-source NLL, so ``y_indomain`` =
base NLL - run NLL is the reduction on the data the run was meant to learn
(positive: the run fits the task better; higher is better, as for every
target the predictor and its go/no-go gate use).

Scoring is batched by length under a token budget and only the hidden states
that predict response tokens reach the output head (``evalsuite``'s
gather-then-project path): no ``[batch, seq, vocab]`` logits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from tuneahead_lint.probe.data import IGNORE, Encoded

def encode_heldout(tokenizer, source: str, data_dir: str, n: int, max_len: int) -> list[Encoded]:
    """The held-out records of ``source`` formatted as training data."""
    from tuneahead_lint.meta.variants import heldout_records
    from tuneahead_lint.probe.data import encode

    return [encode(tokenizer, ex, max_len) for ex in heldout_records(source, data_dir, n)]


def _batches(items: Sequence[Encoded], batch_tokens: int) -> Iterator[list[int]]:
    """Indices of ``items``, longest first, as many per batch as fit ``batch_tokens``."""
    order = sorted(range(len(items)), key=lambda i: -len(items[i].input_ids))
    batch: list[int] = []
    for i in order:
        width = len(items[batch[0]].input_ids) if batch else len(items[i].input_ids)
        if batch and width * (len(batch) + 1) > batch_tokens:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def response_nll(model, items: Sequence[Encoded], device: str, pad_id: int,
                 batch_tokens: int = 8192) -> tuple[float, int]:
    """(token-weighted mean NLL of the labelled tokens, tokens scored)."""
    return fanned_nll(model, items, device, pad_id, None, batch_tokens)[0]


def fanned_nll(model, items: Sequence[Encoded], device: str, pad_id: int, fan=None,
               batch_tokens: int = 8192) -> list[tuple[float, int]]:
    """:func:`response_nll` of each slot of ``fan`` (``meta.multilora.Fan``:
    every batch repeated once per slot, ``batch_tokens`` its budget) in the
    same forwards; without ``fan`` one result, the model as it is."""
    import torch

    from tuneahead_lint.meta.evalsuite import body_and_head
    from tuneahead_lint.probe.data import collate

    lm, body, head = body_and_head(model)
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    k = fan.k if fan is not None else 1
    totals, count = [0.0] * k, 0
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for idx in _batches(items, max(1, batch_tokens // k)):
            batch = collate([items[i] for i in idx], pad_id)
            sums = _batch_sums(body, head, softcap, batch, device, fan, k)
            totals = [t + x for t, x in zip(totals, sums)]
            count += int((batch["labels"][:, 1:] != IGNORE).sum())
    model.train(was_training)
    return [((-t / count if count else math.nan), count) for t in totals]


def _batch_sums(body, head, softcap, batch, device: str, fan, k: int) -> list[float]:
    """Summed target log-probs of one batch, per slot."""
    import torch

    from tuneahead_lint.meta.evalsuite import token_logprobs

    labels = batch["labels"][:, 1:]
    rows, cols = (labels != IGNORE).nonzero(as_tuple=True)
    n = batch["input_ids"].shape[0]
    if fan is not None:
        fan.rows(n)
    ids, mask = (batch[key].repeat(k, 1).to(device) for key in ("input_ids", "attention_mask"))
    hidden = body(input_ids=ids, attention_mask=mask).last_hidden_state
    tgt = labels[rows, cols].to(device)
    rows, cols = rows.to(device), cols.to(device)
    out = []
    for s in range(k):
        picked = hidden[rows + s * n, cols]
        out.append(float(sum(token_logprobs(head, picked[j:j + 2048], tgt[j:j + 2048], softcap).sum()
                             for j in range(0, len(tgt), 2048))))
    return out


def weighted(per_source: dict[str, float], weights: Sequence[tuple[str, float]]) -> float:
    """Weight-averaged value over the sources of a recipe."""
    w = {n: x for n, x in weights if n in per_source}
    tot = sum(w.values())
    return sum(per_source[n] * x for n, x in w.items()) / tot if tot else math.nan
