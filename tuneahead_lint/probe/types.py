"""The probe's records: :class:`ProbeConfig` (hyperparameters, device
defaults) and :class:`ProbeResult` (features and raw series of one run, with
its JSON form for the cache)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from tuneahead_lint.types import Measure

PROBE_VERSION = "1"  # bump when a feature's definition or the training loop changes
GPU_DEFAULT_STEPS = 100  # the paper's budget
CPU_DEFAULT_STEPS = 20  # about 1 min of LoRA steps at batch 4 x 128 tokens on 2 cores
CPU_DEFAULT_PAIRS = 32
GPU_DEFAULT_PAIRS = 64


@dataclass(frozen=True)
class ProbeConfig:
    """Hyperparameters of the probe (defaults: common LoRA SFT practice).

    ``steps`` / ``contrast_pairs`` None: 100 / 64 on CUDA, 20 / 32 on CPU.
    ``device`` None: CUDA when present. ``dtype`` "auto": bfloat16 on CUDA
    when supported, else float32. ``target_modules`` "auto": attention
    projections if the model has them, else peft's default for the architecture."""

    base_model: str | None = None
    steps: int | None = None
    lr: float = 2e-4
    batch_size: int = 4
    max_len: int = 256
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] | str = ("q_proj", "k_proj", "v_proj", "o_proj")
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    max_grad_norm: float = 1.0
    seed: int = 0
    contrast_pairs: int | None = None
    forgetting_items: int = 64
    flatness_items: int = 8
    flatness_rho: float = 1.0
    device: str | None = None
    dtype: str = "auto"
    use_cache: bool = True
    progress: bool = True

    def resolved(self) -> ProbeConfig:
        """A copy with device, steps and contrast_pairs filled in."""
        from tuneahead_lint.basemodel import default_device

        device = self.device or default_device()
        gpu = device.startswith("cuda")
        return replace(
            self, device=device,
            steps=self.steps if self.steps is not None else (
                GPU_DEFAULT_STEPS if gpu else CPU_DEFAULT_STEPS),
            contrast_pairs=self.contrast_pairs if self.contrast_pairs is not None else (
                GPU_DEFAULT_PAIRS if gpu else CPU_DEFAULT_PAIRS))

    def params(self) -> dict[str, Any]:
        """Everything that changes the result (cache key, report)."""
        out = asdict(self)
        for k in ("use_cache", "progress"):
            out.pop(k)
        out["target_modules"] = list(self.target_modules) if not isinstance(
            self.target_modules, str) else self.target_modules
        out["betas"] = list(self.betas)
        return out


Values = tuple[tuple[str, Measure], ...]


@dataclass(frozen=True)
class ProbeResult:
    """Features and raw series of one probe run.

    ``values``: ``probe_*`` (dynamic) then ``contrast_*`` features.
    ``losses``/``grad_norms``: per step (index 0 = step 1). ``step_refs``: the
    (path, line) of the records in each step's batch. ``wall_s``: seconds the
    run took when it was computed (also for a cached result: ``cached`` True).
    ``timings``: seconds per stage. ``config``: resolved hyperparameters."""

    values: Values
    losses: tuple[float, ...]
    grad_norms: tuple[float, ...]
    steps_run: int
    device: str
    wall_s: float
    cached: bool = False
    step_refs: tuple[tuple[tuple[str, int], ...], ...] = ()
    timings: tuple[tuple[str, float], ...] = ()
    config: tuple[tuple[str, Any], ...] = ()
    model: str = ""
    key: str = ""

    def get(self, name: str) -> Measure | None:
        return dict(self.values).get(name)

    def value(self, name: str) -> float:
        m = self.get(name)
        return m.value if m is not None else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "values": [[n, m.value, [list(r) for r in m.refs], m.detail] for n, m in self.values],
            "losses": list(self.losses), "grad_norms": list(self.grad_norms),
            "steps_run": self.steps_run, "device": self.device, "wall_s": self.wall_s,
            "step_refs": [[list(r) for r in refs] for refs in self.step_refs],
            "timings": [list(t) for t in self.timings], "config": dict(self.config),
            "model": self.model, "key": self.key, "version": PROBE_VERSION,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], cached: bool = True) -> ProbeResult:
        def refs(rs):
            return tuple((str(p), int(ln)) for p, ln in rs)
        return cls(
            values=tuple((n, Measure(float(v), refs(r), det)) for n, v, r, det in d["values"]),
            losses=tuple(d["losses"]), grad_norms=tuple(d["grad_norms"]),
            steps_run=int(d["steps_run"]), device=d["device"], wall_s=float(d["wall_s"]),
            cached=cached, step_refs=tuple(refs(r) for r in d["step_refs"]),
            timings=tuple((k, float(v)) for k, v in d["timings"]),
            config=tuple(sorted(d["config"].items())), model=d["model"], key=d["key"])
