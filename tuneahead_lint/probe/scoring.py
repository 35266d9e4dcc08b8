"""Forward-only scoring: summed log-likelihood of each item's target tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tuneahead_lint.probe.data import IGNORE, Encoded, collate


def target_logprobs(model, items: Sequence[Encoded], device: str, pad_id: int,
                    chunk: int = 4, on_chunk: Callable[[int], None] | None = None
                    ) -> list[tuple[float, int]]:
    """``(sum of log p(target token | prefix), number of target tokens)`` per
    item, in input order. Items are scored in chunks of similar length (less
    padding); log-softmax in float32 whatever the model dtype."""
    import torch

    order = sorted(range(len(items)), key=lambda i: len(items[i].input_ids))
    out: list[tuple[float, int]] = [(0.0, 0)] * len(items)
    with torch.no_grad():
        for start in range(0, len(order), chunk):
            idx = order[start:start + chunk]
            batch = collate([items[i] for i in idx], pad_id)
            logits = model(input_ids=batch["input_ids"].to(device),
                           attention_mask=batch["attention_mask"].to(device)).logits
            labels = batch["labels"][:, 1:].to(device)
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            keep = labels != IGNORE
            tok = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep
            for row, i in enumerate(idx):
                out[i] = (float(tok[row].sum()), int(keep[row].sum()))
            if on_chunk:
                on_chunk(len(idx))
    return out


def mean_nll(scores: Sequence[tuple[float, int]]) -> float:
    """Token-weighted mean negative log-likelihood (nats per token)."""
    total = sum(s for s, _ in scores)
    count = sum(n for _, n in scores)
    return -total / count if count else float("nan")
