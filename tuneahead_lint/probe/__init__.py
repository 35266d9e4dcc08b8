"""The probe: dynamic features from a short LoRA run of the base model on the
data, plus base-model contrast features (forward passes only).

``run_probe(examples, ProbeConfig(...))`` runs, in order: contrast margins of
the base model (:mod:`.contrast`), general-slice NLL before (:mod:`.forgetting`),
a fixed-budget LoRA run (:mod:`.lora`), flatness and general-slice NLL after.
Features are defined in :mod:`.features` (``PROBE_FEATURES``,
``CONTRAST_FEATURES``). Results are cached by data hash, model,
hyperparameters, budget and :data:`PROBE_VERSION`.

Reproducibility: on CPU the same input and seed give bit-identical features
(same machine, same torch thread count). On CUDA the base model runs in
bfloat16 and backward kernels use atomics, so features agree only to a
tolerance: expect about 1e-2 relative on losses and gradient norms and the
noise floor of bf16 (about 1e-3 nats) on the small differences (flatness,
forgetting, margins); not yet measured on a GPU.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tuneahead_lint.basemodel import model_id
from tuneahead_lint.probe import cache
from tuneahead_lint.probe.data import batch_plan, data_hash, encode, sample_order, usable
from tuneahead_lint.probe.features import (CONTRAST_FEATURES, PROBE_FEATURES, RunRecord,
                                           contrast_values, probe_values)
from tuneahead_lint.probe.lora import ProbeError
from tuneahead_lint.probe.progress import Stages
from tuneahead_lint.types import Example, Measure

__all__ = ["CONTRAST_FEATURES", "CPU_DEFAULT_STEPS", "GPU_DEFAULT_STEPS", "PROBE_FEATURES",
           "PROBE_VERSION", "ProbeConfig", "ProbeError", "ProbeResult", "run_contrast",
           "run_probe"]

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


@functools.lru_cache(maxsize=1)
def _base(spec: str | None, device: str, dtype: str):
    """Base model (eval, never modified: training works on a deep copy)."""
    from tuneahead_lint.basemodel import load_causal_lm

    return load_causal_lm(spec, device=device, dtype=dtype)


def _general_nll(model, tok, cfg: ProbeConfig, on_chunk=None) -> float:
    """Gold-answer NLL of ``model`` on the general slice (nats/token)."""
    from tuneahead_lint.probe import forgetting
    from tuneahead_lint.probe.scoring import mean_nll, target_logprobs

    items = forgetting.encode_slice(tok, cfg.forgetting_items, cfg.max_len)
    return mean_nll(target_logprobs(model, items, cfg.device, tok.pad_token_id, on_chunk=on_chunk))


@functools.lru_cache(maxsize=4)
def _general_nll_before(cfg: ProbeConfig) -> float:
    """The base model's general-slice NLL: the same for every dataset, so
    memoised on what it depends on (``_general_key``)."""
    base, tok = _base(cfg.base_model, cfg.device, cfg.dtype)
    return _general_nll(base, tok, cfg)


def _general_key(cfg: ProbeConfig) -> ProbeConfig:
    return ProbeConfig(base_model=cfg.base_model, device=cfg.device, dtype=cfg.dtype,
                       forgetting_items=cfg.forgetting_items, max_len=cfg.max_len)


def _model_name(spec: str | None) -> str:
    from tuneahead_lint.basemodel import resolve

    return resolve(spec).name


def _key(kind: str, recs: Sequence[Example], cfg: ProbeConfig) -> str:
    return cache.make_key({"kind": kind, "version": PROBE_VERSION, "data": data_hash(recs),
                           "model": model_id(cfg.base_model), "params": cfg.params()})


def _records(examples: Sequence[Example]) -> list[Example]:
    recs = usable(examples)
    if not recs:
        raise ProbeError("no record has a non-empty assistant response to probe")
    return recs


def run_contrast(examples: Sequence[Example], cfg: ProbeConfig = ProbeConfig(),
                 stages: Stages | None = None) -> Values:
    """Contrast features of the base model on ``examples`` (forward passes only).
    Not cached on its own; :func:`run_probe` caches it with the rest."""
    from tuneahead_lint.probe.contrast import score_pairs

    cfg = cfg.resolved()
    recs = _records(examples)
    model, tok = _base(cfg.base_model, cfg.device, cfg.dtype)
    own = stages is None
    stages = stages or Stages(cfg.progress)
    with stages if own else contextlib.nullcontext():
        pairs = score_pairs(model, tok, recs, cfg.contrast_pairs, cfg.max_len, cfg.seed,
                            cfg.device, stages)
    return contrast_values(pairs)


def run_probe(examples: Sequence[Example], cfg: ProbeConfig = ProbeConfig()) -> ProbeResult:
    """Run (or fetch from cache) the probe on ``examples``; see module doc."""
    cfg = cfg.resolved()
    recs = _records(examples)
    key = _key("probe", recs, cfg)
    if cfg.use_cache and (hit := cache.load(key)) is not None and hit.get("version") == PROBE_VERSION:
        return ProbeResult.from_json(hit)
    result = _compute(recs, cfg, key)
    if cfg.use_cache:
        cache.store(key, result.to_json())
    return result


@dataclass
class _Clock:
    device: str
    marks: list[tuple[str, float]] = field(default_factory=list)
    t: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        from tuneahead_lint.probe.lora import sync

        sync(self.device)
        now = time.perf_counter()
        self.marks.append((name, now - self.t))
        self.t = now


def _compute(recs: list[Example], cfg: ProbeConfig, key: str) -> ProbeResult:
    clock = _Clock(cfg.device)
    with Stages(cfg.progress) as stages:
        stages.stage("load model", 1)
        base, tok = _base(cfg.base_model, cfg.device, cfg.dtype)
        clock.lap("load_s")
        contrast = run_contrast(recs, cfg, stages)
        clock.lap("contrast_s")
        before = _general_nll_before(_general_key(cfg))
        clock.lap("forgetting_before_s")
        plan = batch_plan(len(recs), cfg.steps, cfg.batch_size, cfg.seed)
        model, trace = _train(base, tok, recs, plan, cfg, stages)
        clock.lap("train_s")
        flat = _flatness(model, tok, recs, cfg, stages)
        clock.lap("flatness_s")
        stages.stage("general after", cfg.forgetting_items)
        after = _general_nll(model, tok, cfg, on_chunk=stages.advance)
        clock.lap("forgetting_after_s")
    step_refs = tuple(tuple((recs[i].path, recs[i].line) for i in b) for b in plan)
    run = RunRecord(trace, step_refs, flat, (before, after))
    return ProbeResult(
        values=probe_values(run) + contrast, losses=tuple(trace.losses),
        grad_norms=tuple(trace.grad_norms), steps_run=len(trace.losses), device=cfg.device,
        wall_s=sum(s for _, s in clock.marks), step_refs=step_refs,
        timings=tuple(clock.marks) + (("step_mean_s", _avg(trace.step_s)),),
        config=tuple(sorted(cfg.params().items())), model=_model_name(cfg.base_model), key=key)


def _train(base, tok, recs: list[Example], plan: list[list[int]], cfg: ProbeConfig,
           stages: Stages):
    """(LoRA model after the run, its trace). LoRA init and dropout are
    seeded inside a forked RNG, so the caller's random state is untouched."""
    import torch

    from tuneahead_lint.probe import lora

    encoded = {i: encode(tok, recs[i], cfg.max_len) for i in sorted({i for b in plan for i in b})}
    gpu = [torch.cuda.current_device()] if cfg.device.startswith("cuda") else []
    with torch.random.fork_rng(devices=gpu):
        torch.manual_seed(cfg.seed)
        model = lora.attach_lora(copy.deepcopy(base), cfg)
        stages.stage("LoRA probe", cfg.steps)
        trace = lora.train(model, [[encoded[i] for i in b] for b in plan], cfg, cfg.device,
                           tok.pad_token_id, lambda _s, loss: stages.advance(1, f"loss {loss:.3f}"))
    return model, trace


def _flatness(model, tok, recs: list[Example], cfg: ProbeConfig, stages: Stages):
    """Sharpness triple on ``flatness_items`` records drawn with ``seed + 1``."""
    from tuneahead_lint.probe import lora

    held = [encode(tok, recs[i], cfg.max_len)
            for i in sample_order(len(recs), cfg.seed + 1)[:cfg.flatness_items]]
    stages.stage("flatness", 1)
    return lora.sharpness(model, held, cfg.device, tok.pad_token_id, cfg.flatness_rho, cfg.seed)


def _avg(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan
