"""The full LoRA fine-tune of one meta-dataset run.

Same code path as the probe (``probe.data`` formats records with the chat
template and labels only the response; ``probe.lora`` attaches the adapters
and runs the AdamW loop), so the probe and the run it predicts differ only in
length. The run is ``ceil(size * epochs / batch_size)`` optimizer steps
(capped by ``max_steps``) at a constant learning rate, records drawn by the
probe's seeded wrap-around order; ``seed`` also seeds the LoRA init.
"""

from __future__ import annotations

import json
import math
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tuneahead_lint.types import Example


@dataclass(frozen=True, slots=True)
class HParams:
    """Fine-tuning hyperparameters. Attribute names match the probe's
    ``ProbeConfig`` so ``probe.lora`` reads either."""

    lr: float = 2e-4
    batch_size: int = 8
    epochs: float = 1.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    max_len: int = 512
    max_steps: int = 0  # 0: no cap
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    betas: tuple[float, float] = (0.9, 0.999)
    target_modules: str = "auto"

    def steps(self, n_records: int) -> int:
        steps = max(1, math.ceil(n_records * self.epochs / self.batch_size))
        return min(steps, self.max_steps) if self.max_steps else steps

    def plan(self, n_records: int, seed: int) -> list[list[int]]:
        """The trained-record selection: record indices of each optimizer
        step's batch (``probe.data.batch_plan`` over :meth:`steps`). The
        fine-tune trains by it and ``meta.variants`` places corruptions by it."""
        from tuneahead_lint.probe.data import batch_plan

        return batch_plan(n_records, self.steps(n_records), self.batch_size, seed)

    def to_json(self) -> str:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> HParams:
        d = json.loads(text)
        d["betas"] = tuple(d["betas"])
        return cls(**d)


@dataclass(frozen=True, slots=True)
class FitResult:
    """What the training loop measured (losses are mean token cross-entropy)."""

    steps: int
    records: int
    target_tokens: int
    loss_first: float
    loss_last: float  # mean of the last 10% of steps (at least one)
    loss_min: float
    grad_norm_max: float
    diverged: bool  # a non-finite loss or LoRA weight
    train_s: float
    trace: Any = None  # probe.lora.TrainTrace: the per-step series


def finetune(model, tokenizer, examples: Sequence[Example], hp: HParams, seed: int, device: str,
             on_step: Callable[[int, float], None] | None = None, lora_model=None,
             stats_steps: int | None = None):
    """Attach LoRA to ``model`` (in place), train, return ``(peft_model, FitResult)``.
    ``lora_model``: a peft model of ``model`` whose adapters are already
    initialised for this run (a persistent worker's, see ``meta.runner``).
    ``stats_steps``: steps that record the probe's per-step statistics
    (``probe.lora.train``; None: all)."""
    import torch

    from tuneahead_lint.probe.lora import attach_lora, lora_params, train

    encoded, batches = run_batches(tokenizer, examples, hp, seed)
    if lora_model is None:
        torch.manual_seed(seed)
        peft_model = attach_lora(model, hp)
    else:
        peft_model = lora_model
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    t0 = time.perf_counter()
    trace = train(peft_model, batches, hp, device, pad, on_step, stats_steps)
    train_s = time.perf_counter() - t0
    finite = all(bool(torch.isfinite(p).all()) for p in lora_params(peft_model))
    return peft_model, fit_result(trace, len(encoded), batches, finite, train_s)


def run_batches(tokenizer, examples: Sequence[Example], hp: HParams, seed: int):
    """(encoded usable records, each step's batch of them) of a run."""
    from tuneahead_lint.probe.data import usable

    recs = usable(examples)
    if not recs:
        raise ValueError("no usable records (every response is empty)")
    encoded = [encoded_record(tokenizer, ex, hp.max_len) for ex in recs]
    return encoded, [[encoded[i] for i in idx] for idx in hp.plan(len(encoded), seed)]


_ENCODED = weakref.WeakKeyDictionary()  # tokenizer -> {(turns, max_len): Encoded}, per worker process
_ENCODED_MAX = 500_000


def encoded_record(tokenizer, ex: Example, max_len: int):
    """``probe.data.encode`` of a record, remembered by its turns: the variants
    of one source share most of their records, and a worker encodes each once
    (the chat template and the tokenizer cost more than the training step)."""
    from tuneahead_lint.probe.data import encode

    memo = _ENCODED.setdefault(tokenizer, {})
    key = (ex.turns, max_len)
    hit = memo.get(key)
    if hit is None:
        if len(memo) >= _ENCODED_MAX:
            memo.clear()
        hit = memo[key] = encode(tokenizer, ex, max_len)
    return hit


def fit_result(trace, records: int, batches, weights_finite: bool, train_s: float) -> FitResult:
    """What a run's trace says (``diverged``: a non-finite loss or weight)."""
    losses = trace.losses
    tail = losses[-max(1, len(losses) // 10):]
    finite = weights_finite and all(math.isfinite(x) for x in losses)
    return FitResult(
        steps=len(batches), records=records,
        target_tokens=sum(e.n_target for b in batches for e in b),
        loss_first=losses[0], loss_last=sum(tail) / len(tail), loss_min=min(losses),
        grad_norm_max=max(trace.grad_norms), diverged=not finite, train_s=train_s, trace=trace)
