"""Train a group of K LoRA runs in one forward/backward pass per step.

Every step concatenates the batches of the runs still going (slot-major
rows), runs the base model once with the stacked adapters
(``meta.multilora``), and takes each run's loss as the mean cross-entropy
over its own target tokens, exactly the loss the run alone would have (the
runs share no trainable weight, so the summed loss gives each slot its own
gradient). Then per run: the pre-clipping gradient norm, clipping to its
``max_grad_norm``, and an AdamW step at its own learning rate and weight
decay (:class:`~tuneahead_lint.meta.multilora.StackedAdamW`).

A run whose loss is not finite has diverged: its remaining steps record NaN
(as the run alone records after its weights turn NaN) and its rows leave
the batch; the others go on. A run that has done all its steps leaves too,
so runs of different lengths share a group.

Each run's :class:`~tuneahead_lint.probe.lora.TrainTrace` is the one
``probe.lora.train`` records: loss and pre-clip gradient norm every step,
gradient cosine and sparsity and MLP activation sparsity for its first
``stats_steps`` steps, and ``on_step`` called after each step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneahead_lint.probe.data import IGNORE, Encoded, collate
from tuneahead_lint.probe.lora import ACT_NAMES, ACT_ZERO_ABS, GRAD_ZERO_REL, TrainTrace, sync


@dataclass
class GroupRun:
    """One run of a group: its slot, its batches, its hyperparameters (``HParams``)."""

    slot: int
    batches: Sequence[Sequence[Encoded]]
    hp: Any
    on_step: Callable[[int, float], None] | None = None
    stats_steps: int | None = None  # None: every step
    trace: TrainTrace = field(default_factory=TrainTrace)
    diverged: bool = False
    late: list = field(default_factory=list)  # (loss, norm) tensors after stats_steps

    def wants_stats(self, step: int) -> bool:
        return self.stats_steps is None or step <= self.stats_steps


class RowActivationMeter:
    """``probe.lora.ActivationMeter`` per run: near-zero MLP activations on
    each run's non-padding tokens (``take`` returns one sparsity per run)."""

    def __init__(self, model) -> None:
        self.mask = self.row_run = None
        self.n_runs = 0
        self.zero: Any = 0.0
        self.total: Any = 0.0
        self._handles = [m.register_forward_hook(self._hook) for n, m in model.named_modules()
                         if n.rsplit(".", 1)[-1] in ACT_NAMES and "mlp" in n]
        self.found = bool(self._handles)

    def _hook(self, _module, _inputs, out) -> None:
        if self.mask is None or out.dim() != 3:
            return
        keep = self.mask.to(out.device, dtype=bool).unsqueeze(-1)
        zero = ((out.detach().abs() < ACT_ZERO_ABS) & keep).sum(dim=(1, 2)).double()
        total = keep.sum(dim=(1, 2)).double() * out.shape[-1]
        self.zero = self.zero + self._per_run(zero)
        self.total = self.total + self._per_run(total)

    def _per_run(self, per_row):
        import torch

        return torch.zeros(self.n_runs, dtype=per_row.dtype, device=per_row.device).index_add_(
            0, self.row_run, per_row)

    def take(self) -> list[float]:
        if isinstance(self.total, float):
            return [math.nan] * self.n_runs
        zero, total = self.zero.cpu().tolist(), self.total.cpu().tolist()
        self.zero = self.total = 0.0
        return [z / t if t else math.nan for z, t in zip(zero, total)]

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def train_group(multi, runs: Sequence[GroupRun], device: str, pad_id: int,
                after_step: Callable[[int], None] | None = None) -> None:
    """Train every run of ``runs`` (slots of ``multi``, freshly reset) to its
    last step; fills each run's ``trace``. ``after_step(step)``: called after
    every step (the group's batched probe measurements)."""
    import torch

    from tuneahead_lint.meta.evalsuite import body_and_head
    from tuneahead_lint.meta.multilora import StackedAdamW

    params = multi.params()
    starts = {r.slot: multi.slot_flat(r.slot) for r in runs}
    lr, wd = [0.0] * multi.k, [0.0] * multi.k
    for r in runs:
        lr[r.slot], wd[r.slot] = r.hp.lr, r.hp.weight_decay
    opt = StackedAdamW(params, lr, wd, tuple(runs[0].hp.betas))
    max_norm = torch.ones(multi.k, device=params[0].device)
    for r in runs:
        max_norm[r.slot] = r.hp.max_grad_norm
    _, body, head = body_and_head(multi.model)
    meter = RowActivationMeter(multi.model)
    for r in runs:
        r.trace.act_found = meter.found
    multi.model.train()
    state: dict = {}  # the previous step's gradients, for the cosine
    try:
        for step in range(1, max(len(r.batches) for r in runs) + 1):
            active = [r for r in runs if step <= len(r.batches) and not r.diverged]
            for r in runs:
                if r.diverged and step <= len(r.batches):
                    _record_nan(r, step)
            if active:
                _group_step(multi, active, step, body, head, opt, max_norm, meter, device, pad_id, state)
            if after_step:
                after_step(step)
                multi.model.train()
    finally:
        meter.close()
        multi.model.eval()
        multi.layout.set([], [])
    for r in runs:
        _finish_trace(r, multi, starts[r.slot])


