"""The probe run: contrast margins of the base model, general-slice NLL
before, a fixed-budget LoRA run, flatness and general-slice NLL after
(see :mod:`tuneahead_lint.probe`). The base model is loaded once per
process (:func:`load_base`); results are cached under :func:`cache_key`."""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tuneahead_lint.basemodel import load_causal_lm, model_id, resolve
from tuneahead_lint.probe import cache, forgetting, lora
from tuneahead_lint.probe.contrast import score_pairs
from tuneahead_lint.probe.data import batch_plan, data_hash, encode, sample_order, usable
from tuneahead_lint.probe.features import RunRecord, contrast_values, probe_values
from tuneahead_lint.probe.lora import ProbeError
from tuneahead_lint.probe.progress import Stages
from tuneahead_lint.probe.scoring import mean_nll, target_logprobs
from tuneahead_lint.probe.types import PROBE_VERSION, ProbeConfig, ProbeResult, Values
from tuneahead_lint.types import Example


@functools.lru_cache(maxsize=1)
def load_base(spec: str | None, device: str, dtype: str):
    """Base model (eval, never modified: training works on a deep copy)."""
    return load_causal_lm(spec, device=device, dtype=dtype)


def general_nll(model, tok, cfg: ProbeConfig, on_chunk=None) -> float:
    """Gold-answer NLL of ``model`` on the general slice (nats/token)."""
    items = forgetting.encode_slice(tok, cfg.forgetting_items, cfg.max_len)
    return mean_nll(target_logprobs(model, items, cfg.device, tok.pad_token_id, on_chunk=on_chunk))


@functools.lru_cache(maxsize=4)
def _general_nll_before(cfg: ProbeConfig) -> float:
    """The base model's general-slice NLL: the same for every dataset, so
    memoised on what it depends on (``general_key``)."""
    base, tok = load_base(cfg.base_model, cfg.device, cfg.dtype)
    return general_nll(base, tok, cfg)


def general_key(cfg: ProbeConfig) -> ProbeConfig:
    return ProbeConfig(base_model=cfg.base_model, device=cfg.device, dtype=cfg.dtype,
                       forgetting_items=cfg.forgetting_items, max_len=cfg.max_len)


def _model_name(spec: str | None) -> str:
    return resolve(spec).name


def cache_key(kind: str, recs: Sequence[Example], cfg: ProbeConfig) -> str:
    """Cache key of a ``kind`` run: version, data, base-model identity, hyperparameters."""
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
    cfg = cfg.resolved()
    recs = _records(examples)
    model, tok = load_base(cfg.base_model, cfg.device, cfg.dtype)
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
    key = cache_key("probe", recs, cfg)
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
        lora.sync(self.device)
        now = time.perf_counter()
        self.marks.append((name, now - self.t))
        self.t = now


def _compute(recs: list[Example], cfg: ProbeConfig, key: str) -> ProbeResult:
    clock = _Clock(cfg.device)
    with Stages(cfg.progress) as stages:
        stages.stage("load model", 1)
        base, tok = load_base(cfg.base_model, cfg.device, cfg.dtype)
        clock.lap("load_s")
        contrast = run_contrast(recs, cfg, stages)
        clock.lap("contrast_s")
        before = _general_nll_before(general_key(cfg))
        clock.lap("forgetting_before_s")
        plan = batch_plan(len(recs), cfg.steps, cfg.batch_size, cfg.seed)
        model, trace = _train(base, tok, recs, plan, cfg, stages)
        clock.lap("train_s")
        flat = flatness_triple(model, tok, recs, cfg, stages)
        clock.lap("flatness_s")
        stages.stage("general after", cfg.forgetting_items)
        after = general_nll(model, tok, cfg, on_chunk=stages.advance)
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

    encoded = {i: encode(tok, recs[i], cfg.max_len) for i in sorted({i for b in plan for i in b})}
    gpu = [torch.cuda.current_device()] if cfg.device.startswith("cuda") else []
    with torch.random.fork_rng(devices=gpu):
        torch.manual_seed(cfg.seed)
        model = lora.attach_lora(copy.deepcopy(base), cfg)
        stages.stage("LoRA probe", cfg.steps)
        trace = lora.train(model, [[encoded[i] for i in b] for b in plan], cfg, cfg.device,
                           tok.pad_token_id, lambda _s, loss: stages.advance(1, f"loss {loss:.3f}"))
    return model, trace


def flatness_triple(model, tok, recs: list[Example], cfg: ProbeConfig, stages: Stages):
    """Sharpness triple on ``flatness_items`` records drawn with ``seed + 1``."""
    held = [encode(tok, recs[i], cfg.max_len)
            for i in sample_order(len(recs), cfg.seed + 1)[:cfg.flatness_items]]
    stages.stage("flatness", 1)
    return lora.sharpness(model, held, cfg.device, tok.pad_token_id, cfg.flatness_rho, cfg.seed)


def _avg(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan
