"""Execute one run inside a worker (a local process or a Ray task): build the
variant, fine-tune a fresh copy of the base model, score it on the suite,
compute the project's static and probe features of the same (data,
hyperparameters) pair. Returns plain data (:class:`RunOutcome`); only the
scheduler writes to the store.

Everything here is importable top-level and picklable: the local pool and
Ray call :func:`execute` / :func:`baseline` by reference.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import platform
import socket
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.store import ScoreRow

FEATURE_KINDS = ("static", "probe")


@dataclass(frozen=True)
class WorkerConfig:
    """Where a worker finds things and how it runs (the same for every run)."""

    data_dir: str
    eval_dir: str
    device: str | None = None  # None: cuda if present
    threads: int = 1  # torch CPU threads per worker
    features: tuple[str, ...] = FEATURE_KINDS
    probe_steps: int = 50
    probe_extra: tuple[tuple[str, Any], ...] = ()  # other ProbeConfig fields (preset)
    eval_batch_tokens: int = 0  # 0: 8192 on CPU, 65536 on CUDA
    probe_from_run: bool = True  # read probe features from the run when it is long enough


@dataclass
class RunOutcome:
    run_id: str
    ok: bool
    row: dict[str, Any] = field(default_factory=dict)
    scores: list[ScoreRow] = field(default_factory=list)
    features: list[tuple[str, str, list[tuple[str, float]], float, dict, str]] = field(default_factory=list)
    metrics: list[tuple[str, float | None]] = field(default_factory=list)
    error: str = ""


_WATCHDOG: list[int] = []


def setup_worker(threads: int) -> None:
    """Per-process torch settings."""
    import torch

    torch.set_num_threads(max(1, threads))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def init_pool_worker(threads: int) -> None:
    """Initializer of a local worker process: torch settings, and a watchdog
    that ends the worker when its parent goes away (a scheduler killed by a
    command time limit must not leave runs holding the GPU into the next
    command)."""
    import threading

    setup_worker(threads)
    if not _WATCHDOG:
        import multiprocessing

        # The pid of the process that started us, even if it died before this
        # line ran (then os.getppid() would already be the reaper's).
        parent = multiprocessing.parent_process()
        _WATCHDOG.append(parent.pid if parent is not None else os.getppid())
        threading.Thread(target=_watch_parent, args=(_WATCHDOG[0],), daemon=True).start()


def _watch_parent(ppid: int, every_s: float = 2.0) -> None:
    while True:
        time.sleep(every_s)
        if os.getppid() != ppid:
            os._exit(3)


@functools.lru_cache(maxsize=4)
def load_suite(eval_dir: str, suite: SuiteSpec):
    """Benchmark items of ``suite`` (cached per worker process)."""
    from tuneahead_lint.meta.evalsuite import load_benchmark

    return {b: load_benchmark(b, eval_dir, suite.n_items or None) for b in suite.benchmarks}


def worker_device(cfg: WorkerConfig) -> str:
    from tuneahead_lint.basemodel import default_device

    return cfg.device or default_device()


def device_label(device: str, threads: int) -> str:
    if device.startswith("cuda"):
        import torch

        return f"{device}:{torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu:{threads}t:{platform.processor() or platform.machine()}"


def eval_batch_tokens(device: str) -> int:
    """Default tokens per evaluation batch: 65,536 on CUDA, 8,192 on CPU."""
    return 65536 if device.startswith("cuda") else 8192


def batch_tokens_for(cfg: WorkerConfig, device: str) -> int:
    return cfg.eval_batch_tokens or eval_batch_tokens(device)


def score_rows(scores) -> list[ScoreRow]:
    return [ScoreRow(s.benchmark, s.acc, s.acc_norm, s.score, s.n, "".join(map(str, s.correct)),
                     finite(s.margin))
            for s in scores.values()]


def baseline(base_model: str, suite: SuiteSpec, cfg: WorkerConfig) -> tuple[list[ScoreRow], float, str]:
    """The base model's scores on ``suite``: (rows, seconds, device label)."""
    from tuneahead_lint.meta.evalsuite import evaluate

    device = worker_device(cfg)
    items = load_suite(cfg.eval_dir, suite)
    model, tok = worker_model(base_model, device)
    t0 = time.perf_counter()
    if _STATE.lora is not None:  # LoRA layers are in the model: score with them off
        with _STATE.lora.disable_adapter():
            scores = evaluate(_STATE.lora, tok, items, device, batch_tokens=batch_tokens_for(cfg, device))
    else:
        scores = evaluate(model, tok, items, device, batch_tokens=batch_tokens_for(cfg, device))
    return score_rows(scores), time.perf_counter() - t0, device_label(device, cfg.threads)


def execute(spec_json: str, cfg: WorkerConfig) -> RunOutcome:
    """Run one spec; never raises (errors come back in ``RunOutcome.error``)."""
    spec = RunSpec.from_json(spec_json)
    try:
        return _execute(spec, cfg)
    except Exception as exc:  # noqa: BLE001 - one failed run must not stop the build
        return RunOutcome(spec.run_id, False, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


@dataclass
class _Worker:
    """What a worker process keeps between runs: the base model (loaded once),
    its LoRA wrapper (re-attached only when the LoRA shape changes, its
    weights re-initialised from the run's seed before every run), and the
    base model's in-domain NLL per held-out set."""

    key: tuple[str, str] | None = None
    model: Any = None
    tok: Any = None
    lora: Any = None
    lora_key: tuple | None = None
    base_nll: dict = field(default_factory=dict)
    runs: int = 0


_STATE = _Worker()


def reset_worker() -> None:
    """Forget the loaded model (the next run loads it again, as a fresh worker would)."""
    global _STATE
    _STATE = _Worker()


def worker_model(base_model: str, device: str):
    """(base model, tokenizer), loaded on the first call of this process."""
    from tuneahead_lint.basemodel import load_causal_lm

    if _STATE.key != (base_model, device):
        reset_worker()
        _STATE.model, _STATE.tok = load_causal_lm(base_model, device)
        _STATE.key = (base_model, device)
    return _STATE.model, _STATE.tok


def fresh_lora(hp, seed: int, device: str):
    """The worker's peft model with every LoRA matrix re-initialised as a new
    adapter from ``seed`` (A: kaiming-uniform, B: zero), the same whatever ran before."""
    from tuneahead_lint.probe.lora import attach_lora

    key = (hp.lora_r, hp.lora_alpha, hp.lora_dropout, hp.target_modules)
    if _STATE.lora is None or _STATE.lora_key != key:
        if _STATE.lora is not None:
            _STATE.model = _STATE.lora.unload()
        _STATE.lora, _STATE.lora_key = attach_lora(_STATE.model, hp), key
    reset_lora(_STATE.lora, seed, device)
    return _STATE.lora


def reset_lora(peft_model, seed: int, device: str) -> None:
    """Re-initialise every LoRA layer in module order from ``seed`` (forked RNG)."""
    import torch
    from peft.tuners.lora.layer import LoraLayer

    gpu = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=gpu), torch.no_grad():
        torch.manual_seed(seed)
        for _, module in sorted(peft_model.named_modules(), key=lambda t: t[0]):
            if isinstance(module, LoraLayer):
                for name in module.lora_A:
                    module.reset_lora_parameters(name, True)
    for p in peft_model.parameters():
        p.grad = None


def _execute(spec: RunSpec, cfg: WorkerConfig) -> RunOutcome:
    import torch

    from tuneahead_lint import __version__
    from tuneahead_lint.meta.evalsuite import evaluate
    from tuneahead_lint.meta.finetune import finetune
    from tuneahead_lint.meta.variants import build_variant

    setup_worker(cfg.threads)
    device = worker_device(cfg)
    t_start = time.perf_counter()
    examples = build_variant(spec.recipe, cfg.data_dir, spec.plan())
    build_s = time.perf_counter() - t_start
    items = load_suite(cfg.eval_dir, spec.suite)
    t_load = time.perf_counter()
    model, tok = worker_model(spec.base_model, device)
    lora = fresh_lora(spec.hp, spec.seed, device)
    load_s = time.perf_counter() - t_load
    base_nll, base_s = base_indomain(spec, cfg, device, lora, tok)
    probe = start_run_probe(spec, cfg, examples, lora, tok, device)
    # per-step statistics only where the probe reads them
    peft_model, fit = finetune(model, tok, examples, spec.hp, spec.seed, device, lora_model=lora,
                               on_step=probe.on_step if probe else None,
                               stats_steps=probe.cfg.steps if probe else 1)
    t_eval = time.perf_counter()
    scores = evaluate(peft_model, tok, items, device, batch_tokens=batch_tokens_for(cfg, device))
    eval_s = time.perf_counter() - t_eval
    t_in = time.perf_counter()
    nll, tokens = indomain_nll(spec, cfg, device, peft_model, tok)
    indomain_s = time.perf_counter() - t_in
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    _STATE.runs += 1
    outcome = RunOutcome(spec.run_id, True, scores=score_rows(scores))
    outcome.features = [probe.finish(fit.trace) if kind == "probe" and probe else
                        compute_feature_set(kind, spec, examples, cfg, device) for kind in cfg.features]
    weights = spec.recipe.sources
    outcome.metrics = [
        ("indomain_nll", finite(weighted_mean(nll, weights))), ("base_indomain_nll", finite(weighted_mean(base_nll, weights))),
        ("indomain_tokens", float(sum(tokens.values()))), ("heldout_items", float(spec.recipe.heldout)),
        *((f"indomain_nll_{n}", finite(v)) for n, v in sorted(nll.items())),
        ("load_s", load_s), ("base_indomain_s", base_s), ("indomain_s", indomain_s),
        ("worker_run", float(_STATE.runs)),
    ]
    outcome.row = run_row(spec, cfg, fit, device, build_s, eval_s, t_start, __version__, torch.__version__)
    if probe:  # the probe's measurements at its last step are probe time, not training time
        outcome.row["train_s"] = fit.train_s - probe.hook_s
    return outcome


def run_row(spec: RunSpec, cfg: WorkerConfig, fit, device: str, build_s: float, eval_s: float, t_start: float,
         version: str, torch_version: str) -> dict[str, Any]:
    from tuneahead_lint.meta.variants import source_digest

    digest = "+".join(source_digest(n, cfg.data_dir) for n in spec.recipe.drawn_sources)
    return {
        "run_id": spec.run_id, "config_id": spec.config_id, "spec_json": spec.to_json(),
        "recipe_id": spec.recipe.id, "variant": spec.recipe.label, "seed": spec.seed,
        "base_model": spec.base_model, "sources_digest": digest,
        "records": fit.records, "steps": fit.steps, "target_tokens": fit.target_tokens,
        "loss_first": finite(fit.loss_first), "loss_last": finite(fit.loss_last),
        "loss_min": finite(fit.loss_min), "grad_norm_max": finite(fit.grad_norm_max),
        "diverged": int(fit.diverged), "build_s": build_s, "train_s": fit.train_s, "eval_s": eval_s,
        "total_s": time.perf_counter() - t_start, "device": device_label(device, cfg.threads),
        "host": socket.gethostname(), "worker": str(os.getpid()),
        "code_version": code_version(version), "torch_version": torch_version,
        "finished_at": time.time(),
    }


def start_run_probe(spec: RunSpec, cfg: WorkerConfig, examples, lora, tok, device: str):
    """A :class:`~tuneahead_lint.meta.runprobe.RunProbe` when the probe can be
    read from this run (probe features wanted, run at least as long)."""
    if "probe" not in cfg.features or not cfg.probe_from_run:
        return None
    from tuneahead_lint.meta.runprobe import RunProbe
    from tuneahead_lint.probe import ProbeConfig
    from tuneahead_lint.probe.data import usable

    steps = spec.hp.steps(len(usable(examples)))
    conf = probe_conf(spec, cfg, device)
    return RunProbe.start(known_fields(ProbeConfig, progress=False, use_cache=False, **conf), conf, examples, steps,
                          lora, tok)


def heldout_sources(spec: RunSpec) -> list[str]:
    return sorted({n for n, _ in spec.recipe.sources})


def indomain_nll(spec: RunSpec, cfg: WorkerConfig, device: str, model, tok) -> tuple[dict, dict]:
    """({source: NLL}, {source: tokens}) of ``model`` on the run's held-out
    sets (none when the recipe holds nothing out: v1 recipes)."""
    from tuneahead_lint.meta.indomain import encode_heldout, response_nll

    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    nll, tokens = {}, {}
    for src in heldout_sources(spec) if spec.recipe.heldout else ():
        enc = encode_heldout(tok, src, cfg.data_dir, spec.recipe.heldout, spec.hp.max_len)
        nll[src], tokens[src] = response_nll(model, enc, device, pad, batch_tokens_for(cfg, device))
    return nll, tokens


