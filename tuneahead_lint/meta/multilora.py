"""K LoRA adapters on one frozen base model, trained and scored in one pass.

Each adapted linear layer holds the K runs' weights stacked, ``A[K, r, in]``
and ``B[K, out, r]``; a shared :class:`Layout` says which rows of the batch
belong to which slot (rows are slot-major: slot ``slots[0]``'s rows first).
With equal rows per slot the adapter update is two batched matmuls over the
slots; otherwise each row gathers its slot's matrices. The math is peft's
LoRA (``x @ A.T @ B.T * alpha / r`` in float32, added to the base output),
and a slot is re-initialised as peft initialises a fresh adapter, in the
same module order (``runner.reset_lora``), so slot k of a group trains as
the same run alone would.

:class:`SlotModel` shows one slot as a peft model (``named_parameters`` are
that slot's ``A[k]``/``B[k]`` views under peft's names, ``disable_adapter``)
for the code that reads one model: the probe's hooks and features.
:class:`StackedAdamW` is torch's AdamW with a learning rate and weight decay
per slot; :func:`clip_per_slot` is ``clip_grad_norm_`` per slot.

This module imports torch at load (it defines ``nn.Module`` subclasses):
import it only inside the stage that trains (``grouprun``, ``grouptrain`` do).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
import torch
from torch import nn


@dataclass
class Layout:
    """Which slot each row of the next forward uses: ``slots[i]`` owns
    ``counts[i]`` consecutive rows. ``off``: the base model alone."""

    slots: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    off: bool = False
    cache: dict = field(default_factory=dict)  # per (device): index tensors of the current layout

    def set(self, slots: Sequence[int], counts: Sequence[int]) -> None:
        self.slots, self.counts, self.off, self.cache = list(slots), list(counts), False, {}

    def uniform(self) -> bool:
        return len(set(self.counts)) == 1

    def slot_index(self, device) -> torch.Tensor:
        key = ("slots", str(device))
        if key not in self.cache:
            self.cache[key] = torch.tensor(self.slots, device=device)
        return self.cache[key]

    def row_index(self, device) -> torch.Tensor:
        key = ("rows", str(device))
        if key not in self.cache:
            self.cache[key] = torch.tensor([s for s, n in zip(self.slots, self.counts) for _ in range(n)],
                                           device=device)
        return self.cache[key]


class StackedLoRA(nn.Module):
    """A frozen linear layer plus K LoRA adapters selected per row by ``layout``."""

    def __init__(self, base: nn.Linear, k: int, r: int, alpha: float, layout: Layout) -> None:
        super().__init__()
        self.base, self.layout, self.scaling = base, layout, alpha / r
        dev = base.weight.device
        self.lora_A = nn.Parameter(torch.zeros(k, r, base.in_features, device=dev, dtype=torch.float32))
        self.lora_B = nn.Parameter(torch.zeros(k, base.out_features, r, device=dev, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        lay = self.layout
        if lay.off or not lay.slots:
            return y
        xf = x.to(torch.float32)
        if lay.uniform():
            return (y + self._uniform_delta(xf)).to(y.dtype)
        return (y + self._gathered_delta(xf)).to(y.dtype)

    def _uniform_delta(self, x: torch.Tensor) -> torch.Tensor:
        """``counts`` equal: rows of a slot as one matrix, one bmm per factor."""
        idx = self.layout.slot_index(x.device)
        k = len(self.layout.slots)
        xs = x.reshape(k, -1, x.shape[-1])
        a = self.lora_A.index_select(0, idx)
        b = self.lora_B.index_select(0, idx)
        d = torch.bmm(torch.bmm(xs, a.transpose(1, 2)), b.transpose(1, 2)) * self.scaling
        return d.reshape(*x.shape[:-1], -1)

    def _gathered_delta(self, x: torch.Tensor) -> torch.Tensor:
        """Unequal ``counts``: every row gathers its slot's matrices."""
        idx = self.layout.row_index(x.device)
        x3 = x.reshape(x.shape[0], -1, x.shape[-1])
        a = self.lora_A.index_select(0, idx)
        b = self.lora_B.index_select(0, idx)
        d = torch.bmm(torch.bmm(x3, a.transpose(1, 2)), b.transpose(1, 2)) * self.scaling
        return d.reshape(*x.shape[:-1], -1)


