"""Schedule the runs of a preset and append each result to the store.

One scheduler process owns the store (the only writer). Runs execute in
worker processes: ``workers`` local processes (spawned; on one GPU they share
it, a 135M model leaves room for many; ``workers=0`` runs them in this
process, for tests and debugging), or Ray tasks when ``ray_address`` is
given (``"local"`` starts a local Ray cluster; ``"auto"`` or
``"ray://host:10001"`` joins an existing one; each task asks for
``1/workers_per_gpu`` of a GPU when the cluster has GPUs). Each finished run
is committed at once; runs already in the store are skipped, so a build cut
off by a crash or a command time limit resumes where it stopped, losing at
most the runs that were in flight. ``time_budget_s`` stops submitting new runs
once that much time has passed (set it to the command limit minus one run).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

from tuneahead_lint import progress
from tuneahead_lint.meta.runner import RunOutcome, WorkerConfig, baseline, execute, init_pool_worker, setup_worker
from tuneahead_lint.meta.spec import RunSpec
from tuneahead_lint.meta.store import Store


@dataclass(frozen=True)
class BuildResult:
    planned: int
    skipped: int  # already in the store
    done: int
    failed: int
    stopped_early: bool  # time budget reached with runs left
    seconds: float


def _record(outcome, spec, store, cfg, preset: str, log, done: int, failed: int, total: int) -> tuple[int, int]:
    """Store one finished run (or its failure), log it; the new (done, failed)."""
    if outcome.ok:
        outcome.row["preset"] = preset
        outcome.row["suite_hash"] = _suite_hash(spec, cfg)
        store.add_run(outcome.row, outcome.scores)
        for kind, status, values, secs, conf, detail in outcome.features:
            store.add_features(spec.run_id, kind, values, secs, conf, status, detail)
        done += 1
        mean = sum(s.score for s in outcome.scores) / max(1, len(outcome.scores))
        log(f"[{done + failed}/{total}] {spec.recipe.label} lr={spec.hp.lr:g} bs={spec.hp.batch_size} "
            f"ep={spec.hp.epochs:g} seed={spec.seed}: mean score {mean:.3f} "
            f"({outcome.row['train_s']:.0f}s train, {outcome.row['eval_s']:.0f}s eval, "
            f"{outcome.row['total_s']:.0f}s total)")
    else:
        store.add_failure(spec.run_id, spec.to_json(), outcome.error)
        failed += 1
        log(f"[{done + failed}/{total}] FAILED {spec.recipe.label}: {outcome.error.splitlines()[0]}")
    return done, failed


def build(specs: Sequence[RunSpec], store: Store, cfg: WorkerConfig, preset: str,
          workers: int = 1, ray_address: str | None = None, time_budget_s: float | None = None,
          log: Callable[[str], None] = print) -> BuildResult:
    """Run every spec not yet in ``store``; see the module doc."""
    t0 = time.monotonic()
    done_ids = store.done_ids()
    todo = [s for s in specs if s.run_id not in done_ids]
    log(f"{len(specs)} runs planned, {len(specs) - len(todo)} already in {store.path}, {len(todo)} to run")
    _ensure_baselines(specs, store, cfg, log, inline=workers == 0 and not ray_address)
    deadline = None if time_budget_s is None else t0 + time_budget_s
    if ray_address:
        executor = _ray_executor(ray_address, max(1, workers))
    elif workers == 0:
        executor = _inline_executor
    else:
        executor = _local_executor(workers, cfg.threads)
    done = failed = 0
    by_id = {s.run_id: s for s in todo}
    with progress.task("meta build", len(todo)):
        for outcome in executor(todo, cfg, deadline):
            done, failed = _record(outcome, by_id[outcome.run_id], store, cfg, preset, log, done, failed, len(todo))
            progress.advance(1)
    stopped = done + failed < len(todo)
    if stopped:
        log(f"time budget reached: {len(todo) - done - failed} runs left; rerun the same command to resume")
    return BuildResult(len(specs), len(specs) - len(todo), done, failed, stopped, time.monotonic() - t0)


def _suite_hash(spec: RunSpec, cfg: WorkerConfig) -> str:
    from tuneahead_lint.meta.evalsuite import suite_hash
    from tuneahead_lint.meta.runner import load_suite

    return suite_hash(load_suite(cfg.eval_dir, spec.suite))


def _ensure_baselines(specs: Sequence[RunSpec], store: Store, cfg: WorkerConfig, log,
                      inline: bool = False) -> None:
    """Score each (base model, suite) once, in a child process (keeps the
    scheduler free of torch and CUDA state) unless ``inline``."""
    for base_model, suite in sorted({(s.base_model, s.suite) for s in specs}, key=str):
        shash = _suite_hash(RunSpec(specs[0].recipe, specs[0].hp, 0, base_model, suite), cfg)
        if store.baseline(base_model, shash):
            continue
        log(f"scoring the base model {base_model} on {', '.join(suite.benchmarks)} ({suite.n_items or 'all'} items)")
        if inline:
            setup_worker(cfg.threads)
            rows, secs, device = baseline(base_model, suite, cfg)
        else:
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=init_pool_worker,
                                     initargs=(cfg.threads,)) as pool:
                rows, secs, device = pool.submit(baseline, base_model, suite, cfg).result()
        store.add_baseline(base_model, shash, rows, secs, device)
        log("base model: " + ", ".join(f"{r.benchmark} {r.score:.3f}" for r in rows) + f" ({secs:.0f}s)")


Executor = Callable[[Sequence[RunSpec], WorkerConfig, float | None], Iterator[RunOutcome]]


def _inline_executor(todo: Sequence[RunSpec], cfg: WorkerConfig, deadline: float | None) -> Iterator[RunOutcome]:
    """``workers=0``: every run in this process, one after the other (tests, debugging)."""
    setup_worker(cfg.threads)
    for spec in todo:
        if _past(deadline):
            return
        yield execute(spec.to_json(), cfg)


def _local_executor(workers: int, threads: int) -> Executor:
    def run(todo: Sequence[RunSpec], cfg: WorkerConfig, deadline: float | None) -> Iterator[RunOutcome]:
        pending = list(todo)
        while pending:
            # A worker killed from outside (out of memory) breaks the whole
            # pool: its runs come back as failures and a new pool goes on.
            yield from _pool_round(pending, workers, threads, cfg, deadline)
            if _past(deadline):
                return
    return run


def _pool_round(pending: list[RunSpec], workers: int, threads: int, cfg: WorkerConfig,
                deadline: float | None) -> Iterator[RunOutcome]:
    """Run ``pending`` (consumed in place) on one process pool until done or broken."""
    from concurrent.futures.process import BrokenProcessPool

    # max_tasks_per_child=1: every run starts in a fresh process (no
    # allocator or CUDA state carried over), model load is ~1 s.
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init_pool_worker,
                             initargs=(threads,), **fresh) as pool:
        running: dict = {}
        while pending or running:
            while pending and len(running) < workers and not _past(deadline):
                spec = pending.pop(0)
                running[pool.submit(execute, spec.to_json(), cfg)] = spec
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                spec = running.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    for other in [spec, *running.values()]:
                        yield RunOutcome(other.run_id, False, error="BrokenProcessPool: a worker process "
                                         "died (killed, or out of memory); the run will be retried")
                    return


def _ray_executor(address: str, workers: int) -> Executor:
    def run(todo: Sequence[RunSpec], cfg: WorkerConfig, deadline: float | None) -> Iterator[RunOutcome]:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise RuntimeError("--ray-address needs Ray: pip install 'tuneahead-lint[ray]'") from exc
        if not ray.is_initialized():
            ray.init(address=None if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, ignore_reinit_error=True,
                     **({"num_cpus": max(1, workers * cfg.threads)} if address == "local" else {}))
        gpus = ray.cluster_resources().get("GPU", 0)
        opts = {"num_cpus": cfg.threads, "max_retries": 0}
        if gpus:
            opts["num_gpus"] = 1.0 / max(1, workers)
        remote = ray.remote(**opts)(execute)
        capacity = int(gpus * workers) if gpus else max(1, int(ray.cluster_resources().get("CPU", 1) // cfg.threads))
        pending = list(todo)
        running: dict = {}
        while pending or running:
            while pending and len(running) < capacity and not _past(deadline):
                spec = pending.pop(0)
                running[remote.remote(spec.to_json(), cfg)] = spec
            if not running:
                break
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                spec = running.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker or node died
                    yield RunOutcome(spec.run_id, False, error=f"{type(exc).__name__}: {exc}")
    return run


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline
