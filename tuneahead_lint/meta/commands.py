"""``tuneahead-lint meta ...``: click commands (only click and the standard
library at import time; torch is loaded by the workers)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from tuneahead_lint.atomic import write_atomic


# Kept in step with meta/presets.py PRESETS (test_cli_lists_every_preset); not
# imported from there, so that `tuneahead-lint --help` stays click + stdlib.
PRESET_NAMES = ("gpu-v2", "gpu-full", "gpu-lease", "cpu-small", "tiny", "tiny-all")


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _echo(msg: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {msg}", err=True)


def _suite(preset, benchmarks: str | None, eval_items: int | None):
    from tuneahead_lint.meta.spec import SuiteSpec

    suite = preset.suite
    if benchmarks:
        suite = SuiteSpec(tuple(b.strip() for b in benchmarks.split(",") if b.strip()), suite.n_items)
    if eval_items is not None:
        suite = SuiteSpec(suite.benchmarks, eval_items)
    return suite


def _kinds(value: str) -> tuple[str, ...]:
    from tuneahead_lint.meta.runner import FEATURE_KINDS

    if value == "none":
        return ()
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    bad = [k for k in kinds if k not in FEATURE_KINDS]
    if bad:
        raise click.BadParameter(f"unknown feature kind(s) {bad}; use {','.join(FEATURE_KINDS)} or none")
    return kinds


_common = [
    click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False),
                 help="SQLite meta-dataset (created if missing; appended to, never rewritten)."),
]


def _store_opt(f):
    for deco in reversed(_common):
        f = deco(f)
    return f


@click.command("build")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default="cpu-small",
              show_default=True, help="Run grid (see `meta presets`).")
@_store_opt
@click.option("--workers", type=click.IntRange(0), default=1, show_default=True,
              help="Concurrent runs (local processes sharing the device, or Ray tasks per GPU); "
                   "0 = one at a time in this process.")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True,
              help="torch CPU threads per worker.")
@click.option("--device", help="cuda, cuda:1, cpu (default: cuda when present).")
@click.option("--ray-address", help="Spread runs with Ray: 'local' (start a local cluster), 'auto', "
                                    "or ray://host:10001. Workers need the same --data-dir/--eval-dir paths.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Instruction sets [../shared/data/instruct].")
@click.option("--eval-dir", type=click.Path(file_okay=False),
              help="Benchmarks [../shared/data/eval when present, else the slice shipped in the package].")
@click.option("--base-model", help="HF id or path [embedded SmolLM2-135M-Instruct].")
@click.option("--features", "feature_kinds", default="static,probe", show_default=True,
              help="Feature kinds computed per run: static, probe, both, or none (fill later with `meta features`).")
@click.option("--probe-steps", type=click.IntRange(1), help="Probe steps [preset].")
@click.option("--benchmarks", help="Comma-separated benchmarks [preset].")
@click.option("--eval-items", type=click.IntRange(0), help="Items per benchmark, 0 = all [preset].")
@click.option("--limit", type=click.IntRange(1), help="Only the first N runs of the preset.")
@click.option("--time-budget", type=click.FloatRange(min=0),
              help="Stop submitting runs after this many seconds (0: score the base model only).")
@click.option("--deadline", type=click.FloatRange(min=0),
              help="Seconds this build may take in all (set it below the command's time limit): no run is "
                   "started that cannot finish by then, and runs still going at the deadline are abandoned "
                   "(only they are lost; rerun to resume).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also export the CSV when done.")
@click.option("--group-size", type=click.IntRange(0), default=1, show_default=True,
              help="Runs trained together per worker (stacked LoRA adapters, one forward/backward per step, "
                   "same results as one by one); 0 = as many as the device memory allows.")
def build_cmd(preset: str, store_path: str, workers: int, threads: int, device: str | None,
              ray_address: str | None, data_dir: str | None, eval_dir: str | None, base_model: str | None,
              feature_kinds: str, probe_steps: int | None, benchmarks: str | None, eval_items: int | None,
              limit: int | None, time_budget: float | None, deadline: float | None,
              csv_path: str | None, group_size: int) -> None:
    """Fine-tune, evaluate and featurize the runs of a preset into --store.

    Resumable: finished runs are skipped, each run is committed when it ends.
    Exit code 1 when a run failed (it is logged in the store and retried by
    the next build). On a GPU, in commands of at most 10 minutes, repeat
    until it prints "0 to run":

    \b
      timeout 590 tuneahead-lint meta build --preset gpu-full --workers 8 \\
          --store data/meta/gpu-full.sqlite --time-budget 360
    """
    from tuneahead_lint import progress
    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL
    from tuneahead_lint.meta.build import build
    from tuneahead_lint.meta.evalsuite import EvalError, default_eval_dir
    from tuneahead_lint.meta.presets import PRESETS
    from tuneahead_lint.meta.runner import WorkerConfig
    from tuneahead_lint.meta.store import Store
    from tuneahead_lint.meta.variants import VariantError, default_data_dir

    p = PRESETS[preset]
    specs = p.specs(base_model or DEFAULT_BASE_MODEL, _suite(p, benchmarks, eval_items))
    specs = specs[:limit] if limit else specs
    cfg = WorkerConfig(data_dir=str(Path(data_dir or default_data_dir()).resolve()),
                       eval_dir=str(Path(eval_dir or default_eval_dir()).resolve()),
                       device=device, threads=threads, features=_kinds(feature_kinds),
                       probe_steps=probe_steps or p.probe_steps, probe_extra=p.probe_extra)
    _echo(f"preset {preset}: data {cfg.data_dir}, eval {cfg.eval_dir}")
    try:
        with Store(store_path) as store:
            with progress.enabled(sys.stderr.isatty()):
                res = build(specs, store, cfg, preset, workers=workers, ray_address=ray_address,
                            time_budget_s=time_budget, deadline_s=deadline, log=_echo, group_size=group_size)
            if csv_path:
                _export(store, csv_path)
    except (VariantError, EvalError) as exc:
        raise _fail(exc) from None
    _echo(f"done: {res.done} new, {res.failed} failed, {res.skipped} already there, "
          f"{res.seconds:.0f}s" + (" (stopped by --time-budget/--deadline)" if res.stopped_early else ""))
    if res.failed:
        sys.exit(1)


@click.command("features")
@_store_opt
@click.option("--kinds", "feature_kinds", default="static,probe", show_default=True,
              help="Which feature kinds to fill in.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Instruction sets [../shared/data/instruct].")
@click.option("--probe-steps", type=click.IntRange(1), help="Probe steps [the run's preset].")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True)
@click.option("--device", help="cuda or cpu (default: cuda when present).")
@click.option("--limit", type=click.IntRange(1), help="At most N runs.")
def features_cmd(store_path: str, feature_kinds: str, data_dir: str | None, probe_steps: int | None,
                 threads: int, device: str | None, limit: int | None) -> None:
    """Compute missing static/probe features of finished runs (rebuilds each variant from its recipe)."""
    from tuneahead_lint.meta.presets import PRESETS
    from tuneahead_lint.meta.runner import WorkerConfig, compute_feature_set, setup_worker, worker_device
    from tuneahead_lint.meta.spec import RunSpec
    from tuneahead_lint.meta.store import Store
    from tuneahead_lint.meta.variants import build_variant, default_data_dir

    kinds = _kinds(feature_kinds)
    setup_worker(threads)
    with Store(store_path) as store:
        todo = [(r["run_id"], r["preset"], r["spec_json"]) for r in
                store.query("SELECT run_id, preset, spec_json FROM runs ORDER BY finished_at")]
        filled = 0
        for run_id, preset, spec_json in todo:
            missing = [k for k in kinds if k not in store.feature_kinds(run_id)]
            if not missing:
                continue
            if limit and filled >= limit:
                break
            spec = RunSpec.from_json(spec_json)
            p = PRESETS.get(preset)
            cfg = WorkerConfig(data_dir=str(data_dir or default_data_dir()), eval_dir="", device=device,
                               threads=threads, features=tuple(missing),
                               probe_steps=probe_steps or (p.probe_steps if p else 50),
                               probe_extra=p.probe_extra if p else ())
            examples = build_variant(spec.recipe, cfg.data_dir, spec.plan())
            for kind in missing:
                k, status, values, secs, conf, detail = compute_feature_set(kind, spec, examples, cfg,
                                                                            worker_device(cfg))
                store.add_features(run_id, k, values, secs, conf, status, detail)
                _echo(f"{run_id} {spec.recipe.label}: {kind} {status} ({len(values)} features, {secs:.0f}s)"
                      + (f": {detail}" if detail else ""))
            filled += 1


def _export(store, path: str, target_benchmarks: tuple[str, ...] | None = None) -> None:
    from tuneahead_lint.meta.export import rows, to_csv

    cols, table = rows(store, *([target_benchmarks] if target_benchmarks else []))
    write_atomic(path, to_csv(cols, table))
    _echo(f"wrote {len(table)} runs x {len(cols)} columns to {path}")


_target_opt = click.option(
    "--target-benchmarks", help="Comma-separated benchmarks averaged into `target` [arc_easy,piqa].")


@click.command("export")
@_store_opt
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="CSV file to write.")
@_target_opt
def export_cmd(store_path: str, output: str, target_benchmarks: str | None) -> None:
    """Write the meta-dataset as one CSV row per run (schema: meta/SCHEMA.md)."""
    from tuneahead_lint.meta.store import Store

    if not Path(store_path).exists():
        raise click.ClickException(f"{store_path}: no such store")
    with Store(store_path) as store:
        _export(store, output, _targets(target_benchmarks))


def _targets(value: str | None) -> tuple[str, ...]:
    from tuneahead_lint.meta.presets import TARGET_BENCHMARKS

    return tuple(b.strip() for b in value.split(",") if b.strip()) if value else TARGET_BENCHMARKS


@click.command("report")
@_store_opt
@click.option("--plot", type=click.Path(dir_okay=False), help="Save target-vs-feature scatter plots (PNG).")
@click.option("--top", type=click.IntRange(1), default=12, show_default=True, help="Rows of the feature table.")
@_target_opt
def report_cmd(store_path: str, plot: str | None, top: int, target_benchmarks: str | None) -> None:
    """Counts, target spread vs seed noise floor, time per run, target-vs-feature table (Markdown)."""
    from tuneahead_lint.meta.report import report
    from tuneahead_lint.meta.store import Store

    if not Path(store_path).exists():
        raise click.ClickException(f"{store_path}: no such store")
    with Store(store_path) as store:
        click.echo(report(store, plot=plot, top=top, target_benchmarks=_targets(target_benchmarks)))


@click.command("card")
@_store_opt
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for CARD.md and the dose-response plots (dose_<target>.png).")
@click.option("--title", default="Meta-dataset card", show_default=True)
@click.option("--wall-seconds", type=click.FloatRange(min=0, min_open=True),
              help="Build wall time, for runs/min in the card.")
def card_cmd(store_path: str, out_dir: str, title: str, wall_seconds: float | None) -> None:
    """Write the meta-dataset card: per target spread vs seed noise floor, dose-response per corruption."""
    from tuneahead_lint.meta.card import card
    from tuneahead_lint.meta.store import Store

    if not Path(store_path).exists():
        raise click.ClickException(f"{store_path}: no such store")
    with Store(store_path) as store:
        card(store, out_dir, title=title, wall_s=wall_seconds)
    _echo(f"wrote {Path(out_dir) / 'CARD.md'}")


@click.command("rebuild")
@click.argument("run_id")
@_store_opt
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Write the run's training data here as messages JSONL.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Instruction sets [../shared/data/instruct].")
def rebuild_cmd(run_id: str, store_path: str, output: str, data_dir: str | None) -> None:
    """Rebuild the exact training data of RUN_ID (e.g. to lint it)."""
    from tuneahead_lint.meta.spec import RunSpec
    from tuneahead_lint.meta.store import Store
    from tuneahead_lint.meta.variants import VariantError, build_variant, default_data_dir, write_jsonl

    with Store(store_path) as store:
        hit = store.query("SELECT spec_json FROM runs WHERE run_id LIKE ?", (run_id + "%",))
    if len(hit) != 1:
        raise click.ClickException(f"{run_id}: {'no' if not hit else 'more than one'} run matches")
    spec = RunSpec.from_json(hit[0]["spec_json"])
    try:
        examples = build_variant(spec.recipe, data_dir or default_data_dir(), spec.plan())
    except VariantError as exc:
        raise _fail(exc) from None
    write_jsonl(examples, output)
    _echo(f"wrote {len(examples)} records of {spec.recipe.label} to {output}; "
          f"hyperparameters: {spec.hp.to_json()}, seed {spec.seed}")


@click.command("presets")
def presets_cmd() -> None:
    """List the run grids."""
    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL
    from tuneahead_lint.meta.presets import PRESETS

    for p in PRESETS.values():
        specs = p.specs(DEFAULT_BASE_MODEL)
        configs = len({s.config_id for s in specs})
        variants = len({s.recipe.id for s in specs})
        click.echo(f"{p.name:<10} {len(specs):>4} runs, {configs} configs, {variants} variants, "
                   f"suite {','.join(p.suite.benchmarks)} x {p.suite.n_items}: {p.summary}")


COMMANDS = (build_cmd, features_cmd, export_cmd, report_cmd, card_cmd, rebuild_cmd, presets_cmd)
