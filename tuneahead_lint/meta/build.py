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

Workers are persistent: a local worker process loads the base model once and
keeps it for every run it is given (``runner.worker_model``); each run starts
from freshly initialised LoRA weights (``runner.fresh_lora``).

``group_size``: runs trained together in one worker as one group
(``meta.grouprun``: K LoRA adapters stacked on the base model, one
forward/backward per step for all of them, scoring fanned out the same way);
1 runs them one by one, 0 lets a worker choose (on CUDA from the memory one
training step of one and two runs takes, shared by ``workers``). A group is
committed run by run when it ends; a deadline abandons the groups in flight.

``deadline_s``: the build's own end, in seconds from its start (set it below
the command's limit). No run is submitted that the median run time so far
says cannot finish before it; at the deadline the runs still in flight are
abandoned (their worker processes ended) and the build returns, so the store
holds every run that finished and loses only those in flight.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

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
        store.add_run(outcome.row, outcome.scores, outcome.metrics)
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


@dataclass
class Clock:
    """When to stop submitting runs (``budget``: time budget; ``end``: the
    deadline, with room for one median run) and when to abandon runs in
    flight (``end``). Monotonic seconds; None = no limit."""

    budget: float | None = None
    end: float | None = None
    run_s: list[float] = field(default_factory=list)

    def may_submit(self) -> bool:
        now = time.monotonic()
        if self.budget is not None and now >= self.budget:
            return False
        need = statistics.median(self.run_s) if self.run_s else 0.0
        return self.end is None or now + need < self.end

    def past_end(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def left(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.monotonic())


def build(specs: Sequence[RunSpec], store: Store, cfg: WorkerConfig, preset: str,
          workers: int = 1, ray_address: str | None = None, time_budget_s: float | None = None,
          log: Callable[[str], None] = print, deadline_s: float | None = None,
          run_fn: Callable[[str, WorkerConfig], RunOutcome] = execute, group_size: int = 1) -> BuildResult:
    """Run every spec not yet in ``store``; see the module doc. ``run_fn``
    executes one run in a worker (a module-level function: it is pickled);
    with ``group_size`` other than 1, ``meta.grouprun.execute_group`` runs the groups."""
    t0 = time.monotonic()
    done_ids = store.done_ids()
    todo = [s for s in specs if s.run_id not in done_ids]
    log(f"{len(specs)} runs planned, {len(specs) - len(todo)} already in {store.path}, {len(todo)} to run")
    clock = Clock(None if time_budget_s is None else t0 + time_budget_s,
                  None if deadline_s is None else t0 + deadline_s)
    pool = _new_pool(workers, cfg.threads) if workers and not ray_address else None
    try:
        _ensure_baselines(specs, store, cfg, log, inline=workers == 0 and not ray_address, pool=pool)
    except BaseException:
        if pool is not None:
            _close(pool, abandon=True)
        raise
    if ray_address:
        executor = _ray_executor(ray_address, max(1, workers))
    elif workers == 0:
        executor = _inline_executor
    else:
        executor = _local_executor(workers, cfg.threads, pool)
    try:
        units, unit_fn = _units(todo, cfg, group_size, run_fn, workers, pool, log)
    except BaseException:
        if pool is not None:
            _close(pool, abandon=True)
        raise
    done = failed = 0
    by_id = {s.run_id: s for s in todo}
    with progress.task("meta build", len(todo)):
        for outcome in executor(units, cfg, clock, unit_fn):
            done, failed = _record(outcome, by_id[outcome.run_id], store, cfg, preset, log, done, failed, len(todo))
            if outcome.ok:  # a group's runs: the group's wall time is what a submission takes
                clock.run_s.append(dict(outcome.metrics).get("group_wall_s", outcome.row["total_s"]))
            progress.advance(1)
    stopped = done + failed < len(todo)
    if stopped:
        log(f"time limit reached: {len(todo) - done - failed} runs left; rerun the same command to resume")
    return BuildResult(len(specs), len(specs) - len(todo), done, failed, stopped, time.monotonic() - t0)


def one_run(run_fn: Callable[[str, WorkerConfig], RunOutcome], specs_json: Sequence[str],
            cfg: WorkerConfig) -> list[RunOutcome]:
    """A unit of one run (``group_size`` 1): ``run_fn`` on it, as a list."""
    return [run_fn(specs_json[0], cfg)]


def apply_unit(unit_fn: Callable, specs_json: Sequence[str], cfg: WorkerConfig) -> list[RunOutcome]:
    """``unit_fn`` on one unit (what a Ray task runs)."""
    return unit_fn(specs_json, cfg)


def _units(todo: Sequence[RunSpec], cfg: WorkerConfig, group_size: int, run_fn, workers: int,
           pool: ProcessPoolExecutor | None, log) -> tuple[list[list[RunSpec]], Callable]:
    """What the executors submit: groups of runs and the function that runs one."""
    from tuneahead_lint.meta.grouprun import execute_group, fit_group_size, make_groups

    if group_size == 1 or not todo:
        return [[s] for s in todo], functools.partial(one_run, run_fn)
    k = group_size
    if k == 0:
        largest = max(todo, key=lambda s: (s.hp.batch_size * s.hp.max_len, s.run_id))
        args = (largest.to_json(), cfg, max(1, workers))
        k = pool.submit(fit_group_size, *args).result() if pool is not None else fit_group_size(*args)
        log(f"group size {k} (chosen for batch {largest.hp.batch_size} x {largest.hp.max_len} tokens, "
            f"{max(1, workers)} worker(s))")
    return make_groups(todo, k), execute_group


def _suite_hash(spec: RunSpec, cfg: WorkerConfig) -> str:
    from tuneahead_lint.meta.evalsuite import suite_hash
    from tuneahead_lint.meta.runner import load_suite

    return suite_hash(load_suite(cfg.eval_dir, spec.suite))


def _ensure_baselines(specs: Sequence[RunSpec], store: Store, cfg: WorkerConfig, log,
                      inline: bool = False, pool: ProcessPoolExecutor | None = None) -> None:
    """Score each (base model, suite) once, in a worker of ``pool`` (which then
    keeps the model for its runs) or a child process (either keeps the
    scheduler free of torch and CUDA state), or here when ``inline``."""
    for base_model, suite in sorted({(s.base_model, s.suite) for s in specs}, key=str):
        shash = _suite_hash(RunSpec(specs[0].recipe, specs[0].hp, 0, base_model, suite), cfg)
        if store.baseline(base_model, shash):
            continue
        log(f"scoring the base model {base_model} on {', '.join(suite.benchmarks)} ({suite.n_items or 'all'} items)")
        if inline:
            setup_worker(cfg.threads)
            rows, secs, device = baseline(base_model, suite, cfg)
        elif pool is not None:
            rows, secs, device = pool.submit(baseline, base_model, suite, cfg).result()
        else:
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=init_pool_worker,
                                     initargs=(cfg.threads,)) as pool:
                rows, secs, device = pool.submit(baseline, base_model, suite, cfg).result()
        store.add_baseline(base_model, shash, rows, secs, device)
        log("base model: " + ", ".join(f"{r.benchmark} {r.score:.3f}" for r in rows) + f" ({secs:.0f}s)")


Unit = Sequence[RunSpec]  # what one submission runs: one run, or a group trained together
Executor = Callable[[Sequence[Unit], WorkerConfig, Clock, Callable], Iterator[RunOutcome]]


def _jsons(unit: Unit) -> list[str]:
    return [s.to_json() for s in unit]


def _inline_executor(todo: Sequence[Unit], cfg: WorkerConfig, clock: Clock, unit_fn) -> Iterator[RunOutcome]:
    """``workers=0``: every unit in this process, one after the other (tests, debugging)."""
    setup_worker(cfg.threads)
    for unit in todo:
        if not clock.may_submit():
            return
        yield from unit_fn(_jsons(unit), cfg)


def _new_pool(workers: int, threads: int) -> ProcessPoolExecutor:
    """``workers`` persistent worker processes (each keeps its model between runs)."""
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init_pool_worker,
                               initargs=(threads,))


def _local_executor(workers: int, threads: int, first: ProcessPoolExecutor | None = None) -> Executor:
    def run(todo: Sequence[Unit], cfg: WorkerConfig, clock: Clock, run_fn) -> Iterator[RunOutcome]:
        pending, pool = list(todo), first
        while True:
            # A worker killed from outside (out of memory) breaks the whole
            # pool: its runs come back as failures and a new pool goes on.
            yield from _pool_round(pending, pool or _new_pool(workers, threads), workers, cfg, clock, run_fn)
            pool = None
            if not pending or not clock.may_submit():
                return
    return run


def _pool_round(pending: list[Unit], pool: ProcessPoolExecutor, workers: int, cfg: WorkerConfig,
                clock: Clock, run_fn) -> Iterator[RunOutcome]:
    """Run ``pending`` (consumed in place) on ``pool`` until done, broken, or
    past the deadline (then the runs in flight are abandoned and their
    processes ended); the pool is closed on the way out."""
    from concurrent.futures.process import BrokenProcessPool

    running: dict = {}
    try:
        while pending or running:
            while pending and len(running) < workers and clock.may_submit():
                unit = pending.pop(0)
                running[pool.submit(run_fn, _jsons(unit), cfg)] = unit
            if not running:
                return
            finished, _ = wait(running, timeout=clock.left(), return_when=FIRST_COMPLETED)
            if not finished:  # the deadline: give up the runs in flight
                return
            for fut in finished:
                unit = running.pop(fut)
                try:
                    yield from fut.result()
                except BrokenProcessPool:
                    for other in [s for u in [unit, *running.values()] for s in u]:
                        yield RunOutcome(other.run_id, False, error="BrokenProcessPool: a worker process "
                                         "died (killed, or out of memory); the run will be retried")
                    running.clear()
                    return
    finally:
        _close(pool, abandon=bool(running))


def _close(pool: ProcessPoolExecutor, abandon: bool) -> None:
    """Shut the pool down; with runs still in flight, end its processes first
    (``shutdown`` alone would wait for them)."""
    if abandon:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
    pool.shutdown(wait=not abandon, cancel_futures=True)


def _ray_executor(address: str, workers: int) -> Executor:
    def run(todo: Sequence[Unit], cfg: WorkerConfig, clock: Clock, run_fn) -> Iterator[RunOutcome]:
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
        remote = ray.remote(**opts)(apply_unit)  # a function, not the partial a unit may be
        capacity = int(gpus * workers) if gpus else max(1, int(ray.cluster_resources().get("CPU", 1) // cfg.threads))
        pending = list(todo)
        running: dict = {}
        while pending or running:
            while pending and len(running) < capacity and clock.may_submit():
                unit = pending.pop(0)
                running[remote.remote(run_fn, _jsons(unit), cfg)] = unit
            if not running:
                break
            ready, _ = ray.wait(list(running), num_returns=1, timeout=clock.left())
            if not ready:  # the deadline: give up the runs in flight
                for ref in running:
                    ray.cancel(ref, force=True)
                return
            for ref in ready:
                unit = running.pop(ref)
                try:
                    yield from ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker or node died
                    for spec in unit:
                        yield RunOutcome(spec.run_id, False, error=f"{type(exc).__name__}: {exc}")
    return run
