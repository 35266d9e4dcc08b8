"""Execute a group of K runs in one worker: K LoRA adapters stacked on the
worker's base model (``meta.multilora``) train in one forward/backward per
step (``meta.grouptrain``) and are scored together (every scoring batch
repeated once per adapter), each run ending as the same
:class:`~tuneahead_lint.meta.runner.RunOutcome` the run alone gives
(``tests/meta/test_group.py`` compares them).

Runs share a group when they share the base model, suite, LoRA shape,
``max_len`` and batch size (:func:`group_key`); data, size, learning rate,
weight decay, seed and step count may differ. Times in a run's row are the group's
divided by its runs (so runs/min add up); ``group_wall_s`` is the group's.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneahead_lint.meta.runner import (
    RunOutcome,
    WorkerConfig,
    base_indomain,
    batch_tokens_for,
    compute_feature_set,
    execute,
    finite,
    heldout_sources,
    load_suite,
    run_row,
    score_rows,
    setup_worker,
    start_run_probe,
    weighted_mean,
    worker_device,
)
from tuneahead_lint.meta.spec import RunSpec

MAX_GROUP = 64


def group_key(spec: RunSpec) -> tuple | None:
    """Runs with the same key can train in one group; None: this run trains alone
    (LoRA dropout, which the stacked layers do not implement)."""
    hp = spec.hp
    if hp.lora_dropout:
        return None
    return (spec.base_model, spec.suite, hp.lora_r, hp.lora_alpha, hp.target_modules, hp.max_len, hp.betas,
            hp.batch_size)


def make_groups(specs: Sequence[RunSpec], k: int) -> list[list[RunSpec]]:
    """``specs`` in groups of at most ``k`` that share a :func:`group_key`, in
    the order of each group's first run (a preset's order is kept as far as
    the keys allow)."""
    groups: list[list[RunSpec]] = []
    open_by_key: dict[Any, list[RunSpec]] = {}
    for s in specs:
        key = group_key(s)
        if key is None or k <= 1:
            groups.append([s])
            continue
        g = open_by_key.get(key)
        if g is None or len(g) >= k:
            g = open_by_key[key] = []
            groups.append(g)
        g.append(s)
    return groups


@dataclass(eq=False)
class _Member:
    """One run of the group while it executes."""

    spec: RunSpec
    slot: int
    examples: list = field(default_factory=list)
    encoded: list = field(default_factory=list)
    batches: list = field(default_factory=list)
    build_s: float = 0.0
    probe: Any = None
    base_nll: dict = field(default_factory=dict)
    error: str = ""
    trace: Any = None
    diverged: bool = False


@dataclass
class _Group:
    """What a worker keeps between groups: its own copy of the base model
    (loaded once; not the one-by-one runs' model, which carries peft's
    adapters) and the stacked adapters on it."""

    model_key: tuple | None = None
    model: Any = None
    tok: Any = None
    multi: Any = None
    key: tuple | None = None


_GROUP = _Group()


def reset_group_worker() -> None:
    """Forget the group model (the next group loads it again)."""
    global _GROUP
    _GROUP = _Group()


def group_model(base_model: str, device: str):
    """(base model, tokenizer) of this worker's groups, loaded on first use."""
    from tuneahead_lint.basemodel import load_causal_lm

    if _GROUP.model_key != (base_model, device):
        reset_group_worker()
        _GROUP.model, _GROUP.tok = load_causal_lm(base_model, device)
        _GROUP.model_key = (base_model, device)
    return _GROUP.model, _GROUP.tok


def execute_group(specs_json: Sequence[str], cfg: WorkerConfig) -> list[RunOutcome]:
    """Run the specs as one group; never raises (a failure comes back as each
    run's ``RunOutcome.error``)."""
    specs = [RunSpec.from_json(s) for s in specs_json]
    if len(specs) == 1 and group_key(specs[0]) is None:  # LoRA dropout: peft's path, alone
        return [execute(specs_json[0], cfg)]
    try:
        return _execute_group(specs, cfg)
    except Exception as exc:  # noqa: BLE001 - one failed group must not stop the build
        err = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        return [RunOutcome(s.run_id, False, error=err) for s in specs]


def group_multi(model, spec: RunSpec, k: int):
    """The worker's :class:`~tuneahead_lint.meta.multilora.MultiLora` with at
    least ``k`` slots of ``spec``'s LoRA shape (re-attached when it changes)."""
    from tuneahead_lint.meta.multilora import MultiLora
    from tuneahead_lint.probe.lora import resolve_targets

    hp = spec.hp
    targets = resolve_targets(model, hp.target_modules)
    key = (id(model), hp.lora_r, hp.lora_alpha, tuple(targets or ()))
    if _GROUP.multi is None or _GROUP.key != key or _GROUP.multi.k < k:
        if _GROUP.multi is not None and _GROUP.multi.model is model:
            _GROUP.multi.detach()
        if not targets:
            raise ValueError("group training needs named target modules (q_proj, ...) in the base model")
        _GROUP.multi, _GROUP.key = MultiLora(model, k, hp.lora_r, hp.lora_alpha, targets), key
    return _GROUP.multi


def _execute_group(specs: list[RunSpec], cfg: WorkerConfig) -> list[RunOutcome]:
    import torch

    setup_worker(cfg.threads)
    device = worker_device(cfg)
    t0 = time.perf_counter()
    model, tok = group_model(specs[0].base_model, device)
    members = [_prepare(s, j, cfg, tok) for j, s in enumerate(specs)]
    live = [m for m in members if not m.error]
    outcomes = {m.spec.run_id: RunOutcome(m.spec.run_id, False, error=m.error) for m in members if m.error}
    if live:
        multi = group_multi(model, specs[0], len(specs))
        try:
            times = _run_live(live, multi, cfg, tok, device)
            for m, out in zip(live, _outcomes(live, multi, cfg, tok, device, times, t0, len(live))):
                outcomes[m.spec.run_id] = out
        finally:
            multi.layout.set([], [])  # the base model again (a baseline may score it next)
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return [outcomes[s.run_id] for s in specs]


def _prepare(spec: RunSpec, slot: int, cfg: WorkerConfig, tok) -> _Member:
    """Build the run's records and batches (a failure is the run's error)."""
    from tuneahead_lint.meta.finetune import run_batches
    from tuneahead_lint.meta.variants import build_variant

    m = _Member(spec, slot)
    t0 = time.perf_counter()
    try:
        m.examples = build_variant(spec.recipe, cfg.data_dir, spec.plan())
        m.encoded, m.batches = run_batches(tok, m.examples, spec.hp, spec.seed)
    except Exception as exc:  # noqa: BLE001
        m.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    m.build_s = time.perf_counter() - t0
    return m


def _run_live(live: list[_Member], multi, cfg: WorkerConfig, tok, device: str) -> dict[str, float]:
    """Reset the slots, read base NLLs, start probes, train; phase seconds."""
    from tuneahead_lint.meta.grouptrain import GroupRun, train_group
    from tuneahead_lint.meta.multilora import SlotModel

    times: dict[str, float] = {}
    t = time.perf_counter()
    for m in live:
        multi.reset(m.slot, m.spec.seed, device)
        m.base_nll = base_indomain(m.spec, cfg, device, SlotModel(multi, m.slot), tok)[0]
    times["base_indomain_s"] = time.perf_counter() - t
    runs = []
    for m in live:
        m.probe = start_run_probe(m.spec, cfg, m.examples, SlotModel(multi, m.slot), tok, device)
        runs.append(GroupRun(m.slot, m.batches, m.spec.hp, None, m.probe.cfg.steps if m.probe else 1))
    t = time.perf_counter()
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    budget = batch_tokens_for(cfg, device)
    train_group(multi, runs, device, pad, lambda step: _probe_step(live, multi, tok, device, budget, step))
    times["train_s"] = time.perf_counter() - t - sum(m.probe.hook_s for m in live if m.probe)
    for m, r in zip(live, runs):
        m.trace, m.diverged = r.trace, r.diverged
    return times


def _probe_step(live: list[_Member], multi, tok, device: str, budget: int, step: int) -> None:
    """After ``step``: the batched probe measurements of the runs whose probe ends there."""
    from tuneahead_lint.meta.groupprobe import measure_at_probe_step

    due = {m.slot: m.probe for m in live if m.probe and m.probe.cfg.steps == step}
    if due:
        measure_at_probe_step(multi, due, tok, device, budget)


def _contrast(live: list[_Member], multi, cfg: WorkerConfig, tok, device: str) -> float:
    """Every run's contrast pairs in shared batches (base model); seconds per run."""
    from tuneahead_lint.meta.groupprobe import contrast_pairs

    t0 = time.perf_counter()
    probes = {m.slot: m.probe for m in live if m.probe}
    if probes:
        contrast_pairs(multi, probes, tok, device, batch_tokens_for(cfg, device))
    return (time.perf_counter() - t0) / max(1, len(probes))


def _outcomes(live: list[_Member], multi, cfg: WorkerConfig, tok, device: str, times: dict, t0: float,
              n: int) -> list[RunOutcome]:
    from tuneahead_lint.meta.finetune import fit_result

    finite_w = multi.finite()
    scored = [m for m in live if not m.diverged]  # a diverged run's weights are NaN: not scored
    t = time.perf_counter()
    scores = _scores(live, scored, multi, cfg, tok, device)
    times["eval_s"] = time.perf_counter() - t
    t = time.perf_counter()
    nll, tokens = _indomain(live, scored, multi, cfg, tok, device)
    times["indomain_s"] = time.perf_counter() - t
    contrast_s = _contrast(live, multi, cfg, tok, device)
    for m in live:
        if m.probe:
            m.probe.hook_s += contrast_s
    out = []
    for m in live:
        fit = fit_result(m.trace, len(m.encoded), m.batches, finite_w[m.slot], times["train_s"] / n)
        out.append(_outcome(m, fit, scores[m.slot], nll[m.slot], tokens[m.slot], cfg, device, times, t0, n))
    return out


def _scores(live, scored, multi, cfg: WorkerConfig, tok, device: str) -> dict[int, dict]:
    """Benchmark scores per slot; a diverged run scores as a NaN model does."""
    from tuneahead_lint.meta.evalsuite import accuracy, evaluate_fanned

    items = load_suite(cfg.eval_dir, live[0].spec.suite)
    got = evaluate_fanned(multi.model, tok, items, device, multi.fan([m.slot for m in scored]),
                          batch_tokens=batch_tokens_for(cfg, device) * _fan_scale(device, len(scored))) if scored else []
    out = {m.slot: s for m, s in zip(scored, got)}
    nan = {name: accuracy(its, [[math.nan] * len(it.continuations) for it in its]) for name, its in items.items() if its}
    return {m.slot: out.get(m.slot, nan) for m in live}


def _fan_scale(device: str, k: int) -> int:
    """A fanned scoring batch may be this many times the single-run budget (more on a GPU)."""
    return min(k, 4) if device.startswith("cuda") else 1


def _indomain(live, scored, multi, cfg: WorkerConfig, tok, device: str) -> tuple[dict, dict]:
    """({slot: {source: NLL}}, {slot: {source: tokens}}), every source scored
    once for all the runs that hold it out."""
    from tuneahead_lint.meta.indomain import encode_heldout, fanned_nll

    nll: dict[int, dict] = {m.slot: {} for m in live}
    tokens: dict[int, dict] = {m.slot: {} for m in live}
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    by_src: dict[tuple, list[_Member]] = {}
    for m in live:
        for src in heldout_sources(m.spec) if m.spec.recipe.heldout else ():
            by_src.setdefault((src, m.spec.recipe.heldout), []).append(m)
    for (src, n_held), ms in sorted(by_src.items()):
        enc = encode_heldout(tok, src, cfg.data_dir, n_held, ms[0].spec.hp.max_len)
        ok = [m for m in ms if not m.diverged]
        res = fanned_nll(multi.model, enc, device, pad, multi.fan([m.slot for m in ok]),
                         batch_tokens_for(cfg, device) * _fan_scale(device, len(ok))) if ok else []
        count = sum(1 for e in enc for x in e.labels[1:] if x != -100)
        for m in ms:
            nll[m.slot][src], tokens[m.slot][src] = res[ok.index(m)] if m in ok else (math.nan, count)
    return nll, tokens


def _outcome(m: _Member, fit, scores, nll: dict, tokens: dict, cfg: WorkerConfig, device: str, times: dict,
             t0: float, n: int) -> RunOutcome:
    import torch

    from tuneahead_lint import __version__

    spec = m.spec
    out = RunOutcome(spec.run_id, True, scores=score_rows(scores))
    out.features = [m.probe.finish(fit.trace) if kind == "probe" and m.probe else
                    compute_feature_set(kind, spec, m.examples, cfg, device) for kind in cfg.features]
    weights = spec.recipe.sources
    wall = time.perf_counter() - t0
    out.metrics = [
        ("indomain_nll", finite(weighted_mean(nll, weights))),
        ("base_indomain_nll", finite(weighted_mean(m.base_nll, weights))),
        ("indomain_tokens", float(sum(tokens.values()))), ("heldout_items", float(spec.recipe.heldout)),
        *((f"indomain_nll_{s}", finite(v)) for s, v in sorted(nll.items())),
        ("load_s", 0.0), ("base_indomain_s", times["base_indomain_s"] / n), ("indomain_s", times["indomain_s"] / n),
        ("group_size", float(n)), ("group_wall_s", wall), ("group_train_s", times["train_s"]),
    ]
    row_t0 = time.perf_counter() - wall / n  # total_s: the run's share of the group's wall time
    out.row = run_row(spec, cfg, fit, device, m.build_s, times["eval_s"] / n, row_t0, __version__,
                      torch.__version__)
    return out


CPU_GROUP = 8  # group size on CPU when asked to choose (0): batching pays little there


def fit_group_size(spec_json: str, cfg: WorkerConfig, workers: int = 1, cap: int = MAX_GROUP) -> int:
    """How many runs like ``spec`` one group may hold: on CUDA, measured
    (peak memory of one length band of a training step of 1 and of 2 runs
    at full length, every token a target) against 80% of the free memory shared by
    ``workers`` workers; on CPU :data:`CPU_GROUP`."""
    import torch

    from tuneahead_lint.meta.grouptrain import BANDS, step_peak_bytes

    spec = RunSpec.from_json(spec_json)
    device = worker_device(cfg)
    if not device.startswith("cuda"):
        return min(cap, CPU_GROUP)
    model, _ = group_model(spec.base_model, device)
    multi = group_multi(model, spec, 2)
    rows = -(-spec.hp.batch_size // min(BANDS, spec.hp.batch_size))  # one length band of a run's batch
    one, two = (step_peak_bytes(multi, k, rows, spec.hp.max_len, device) for k in (1, 2))
    per_run, fixed = max(1, two - one), max(0, 2 * one - two)
    free = torch.cuda.mem_get_info(torch.device(device))[0]
    return max(1, min(cap, int((0.8 * free / max(1, workers) - fixed) // per_run)))