BANDS = 4  # length bands per step (a forward and backward each): less padding, less memory


def _group_step(multi, active: list[GroupRun], step: int, body, head, opt, max_norm, meter, device: str,
                pad_id: int, state: dict) -> None:
    """One optimizer step of every run in ``active``: a forward and backward
    per length band (:func:`length_bands`), the gradients summed, then the
    per-run clipping and AdamW step."""
    import torch

    sync(device)
    t0 = time.perf_counter()
    stats = any(r.wants_stats(step) for r in active)
    batches = [r.batches[step - 1] for r in active]
    targets = torch.tensor([sum(_targets(e) for e in b) for b in batches], dtype=torch.float32, device=device)
    sums = torch.zeros(len(active), dtype=torch.float32, device=device)
    for band in length_bands(batches, min(BANDS, max(len(b) for b in batches))):
        sums += _band_backward(multi, active, band, body, head, targets, meter if stats else None, device, pad_id)
    losses = sums / targets
    finite = torch.isfinite(losses)
    norms = _clip_and_stats(multi, active, step, max_norm, state)
    ok = finite.cpu().tolist()
    opt.step([r.slot for r, good in zip(active, ok) if good])
    multi.zero_grad()
    sync(device)
    act = meter.take() if stats else None
    meter.mask = None  # the probe's forwards inside on_step are not training steps
    _record(active, step, losses, norms, ok, act, time.perf_counter() - t0)
    for r, good in zip(active, ok):
        if not good:  # as the run alone: a non-finite loss leaves non-finite weights
            multi.poison(r.slot)


def _targets(e: Encoded) -> int:
    """Tokens the causal-LM loss scores (labels shifted by one)."""
    return sum(1 for x in e.labels[1:] if x != IGNORE)


def length_bands(batches: Sequence[Sequence[Encoded]], n: int) -> list[list[list[Encoded]]]:
    """The rows of every run's batch in ``n`` bands of the step's rows ranked
    by length (ties by run, then position): ``out[b][j]`` = run ``j``'s rows
    in band ``b`` (possibly none). Each band pads to its own longest row."""
    ranked = sorted(((len(e.input_ids), j, i) for j, b in enumerate(batches) for i, e in enumerate(b)))
    cut = [len(ranked) * k // n for k in range(n + 1)]
    out = []
    for k in range(n):
        band: list[list[Encoded]] = [[] for _ in batches]
        for _, j, i in sorted(ranked[cut[k]:cut[k + 1]], key=lambda t: (t[1], t[2])):
            band[j].append(batches[j][i])
        out.append(band)
    return out


def _band_backward(multi, active: list[GroupRun], band, body, head, targets, meter, device: str, pad_id: int):
    """Forward and backward of one band; each run's summed target cross-entropy ([runs], detached)."""
    import torch

    counts = [len(rows) for rows in band]
    multi.layout.set([r.slot for r in active], counts)
    batch = {k: v.to(device) for k, v in collate([e for rows in band for e in rows], pad_id).items()}
    row_run = torch.repeat_interleave(torch.arange(len(active), device=device), torch.tensor(counts, device=device))
    if meter is not None:
        meter.mask, meter.row_run, meter.n_runs = batch["attention_mask"], row_run, len(active)
    sums = run_loss_sums(body, head, batch, row_run, len(active))
    part = sums / targets  # this band's share of each run's mean loss
    finite = torch.isfinite(part)
    if bool(finite.any()):
        part[finite].sum().backward()
    if meter is not None:
        meter.mask = None
    return sums.detach()


def run_losses(body, head, batch, row_run, n_runs: int):
    """Mean target-token cross-entropy of each run's rows ([n_runs], float32):
    what ``model(**batch).loss`` gives for each run's batch alone."""
    import torch

    labels = batch["labels"][:, 1:]
    counts = torch.zeros(n_runs, dtype=torch.float32, device=labels.device).index_add(
        0, row_run, (labels != IGNORE).sum(dim=1).float())
    return run_loss_sums(body, head, batch, row_run, n_runs) / counts


def run_loss_sums(body, head, batch, row_run, n_runs: int):
    """Summed target-token cross-entropy of each run's rows ([n_runs], float32)."""
    import torch
    import torch.nn.functional as F

    labels = batch["labels"][:, 1:]
    rows, cols = (labels != IGNORE).nonzero(as_tuple=True)
    hidden = body(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    logits = head(hidden[rows, cols]).float()
    ce = F.cross_entropy(logits, labels[rows, cols], reduction="none")
    return torch.zeros(n_runs, dtype=ce.dtype, device=ce.device).index_add(0, row_run[rows], ce)


def _clip_and_stats(multi, active: list[GroupRun], step: int, max_norm, state: dict):
    """Gradient statistics (``probe.lora.grad_stats`` per slot, for every
    slot at once) while a run still records them, then per-slot clipping;
    the pre-clip norms of every slot ([K] tensor)."""
    from tuneahead_lint.meta.multilora import clip_per_slot

    if any(r.wants_stats(step) for r in active):
        cos, sparsity, state["prev"] = slot_grad_stats(multi.params(), multi.k, state.get("prev"))
        cos, sparsity = cos.cpu().tolist(), sparsity.cpu().tolist()
        for r in active:
            if r.wants_stats(step) and step > 1:
                r.trace.grad_cosines.append(cos[r.slot])
                r.trace.grad_sparsity.append(sparsity[r.slot])
    return clip_per_slot(multi.params(), multi.k, max_norm)


def slot_grad_stats(params, k: int, prev):
    """Per slot of stacked ``params``' gradients: (cosine with ``prev``, the
    share of coordinates with ``|g| < GRAD_ZERO_REL * rms``) as [K] tensors,
    and a copy of the gradients (the next step's ``prev``)."""
    import torch

    grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).detach().float() for p in params]
    flat = [g.reshape(k, -1) for g in grads]
    numel = sum(g.shape[1] for g in flat)
    norm = sum(g.pow(2).sum(1) for g in flat).sqrt()
    thr = (GRAD_ZERO_REL * norm / math.sqrt(numel))[:, None]
    zero = sum((g.abs() < thr).sum(1) for g in flat)
    sparsity = torch.where(thr[:, 0] > 0, zero / numel, torch.ones_like(norm))
    cos = torch.full_like(norm, math.nan)
    if prev is not None:
        dot = sum((g * q).sum(1) for g, q in zip(flat, prev))
        prev_norm = sum(q.pow(2).sum(1) for q in prev).sqrt()
        cos = dot / torch.clamp(norm * prev_norm, min=1e-30)
    return cos, sparsity, [g.clone() for g in flat]


