"""The short LoRA run: attach adapters, train a fixed number of steps, record
per-step loss, gradient and activation statistics.

Only the LoRA matrices are trainable. The optimizer is AdamW at a constant
learning rate (no warmup: with 20-100 steps a schedule would dominate the
curve); gradients are clipped to ``max_grad_norm`` *after* their norm is
recorded, so exploding gradients stay visible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneahead_lint.probe.data import Encoded, collate
from tuneahead_lint.probe.scoring import mean_nll, target_logprobs

GRAD_ZERO_REL = 1e-3  # |g_i| below this fraction of the step's RMS gradient counts as zero
ACT_ZERO_ABS = 1e-2  # |a| below this counts as an inactive MLP unit
ACT_NAMES = ("act_fn", "act", "activation_fn", "activation")
_DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


class ProbeError(RuntimeError):
    """The probe cannot run on this model or data (exit code 2)."""


@dataclass
class TrainTrace:
    """Raw per-step series of one LoRA run (index 0 = step 1)."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    grad_cosines: list[float] = field(default_factory=list)  # step t vs t-1, from step 2
    grad_sparsity: list[float] = field(default_factory=list)  # from step 2
    act_sparsity: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    param_change_norm: float = float("nan")
    act_found: bool = False  # the model has MLP activation modules to hook


def resolve_targets(model, requested: Sequence[str] | str) -> list[str] | None:
    """Module-name suffixes to adapt. ``"auto"`` (or requested names absent
    from the model) -> attention projections if the model has them, else
    ``None`` (peft's per-architecture default)."""
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    wanted = _DEFAULT_TARGETS if requested == "auto" else tuple(requested)
    present = [t for t in wanted if t in names]
    if present:
        return present
    fallback = [t for t in _DEFAULT_TARGETS if t in names]
    return fallback or None


def attach_lora(model, cfg) -> Any:
    """Wrap ``model`` in a peft LoRA model (adapters float32 even on a bf16 base)."""
    from peft import LoraConfig, get_peft_model

    lcfg = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
        target_modules=resolve_targets(model, cfg.target_modules), bias="none",
        task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, lcfg)
    except ValueError as exc:
        raise ProbeError(f"peft cannot attach LoRA to this model: {exc}") from exc


def lora_params(model) -> list[Any]:
    """Trainable (LoRA) parameters in a fixed order."""
    return [p for _, p in sorted(model.named_parameters()) if p.requires_grad]


def flat(tensors) -> Any:
    """One float32 CPU-or-device vector from a list of tensors."""
    import torch

    return torch.cat([t.detach().reshape(-1).float() for t in tensors])


class ActivationMeter:
    """Forward hooks on every MLP activation module (``act_fn`` & co. inside a
    module whose name contains ``mlp``): counts outputs with ``|a| < ACT_ZERO_ABS``
    on non-padding tokens. ``found`` is False when the model has none."""

    def __init__(self, model) -> None:
        self.mask = None
        self.zero: Any = 0.0  # tensors on the model's device until take(): no sync per layer
        self.total: Any = 0.0
        self._handles = [m.register_forward_hook(self._hook)
                         for n, m in model.named_modules()
                         if n.rsplit(".", 1)[-1] in ACT_NAMES and "mlp" in n]
        self.found = bool(self._handles)

    def _hook(self, _module, _inputs, out) -> None:
        if self.mask is None or out.dim() != 3:
            return
        keep = self.mask.to(out.device, dtype=bool).unsqueeze(-1)
        self.zero = self.zero + ((out.detach().abs() < ACT_ZERO_ABS) & keep).sum()
        self.total = self.total + keep.sum() * out.shape[-1]

    def take(self) -> float:
        """Sparsity since the last call (NaN if nothing was seen); resets."""
        total = float(self.total)
        val = float(self.zero) / total if total else float("nan")
        self.zero = self.total = 0.0
        return val

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def grad_stats(grad, prev) -> tuple[float, float, float]:
    """(L2 norm, cosine with ``prev`` (NaN if none), fraction of coordinates
    with ``|g_i| < GRAD_ZERO_REL * rms(g)``) of a flat gradient vector."""
    import torch

    norm = float(grad.norm())
    cos = float("nan")
    if prev is not None:
        cos = float(torch.nn.functional.cosine_similarity(grad, prev, dim=0, eps=1e-30))
    rms = norm / math.sqrt(grad.numel()) if grad.numel() else 0.0
    sparsity = float((grad.abs() < GRAD_ZERO_REL * rms).float().mean()) if rms > 0 else 1.0
    return norm, cos, sparsity