def base_indomain(spec: RunSpec, cfg: WorkerConfig, device: str, lora, tok) -> tuple[dict, float]:
    """The base model's held-out NLL per source (adapters off; once per worker)."""
    t0 = time.perf_counter()
    out = {}
    for src in heldout_sources(spec) if spec.recipe.heldout else ():
        key = (spec.base_model, src, spec.recipe.heldout, spec.hp.max_len)
        if key not in _STATE.base_nll:
            one = RunSpec(replace(spec.recipe, sources=((src, 1.0),)), spec.hp, 0, spec.base_model, spec.suite)
            with lora.disable_adapter():
                _STATE.base_nll[key] = indomain_nll(one, cfg, device, lora, tok)[0][src]
        out[src] = _STATE.base_nll[key]
    return out, time.perf_counter() - t0


def weighted_mean(per_source: dict[str, float], weights) -> float:
    from tuneahead_lint.meta.indomain import weighted

    return weighted(per_source, weights)


# Source files whose change can change a run's ground truth.
_GROUND_TRUTH_CODE = ("meta/evalsuite.py", "meta/finetune.py", "meta/variants.py",
                      "probe/data.py", "probe/lora.py", "meta/multilora.py", "meta/grouptrain.py",
                      "meta/indomain.py")


@functools.lru_cache(maxsize=1)
def code_version(version: str) -> str:
    """``<package version>+<sha256 of the ground-truth code, 10 hex>``."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in _GROUND_TRUTH_CODE:
        f = root / rel
        h.update(f.read_bytes() if f.exists() else b"")
    return f"{version}+{h.hexdigest()[:10]}"


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def known_fields(cls, **kw):
    """Construct ``cls`` with the keyword arguments it declares (the feature
    and probe configs are owned by other modules and may grow or shrink)."""
    names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(kw)
    return cls(**{k: v for k, v in kw.items() if k in names})


def compute_feature_set(kind: str, spec: RunSpec, examples, cfg: WorkerConfig, device: str):
    """(kind, status, [(name, value)], seconds, config, detail) for one feature kind.

    ``static``: ``features.compute_features`` on the variant; ``probe``:
    ``probe.run_probe`` with the run's learning rate, batch size, LoRA rank
    and seed. Failures are returned, not raised, so ground truth is kept and
    ``meta features`` can fill the gap later."""
    t0 = time.perf_counter()
    conf: dict[str, Any] = {"base_model": spec.base_model, "seed": spec.seed, "device": device}
    try:
        if kind == "static":
            # Static features describe the data, not the training run: seed 0
            # (the linter's default sample) for every seed repeat, so repeats
            # share their features and a lint of the same file reproduces them.
            conf["seed"] = 0
            from tuneahead_lint.features import FeatureConfig, compute_features

            result = compute_features(examples, known_fields(FeatureConfig, progress=False, **conf))
        elif kind == "probe":
            from tuneahead_lint.probe import ProbeConfig, run_probe

            conf = probe_conf(spec, cfg, device)
            result = run_probe(examples, known_fields(ProbeConfig, progress=False, **conf))
        else:
            raise ValueError(f"unknown feature kind {kind!r}")
        values = [(name, _as_float(m)) for name, m in result.values]
        return (kind, "ok", values, time.perf_counter() - t0, conf, "")
    except Exception as exc:  # noqa: BLE001
        return (kind, "error", [], time.perf_counter() - t0, conf, f"{type(exc).__name__}: {exc}")


def probe_conf(spec: RunSpec, cfg: WorkerConfig, device: str) -> dict[str, Any]:
    """The probe's settings for a run: its hyperparameters, the preset's probe budget."""
    hp = spec.hp
    return {"base_model": spec.base_model, "seed": spec.seed, "device": device, "steps": cfg.probe_steps,
            "lr": hp.lr, "batch_size": hp.batch_size, "lora_r": hp.lora_r, "lora_alpha": hp.lora_alpha,
            "lora_dropout": hp.lora_dropout, "max_len": hp.max_len, "weight_decay": hp.weight_decay,
            "max_grad_norm": hp.max_grad_norm, **dict(cfg.probe_extra)}


def _as_float(m: Any) -> float | None:
    v = float(getattr(m, "value", m))
    return v if math.isfinite(v) else None