class MultiLora:
    """``k`` stacked adapters attached to ``model`` in place (``detach`` restores it)."""

    def __init__(self, model: nn.Module, k: int, r: int, alpha: float, targets: Sequence[str]) -> None:
        self.model, self.k, self.layout = model, k, Layout()
        self.layers: dict[str, StackedLoRA] = {}
        for name, module in sorted(model.named_modules(), key=lambda t: t[0]):
            if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets:
                self.layers[name] = StackedLoRA(module, k, r, alpha, self.layout)
        if not self.layers:
            raise ValueError(f"no linear layer named {', '.join(targets)} to adapt")
        for name, layer in self.layers.items():
            _set_module(model, name, layer)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in self.params():
            p.requires_grad_(True)

    def detach(self) -> nn.Module:
        for name, layer in self.layers.items():
            _set_module(self.model, name, layer.base)
        return self.model

    def params(self) -> list[nn.Parameter]:
        """Stacked LoRA tensors in peft's sorted-name order (A before B per layer)."""
        return [p for _, layer in sorted(self.layers.items()) for p in (layer.lora_A, layer.lora_B)]

    def named_slot_params(self, slot: int) -> list[tuple[str, torch.Tensor]]:
        """Slot ``slot``'s tensors as views, under the names peft gives them."""
        out = []
        for name, layer in self.layers.items():
            out.append((f"base_model.model.{name}.lora_A.default.weight", layer.lora_A[slot]))
            out.append((f"base_model.model.{name}.lora_B.default.weight", layer.lora_B[slot]))
        return sorted(out, key=lambda t: t[0])

    def reset(self, slot: int, seed: int, device: str) -> None:
        """Slot ``slot`` as a fresh peft adapter from ``seed``: kaiming-uniform A, zero B,
        layers in sorted-name order (``runner.reset_lora``)."""
        gpu = [torch.device(device).index or 0] if str(device).startswith("cuda") else []
        with torch.random.fork_rng(devices=gpu), torch.no_grad():
            torch.manual_seed(seed)
            for _, layer in sorted(self.layers.items()):
                fresh = torch.empty(layer.lora_A.shape[1:], device=layer.lora_A.device, dtype=torch.float32)
                nn.init.kaiming_uniform_(fresh, a=math.sqrt(5))
                layer.lora_A[slot].copy_(fresh)
                layer.lora_B[slot].zero_()

    def zero_grad(self) -> None:
        for p in self.params():
            p.grad = None

    @torch.no_grad()
    def poison(self, slot: int) -> None:
        """Slot ``slot``'s weights to NaN (a diverged run's state)."""
        for p in self.params():
            p[slot].fill_(math.nan)

    def finite(self) -> list[bool]:
        """Per slot: every weight finite."""
        ok = torch.ones(self.k, dtype=torch.bool, device=self.params()[0].device)
        for p in self.params():
            ok &= torch.isfinite(p.detach()).reshape(self.k, -1).all(dim=1)
        return ok.cpu().tolist()

    def slot_flat(self, slot: int, grads: bool = False) -> torch.Tensor:
        """Slot ``slot``'s weights (or gradients) as one float32 vector, peft's order."""
        parts = []
        for p in self.params():
            t = p.grad if grads else p
            parts.append((t[slot] if t is not None else torch.zeros_like(p[slot])).detach().reshape(-1).float())
        return torch.cat(parts)

    @contextlib.contextmanager
    def only(self, slot: int) -> Iterator[None]:
        """Every row of the forwards inside uses slot ``slot`` (the old layout
        comes back; ``off`` stays as it is)."""
        old = (self.layout.slots, self.layout.counts)
        self.layout.slots, self.layout.counts, self.layout.cache = [slot], [1], {}
        try:
            yield
        finally:
            self.layout.slots, self.layout.counts = old
            self.layout.cache = {}

    @contextlib.contextmanager
    def disabled(self) -> Iterator[None]:
        old = self.layout.off
        self.layout.off = True
        try:
            yield
        finally:
            self.layout.off = old

    def fan(self, slots: Sequence[int]) -> Fan:
        return Fan(self, list(slots))


@dataclass
class Fan:
    """Score several slots in one forward: a batch of ``n`` rows is repeated
    once per slot (slot-major) and ``rows(n)`` points the layout at it."""

    multi: MultiLora
    slots: list[int]

    @property
    def k(self) -> int:
        return len(self.slots)

    def rows(self, n: int) -> None:
        self.multi.layout.set(self.slots, [n] * len(self.slots))


class SlotModel:
    """One slot of a :class:`MultiLora` seen as a peft model: forwards use that
    slot for every row, ``named_parameters`` yields its weights (views,
    changed in place by the probe's sharpness), ``disable_adapter`` the base."""

    def __init__(self, multi: MultiLora, slot: int) -> None:
        self.multi, self.slot = multi, slot

    def __call__(self, *args, **kwargs):
        with self.multi.only(self.slot):
            return self.multi.model(*args, **kwargs)

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        return self.multi.named_slot_params(self.slot)

    def parameters(self) -> list[torch.Tensor]:
        return [p for _, p in self.named_parameters()]

    def disable_adapter(self):
        return self.multi.disabled()

    def get_base_model(self):
        return _SlotBase(self)

    def train(self, mode: bool = True) -> SlotModel:
        self.multi.model.train(mode)
        return self

    def eval(self) -> SlotModel:
        return self.train(False)

    @property
    def training(self) -> bool:
        return self.multi.model.training

    @property
    def config(self):
        return self.multi.model.config