def sync(device: str) -> None:
    """Wait for queued CUDA work (so wall-clock timings are real); no-op on CPU."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def train(model, batches: Sequence[Sequence[Encoded]], cfg, device: str, pad_id: int,
          on_step: Callable[[int, float], None] | None = None, stats_steps: int | None = None) -> TrainTrace:
    """Run one optimizer step per batch; return the trace. ``model`` is the
    peft model; its LoRA weights are changed in place.

    ``stats_steps``: record the gradient and activation statistics of the
    first ``stats_steps`` steps only (None: every step). Later steps record
    the loss and the pre-clipping gradient norm (``clip_grad_norm_``'s) and
    never wait for the device, so a long run pays for the statistics only
    where they are read; ``on_step`` gets NaN as their loss."""
    import torch

    params = lora_params(model)
    start = flat(params)
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas),
                            weight_decay=cfg.weight_decay)
    meter = ActivationMeter(model)
    trace = TrainTrace(act_found=meter.found)
    prev = None
    late: list[tuple[Any, Any]] = []  # (loss, norm) tensors of the steps after stats_steps
    model.train()
    try:
        for step, items in enumerate(batches, 1):
            if stats_steps is not None and step > stats_steps:
                meter.close()
                late.append(_plain_step(model, items, params, opt, cfg, device, pad_id, trace))
                if on_step:
                    on_step(step, float("nan"))
                continue
            sync(device)
            t0 = time.perf_counter()
            batch = {k: v.to(device) for k, v in collate(items, pad_id).items()}
            meter.mask = batch["attention_mask"]
            loss = model(**batch).loss
            loss.backward()
            grad = flat([p.grad if p.grad is not None else torch.zeros_like(p) for p in params])
            norm, cos, sparsity = grad_stats(grad, prev)
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            opt.step()
            opt.zero_grad(set_to_none=True)
            prev = grad
            sync(device)
            trace.losses.append(float(loss.detach()))
            trace.grad_norms.append(norm)
            if step > 1:
                trace.grad_cosines.append(cos)
                trace.grad_sparsity.append(sparsity)
            trace.act_sparsity.append(meter.take())
            trace.step_s.append(time.perf_counter() - t0)
            meter.mask = None  # forwards inside on_step are not training steps
            if on_step:
                on_step(step, trace.losses[-1])
    finally:
        meter.close()
        model.eval()
    if late:
        losses, norms = (torch.stack([t[i] for t in late]).float().cpu().tolist() for i in (0, 1))
        trace.losses += losses
        trace.grad_norms += norms
    trace.param_change_norm = float((flat(params) - start).norm())
    return trace


def _plain_step(model, items, params, opt, cfg, device: str, pad_id: int, trace: TrainTrace):
    """One optimizer step without statistics or device sync; (loss, pre-clip norm) as tensors."""
    import torch

    t0 = time.perf_counter()
    batch = {k: v.to(device, non_blocking=True) for k, v in collate(items, pad_id).items()}
    loss = model(**batch).loss
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
    opt.step()
    opt.zero_grad(set_to_none=True)
    trace.step_s.append(time.perf_counter() - t0)  # time to enqueue the step (no sync)
    return loss.detach(), norm.detach()


def sharpness(model, items: Sequence[Encoded], device: str, pad_id: int,
              rho: float, seed: int) -> tuple[float, float, float]:
    """(L(θ), L(θ+δ), L(θ-δ)) on ``items``, where δ is one fixed random
    direction over the LoRA tensors, filter-normalised: for each tensor p,
    ``δ_p = rho * ||p|| * u_p / ||u_p||`` with ``u_p ~ N(0, I)`` drawn from a CPU
    generator seeded with ``seed`` (the same direction on every device)."""
    import torch

    params = lora_params(model)
    gen = torch.Generator().manual_seed(seed)
    deltas = []
    for p in params:
        u = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        scale = rho * float(p.detach().float().norm()) / max(float(u.norm()), 1e-30)
        deltas.append((u * scale).to(p.device, p.dtype))
    def loss() -> float:
        return mean_nll(target_logprobs(model, items, device, pad_id))

    out = [loss()]
    with torch.no_grad():
        for sign in (1.0, -1.0):
            for p, d in zip(params, deltas):
                p.add_(d, alpha=sign)
            out.append(loss())
            for p, d in zip(params, deltas):
                p.sub_(d, alpha=sign)
    return out[0], out[1], out[2]