def _record(active: list[GroupRun], step: int, losses, norms, ok: list[bool], act, step_s: float) -> None:
    loss_list = losses.detach().cpu().tolist()
    for j, r in enumerate(active):
        norm = norms[r.slot] if ok[j] else norms.new_tensor(math.nan)
        if r.wants_stats(step):
            r.trace.losses.append(loss_list[j])
            r.trace.grad_norms.append(float(norm))
            r.trace.act_sparsity.append(act[j] if act is not None else math.nan)
        else:
            r.late.append((losses[j].detach(), norm.detach()))
        r.trace.step_s.append(step_s)
        if not ok[j]:
            r.diverged = True
        if r.on_step:
            r.on_step(step, loss_list[j] if r.wants_stats(step) else math.nan)


def _record_nan(r: GroupRun, step: int) -> None:
    """A step of a diverged run: NaN loss and norm (as the run alone would record)."""
    import torch

    if r.stats_steps is None or len(r.trace.losses) < r.stats_steps:
        r.trace.losses.append(math.nan)
        r.trace.grad_norms.append(math.nan)
        if r.trace.losses[:-1]:
            r.trace.grad_cosines.append(math.nan)
            r.trace.grad_sparsity.append(math.nan)
        r.trace.act_sparsity.append(math.nan)
    else:
        nan = torch.tensor(math.nan)
        r.late.append((nan, nan))
    r.trace.step_s.append(0.0)
    if r.on_step:
        r.on_step(step, math.nan)


def _finish_trace(r: GroupRun, multi, start) -> None:
    import torch

    if r.late:
        losses, norms = (torch.stack([t[i].float().cpu() for t in r.late]).tolist() for i in (0, 1))
        r.trace.losses += losses
        r.trace.grad_norms += norms
        r.late = []
    r.trace.param_change_norm = float((multi.slot_flat(r.slot) - start).norm())


def step_peak_bytes(multi, k: int, batch_size: int, max_len: int, device: str) -> int:
    """Peak CUDA memory above what was allocated of one training step of
    ``k`` runs with ``batch_size`` rows of ``max_len`` tokens, all targets."""
    import torch

    from tuneahead_lint.meta.evalsuite import body_and_head

    _, body, head = body_and_head(multi.model)
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    ids = torch.randint(0, head.weight.shape[0], (k * batch_size, max_len), device=device)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}
    multi.layout.set(list(range(k)), [batch_size] * k)
    row_run = torch.arange(k, device=device).repeat_interleave(batch_size)
    multi.model.train()
    run_losses(body, head, batch, row_run, k).sum().backward()
    multi.model.eval()
    multi.zero_grad()
    multi.layout.set([], [])
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before
