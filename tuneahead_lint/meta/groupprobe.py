"""The probe's measurements of a group's runs, batched across the runs.

What ``meta.runprobe.RunProbe`` measures for one run at its last probe step
(LoRA parameter change, the flatness triple, the general-slice NLL) and at
the end (contrast margins on the base model), computed here for every run
of a group together: one forward per length batch serves all runs, each row
through its own run's adapter (``meta.multilora`` layout). Each run keeps
its own items and its own seeded flatness direction, so the values are
those of the run alone (``tests/meta/test_group.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from tuneahead_lint.probe.data import IGNORE, Encoded, collate


def slot_nll(multi, items: dict[int, Sequence[Encoded]], device: str, pad_id: int,
             batch_tokens: int = 8192, adapters: bool = True) -> dict[int, tuple[float, int]]:
    """``{slot: (sum of target log-probs, target tokens)}`` of each slot's own
    items through its own adapter (``adapters=False``: the base model)."""
    import torch

    from tuneahead_lint.meta.evalsuite import body_and_head, token_logprobs

    _, body, head = body_and_head(multi.model)
    rows = [(slot, e) for slot, es in sorted(items.items()) for e in es]
    out = {slot: [0.0, 0] for slot in items}
    with torch.inference_mode():
        for batch in _length_batches(rows, batch_tokens):
            enc = collate([e for _, e in batch], pad_id)
            _set_rows(multi, [s for s, _ in batch], adapters)
            labels = enc["labels"][:, 1:]
            r, c = (labels != IGNORE).nonzero(as_tuple=True)
            hidden = body(input_ids=enc["input_ids"].to(device),
                          attention_mask=enc["attention_mask"].to(device)).last_hidden_state
            lp = token_logprobs(head, hidden[r.to(device), c.to(device)], labels[r, c].to(device), None).cpu()
            for row, val in zip(r.tolist(), lp.tolist()):
                acc = out[batch[row][0]]
                acc[0] += val
                acc[1] += 1
    multi.layout.set([], [])
    return {slot: (s, n) for slot, (s, n) in out.items()}


def _length_batches(rows: list, batch_tokens: int) -> Iterator[list]:
    """Rows by length, longest first, under ``batch_tokens``; each batch in slot order."""
    order = sorted(rows, key=lambda t: (-len(t[1].input_ids), t[0]))
    batch: list = []
    for row in order:
        width = len(batch[0][1].input_ids) if batch else len(row[1].input_ids)
        if batch and width * (len(batch) + 1) > batch_tokens:
            yield sorted(batch, key=lambda t: t[0])
            batch = []
        batch.append(row)
    if batch:
        yield sorted(batch, key=lambda t: t[0])


def _set_rows(multi, slots: list[int], adapters: bool) -> None:
    """Layout for slot-sorted rows ``slots``."""
    if not adapters:
        multi.layout.set([], [])
        return
    runs: list[int] = []
    counts: list[int] = []
    for s in slots:
        if runs and runs[-1] == s:
            counts[-1] += 1
        else:
            runs.append(s)
            counts.append(1)
    multi.layout.set(runs, counts)


def mean_of(scored: tuple[float, int]) -> float:
    s, n = scored
    return -s / n if n else float("nan")


def measure_at_probe_step(multi, probes: dict[int, Any], tok, device: str, batch_tokens: int) -> None:
    """At the runs' last probe step: each :class:`RunProbe`'s ``change``,
    ``flat`` and ``after``, as ``RunProbe.on_step`` measures them alone."""
    t0 = time.perf_counter()
    pad = tok.pad_token_id
    for slot, p in probes.items():
        p.change = float((multi.slot_flat(slot) - p.start_vec).norm())
    held = {slot: _flatness_items(p, tok) for slot, p in probes.items()}
    deltas = {slot: _direction(multi, slot, p.cfg.flatness_rho, p.cfg.seed) for slot, p in probes.items()}
    triples = [slot_nll(multi, held, device, pad, batch_tokens)]
    for sign in (1.0, -1.0):
        _shift(multi, deltas, sign)
        triples.append(slot_nll(multi, held, device, pad, batch_tokens))
        _shift(multi, deltas, -sign)
    after = _general_after(multi, probes, tok, device, batch_tokens)
    share = (time.perf_counter() - t0) / max(1, len(probes))
    for slot, p in probes.items():
        p.flat = tuple(mean_of(t[slot]) for t in triples)
        p.after = after[slot]
        p.hook_s += share


def _flatness_items(p, tok) -> list[Encoded]:
    """``probe.run.flatness_triple``'s records: ``flatness_items`` drawn with ``seed + 1``."""
    from tuneahead_lint.probe.data import encode, sample_order

    c = p.cfg
    return [encode(tok, p.recs[i], c.max_len) for i in sample_order(len(p.recs), c.seed + 1)[:c.flatness_items]]


def _direction(multi, slot: int, rho: float, seed: int) -> list:
    """``probe.lora.sharpness``'s filter-normalised direction for one slot's tensors."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    out = []
    for _, p in multi.named_slot_params(slot):
        u = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        scale = rho * float(p.detach().float().norm()) / max(float(u.norm()), 1e-30)
        out.append((p, (u * scale).to(p.device, p.dtype)))
    return out


def _shift(multi, deltas: dict[int, list], sign: float) -> None:
    import torch

    with torch.no_grad():
        for pairs in deltas.values():
            for p, d in pairs:
                p.add_(d, alpha=sign)


def _general_after(multi, probes: dict[int, Any], tok, device: str, batch_tokens: int) -> dict[int, float]:
    """General-slice NLL of each slot (``probe.run.general_nll``); the slice is shared."""
    from tuneahead_lint.probe import forgetting

    items = {slot: forgetting.encode_slice(tok, p.cfg.forgetting_items, p.cfg.max_len) for slot, p in probes.items()}
    got = slot_nll(multi, items, device, tok.pad_token_id, batch_tokens)
    return {slot: mean_of(v) for slot, v in got.items()}


def contrast_pairs(multi, probes: dict[int, Any], tok, device: str, batch_tokens: int) -> None:
    """Every probe's contrast pairs, scored on the base model in shared batches."""
    from tuneahead_lint.probe.contrast import build_pairs, pairs_from_scores

    built = {slot: build_pairs(tok, p.recs, p.cfg.contrast_pairs, p.cfg.max_len, p.cfg.seed)
             for slot, p in probes.items()}
    rows = {slot: items for slot, (items, _, _) in built.items()}
    scores = _per_item(multi, rows, tok, device, batch_tokens)
    for slot, p in probes.items():
        _, triples, chosen = built[slot]
        p.pairs = pairs_from_scores(scores[slot], triples, chosen)


def _per_item(multi, rows: dict[int, list[Encoded]], tok, device: str, batch_tokens: int) -> dict[int, list]:
    """(sum log-prob, tokens) of every item, base model; one slot's items at a time
    share batches with the others' (the slot key only routes the results)."""
    flat = {(slot, i): [e] for slot, es in rows.items() for i, e in enumerate(es)}
    keyed = {n: v for n, v in enumerate(flat.values())}
    keys = list(flat)
    got = slot_nll(multi, keyed, device, tok.pad_token_id, batch_tokens, adapters=False)
    out: dict[int, list] = {slot: [None] * len(es) for slot, es in rows.items()}
    for n, (slot, i) in enumerate(keys):
        out[slot][i] = got[n]
    return out
