"""``tuneahead-lint fix``: apply the remedies the findings name, and show the gain.

Public API::

    run_fix(paths, FixOptions(...), config, rules, output=..., in_place=..., dry_run=...)
        -> FixResult        plan, files written, backups, re-lint before/after, hparam suggestion
    load(path) -> SourceFile                     a file with its records' raw bytes (source.py)
    plan_fix(files, FixOptions, rules) -> FixPlan   what to drop / strip and why (plan.py)
    render(file, drop, changed) -> bytes         the new file content (write.py)

Modules: ``source`` (read, keeping raw bytes), ``strip`` (TA105 stripping and
re-serialisation), ``plan`` (remedy order and the removal log entries),
``semantic`` (near-duplicates and embedding outliers), ``write`` (containers,
atomic writes, backups), ``log`` (removal log formats), ``hparams`` (suggested
training config), ``report`` (the before/after summary).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tuneahead_lint.atomic import is_special
from tuneahead_lint.config import Config
from tuneahead_lint.fix.hparams import BASE_LR, HyperSuggestion, predictor_query, suggest
from tuneahead_lint.fix.plan import FixPlan, plan_fix
from tuneahead_lint.fix.source import SourceFile, load
from tuneahead_lint.fix.state import Action, FixOptions
from tuneahead_lint.fix.write import (OutputError, backup_blocks, backup_path, destinations,
                                      render, replace_in_place, write_bytes_atomic)
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Report

__all__ = ["Action", "FixOptions", "FixPlan", "FixResult", "OutputError", "SourceFile",
           "load", "plan_fix", "render", "run_fix"]


@dataclass(frozen=True)
class FixResult:
    """What one ``fix`` run did. ``written``: (input, output) pairs, empty for
    a dry run; ``before``/``after``: re-lint reports (None when not run)."""

    plan: FixPlan
    written: tuple[tuple[str, str], ...]
    backups: tuple[str, ...]
    before: Report | None
    after: Report | None
    hyper: HyperSuggestion | None
    relint: str  # how the re-lint ran, e.g. "record checks only (--fast)"


def run_fix(paths: Sequence[str], opts: FixOptions, config: Config, rules: Sequence[Rule], *,
            output: str | None = None, in_place: bool = False, dry_run: bool = False,
            relint: bool = True, base_lr: float | None = None,
            progress: Any = None) -> FixResult:
    """Plan, write (unless ``dry_run``), then re-lint input and output.

    :raises InputError: an input cannot be read. :raises OutputError: the
        destination is missing, an input, or cannot be written.
    """
    from tuneahead_lint.basemodel import offline_unless_hub
    from tuneahead_lint.readers import discover

    offline_unless_hub(opts.embedder)
    inputs = discover(paths)
    dest = destinations(inputs, output, in_place) if (output or in_place or not dry_run) else {}
    files = [load(p, opts.input_format) for p in inputs]
    plan = plan_fix(files, opts, rules, progress)
    contents = {f.path: render(f, plan.dropped(f.path), plan.changed(f.path)) for f in files}
    if in_place and not dry_run:
        _check_backups(plan)
    features, how = _relint_mode(opts)
    lint_opts = _lint_options(opts, features, base_lr)
    before = _lint(inputs, config, lint_opts, rules) if relint else None
    written: list[tuple[str, str]] = []
    backups: list[str] = []
    if not dry_run:
        written, backups = _write(plan, contents, dest, in_place)
    if before is None:
        return FixResult(plan, tuple(written), tuple(backups), None, None, None, "not run")
    after = _lint_output(inputs, contents, dest if not dry_run else None, config, lint_opts, rules)
    hyper = suggest(predictor_query(after.features), base_lr or BASE_LR)
    return FixResult(plan, tuple(written), tuple(backups), before, after, hyper, how)


def _write(plan: FixPlan, contents: dict[str, bytes], dest: dict[str, str],
           in_place: bool) -> tuple[list[tuple[str, str]], list[str]]:
    written, backups = [], []
    if in_place:
        for path in _touched(plan):
            backups.append(replace_in_place(path, contents[path]))
            written.append((path, path))
        return written, backups
    for f in plan.files:
        write_bytes_atomic(dest[f.path], contents[f.path])
        written.append((f.path, dest[f.path]))
    return written, backups


def _touched(plan: FixPlan) -> list[str]:
    return [f.path for f in plan.files if plan.dropped(f.path) or plan.changed(f.path)]


def _check_backups(plan: FixPlan) -> None:
    """Refuse --in-place before anything is written if a backup would be overwritten."""
    for path in _touched(plan):
        if backup_blocks(path):
            raise OutputError(f"{backup_path(path)}: backup already exists; "
                              "remove it or write with -o instead")


def _lint_options(opts: FixOptions, features: bool, lr: float | None) -> Any:
    from tuneahead_lint.pipeline import LintOptions

    return LintOptions(input_format=opts.input_format, features=features, embedder=opts.embedder,
                       probe_params={"lr": lr} if lr else {})


def _lint(paths: list[str], config: Config, lint_opts: Any, rules: Sequence[Rule]) -> Report:
    from tuneahead_lint.pipeline import lint

    return lint(paths, config, lint_opts, rules)


def _lint_output(inputs: list[str], contents: dict[str, bytes], dest: dict[str, str] | None,
                 config: Config, lint_opts: Any, rules: Sequence[Rule]) -> Report:
    """Lint what was written (``dest``), or for a dry run or an output that
    cannot be read back (``-o /dev/null``, a FIFO) the same bytes written to a
    temporary folder that is removed afterwards."""
    if dest is not None and not any(is_special(dest[p]) for p in inputs):
        return _lint([dest[p] for p in inputs], config, lint_opts, rules)
    with tempfile.TemporaryDirectory(prefix="tuneahead-fix-") as tmp:
        where = destinations(inputs, tmp + os.sep, False)
        for path, data in contents.items():
            write_bytes_atomic(where[path], data)
        return _lint([where[p] for p in inputs], config, lint_opts, rules)


def _relint_mode(opts: FixOptions) -> tuple[bool, str]:
    """(features on?, description) for the re-lint."""
    if opts.fast:
        return False, "record checks only (--fast)"
    try:
        from tuneahead_lint.features import compute_features  # noqa: F401
    except ImportError:
        return False, "record checks only (dataset features not installed)"
    return True, "record checks and dataset features"