class _SlotBase:
    """``get_base_model()`` of a :class:`SlotModel`: the base model's decoder
    and head, with the decoder's forwards on the slot (``evalsuite.body_and_head``)."""

    def __init__(self, slot_model: SlotModel) -> None:
        self.sm, self.config = slot_model, slot_model.multi.model.config

    def get_decoder(self):
        sm = self.sm

        def body(*args, **kwargs):
            with sm.multi.only(sm.slot):
                return sm.multi.model.get_decoder()(*args, **kwargs)
        body.forward = sm.multi.model.get_decoder().forward  # the signature evalsuite inspects
        return body

    def get_output_embeddings(self):
        return self.sm.multi.model.get_output_embeddings()


def _set_module(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, module)


# ---------------------------------------------------------------- optimisation


def slot_grad_norms(params: Sequence[torch.Tensor], k: int) -> torch.Tensor:
    """Per-slot L2 norm of the gradients of stacked ``params`` ([K], float32)."""
    sq = torch.zeros(k, dtype=torch.float32, device=params[0].device)
    for p in params:
        if p.grad is not None:
            sq += p.grad.detach().float().pow(2).reshape(k, -1).sum(dim=1)
    return sq.sqrt()


def clip_per_slot(params: Sequence[torch.Tensor], k: int, max_norm: torch.Tensor) -> torch.Tensor:
    """``clip_grad_norm_`` applied to each slot on its own; the pre-clip norms [K]."""
    norms = slot_grad_norms(params, k)
    coef = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    for p in params:
        if p.grad is not None:
            p.grad.mul_(coef.reshape(k, *([1] * (p.dim() - 1))).to(p.grad.dtype))
    return norms


class StackedAdamW:
    """torch's AdamW (no amsgrad) on stacked tensors, one learning rate,
    weight decay and step count per slot. ``step(active)`` updates the
    active slots only (the others keep weights and moments)."""

    def __init__(self, params: Sequence[torch.Tensor], lr: Sequence[float], weight_decay: Sequence[float],
                 betas: tuple[float, float], eps: float = 1e-8) -> None:
        dev = params[0].device
        self.params, self.betas, self.eps = list(params), betas, eps
        self.lr = torch.tensor(lr, dtype=torch.float64, device=dev)
        self.wd = torch.tensor(weight_decay, dtype=torch.float64, device=dev)
        self.steps = torch.zeros(len(lr), dtype=torch.float64, device=dev)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def reset(self, slot: int, lr: float, weight_decay: float) -> None:
        """Fresh optimizer state for a new run in ``slot``."""
        self.lr[slot], self.wd[slot], self.steps[slot] = lr, weight_decay, 0
        for m, v in zip(self.m, self.v):
            m[slot].zero_()
            v[slot].zero_()

    @torch.no_grad()
    def step(self, active: Sequence[int]) -> None:
        idx = torch.tensor(list(active), device=self.lr.device)
        if not len(idx):
            return
        self.steps[idx] += 1
        b1, b2 = self.betas
        t = self.steps[idx]
        lr, wd = self.lr[idx], self.wd[idx]
        step_size = (lr / (1 - b1 ** t)).float()
        bc2_sqrt = torch.sqrt(1 - b2 ** t).float()
        decay = (1 - lr * wd).float()
        for p, m, v in zip(self.params, self.m, self.v):
            self._update(p, m, v, idx, step_size, bc2_sqrt, decay)

    def _update(self, p, m, v, idx, step_size, bc2_sqrt, decay) -> None:
        b1, b2 = self.betas
        shape = (-1, *([1] * (p.dim() - 1)))
        g = p.grad.index_select(0, idx) if p.grad is not None else torch.zeros_like(p.index_select(0, idx))
        ps = p.index_select(0, idx) * decay.reshape(shape)
        ms = m.index_select(0, idx).lerp_(g, 1 - b1)
        vs = v.index_select(0, idx).mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (vs.sqrt() / bc2_sqrt.reshape(shape)).add_(self.eps)
        ps = ps - step_size.reshape(shape) * (ms / denom)
        p.index_copy_(0, idx, ps)
        m.index_copy_(0, idx, ms)
        v.index_copy_(0, idx, vs)
