"""Read a meta-dataset CSV and decide which columns are features.

A meta-dataset has one row per fine-tuning run: feature columns, a target
column, and anything else (ids, recipe settings, timings). Two layouts are
recognised without options:

* ``tuneahead-lint meta export`` (schema ``tuneahead-meta/1``): features are
  the hyperparameters plus the columns named like the project's static and
  probe features; recipe settings (true corruption rates), training
  measurements of the full run, per-benchmark scores and timings are never
  features, because they are unknown before training or are the answer.
* the paper's released meta-dataset (``dataset_name, overall_accuracy, ...``):
  every numeric column but the target is a feature.

Anything else: every numeric column but the target and the known
non-feature columns, or name them with ``--features``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class PredictError(ValueError):
    """A one-line problem with a meta-dataset or a model folder (exit code 2)."""


# Columns of `meta export` that are never features (see meta/export.py).
NOT_FEATURES = frozenset({
    "run_id", "config_id", "preset", "variant", "recipe_id", "seed", "data_seed", "base_model",
    "sources", "n_sources", "size", "label_noise", "near_dups", "outliers", "outlier_source",
    "truncate", "template_leak",
    # v2 corruption doses (meta/variants.py KINDS): the recipe's true rates, the answer
    "exact_dups", "gibberish", "refusal", "scramble", "wrong_lang",
    "steps", "records", "target_tokens", "loss_first", "loss_last", "loss_min", "grad_norm_max",
    "diverged",
    "performance", "base_performance", "performance_delta", "target", "target_benchmarks",
    "build_s", "train_s", "eval_s", "static_s", "probe_s", "total_s", "device", "host",
    "finished_at", "code_version",
    "dataset_name", "overall_accuracy",
    # targets v2 and what they are computed from (meta/export.py Y_COLS, Y_SOURCE_COLS)
    "y_indomain", "y_general", "y_general_acc", "y_diverged",
    "indomain_nll", "base_indomain_nll", "indomain_tokens", "heldout_items", "heldout",
    "load_s", "indomain_s",
})
# `meta export` writes PREFIX_BENCH for each benchmark BENCH of the suite; a
# column is per-benchmark only when BENCH names a benchmark of the table (one
# with a score_/delta_ column), so base_model_perplexity stays a feature.
PER_BENCHMARK_PREFIXES = ("acc_norm", "score", "base", "delta", "acc", "n", "margin", "base_margin",
                          "delta_margin")

HPARAMS = frozenset({"learning_rate", "batch_size", "epochs", "lora_r", "lora_alpha", "lora_dropout",
                     "max_len", "max_steps", "weight_decay"})
# The paper's dynamic (probe) features, by their released column names.
PAPER_DYNAMIC = frozenset({
    "avg_activation_sparsity", "avg_grad_norm", "avg_grad_sparsity", "avg_param_change",
    "catastrophic_forgetting", "gradient_consistency", "initial_loss", "landscape_flatness",
    "loss_decay_rate", "loss_stability",
})
TARGET_DEFAULTS = ("performance", "overall_accuracy", "target")
# v2 targets that are a change from the base model in nats (the base model's
# own value is 0 by definition); every other target is reported in points.
NATS_TARGETS = ("y_indomain", "y_general")
# The binary label of the divergence classifier (meta/export.py).
DIVERGED_TARGET = "y_diverged"
# Default group columns, most specific data grouping first: the data recipe
# keeps seed repeats and learning-rate siblings (same data, same static
# features) on one side of a split.
GROUP_DEFAULTS = ("recipe_id", "dataset_name", "variant", "config_id", "sources")
# A group column with at least this share of rows as groups is about a random split.
GROUPS_PER_ROW_MAX = 0.9
COST_DEFAULTS = ("train_s", "total_s", "steps")


def target_unit(name: str) -> str:
    """``nats`` for the v2 log-likelihood targets, ``points`` for the rest."""
    return "nats" if name in NATS_TARGETS else "points"


def feature_kind(name: str) -> str:
    """``hparam``, ``dynamic`` (from the probe: needs ``--probe``) or ``static``."""
    if name in HPARAMS:
        return "hparam"
    if name.startswith(("probe_", "contrast_")) or name in PAPER_DYNAMIC:
        return "dynamic"
    return "static"


@dataclass(frozen=True)
class MetaTable:
    """A CSV held as text cells; ``sha256`` is the hash of the file's bytes."""

    path: str
    columns: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    sha256: str

    def __len__(self) -> int:
        return len(self.cells)

    def text(self, name: str) -> list[str]:
        i = self._index(name)
        return [row[i] for row in self.cells]

    def numeric(self, name: str) -> np.ndarray:
        """The column as float64; blank or unparsable cells are NaN."""
        return np.array([_float(c) for c in self.text(name)], dtype=np.float64)

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """Shape (rows, len(names)), float64."""
        cols = [self.numeric(n) for n in names]
        return np.column_stack(cols) if cols else np.empty((len(self), 0))

    def is_numeric(self, name: str) -> bool:
        """True when every non-blank cell parses as a number (and one does)."""
        vals = [c for c in self.text(name) if c.strip()]
        return bool(vals) and all(not math.isnan(_float(c)) or c.strip().lower() == "nan" for c in vals)

    def _index(self, name: str) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise PredictError(f"{self.path}: no column {name!r}") from None


def _float(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return math.nan


def read_table(path: str | Path) -> MetaTable:
    """Read ``path`` (UTF-8 CSV with a header row). Raises :class:`PredictError`."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PredictError(f"{path}: cannot read: {exc.strerror or exc}") from None
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    if len(rows) < 2:
        raise PredictError(f"{path}: needs a header row and at least one data row")
    header = tuple(h.strip() for h in rows[0])
    if len(set(header)) != len(header):
        raise PredictError(f"{path}: duplicate column names in the header")
    bad = [i + 2 for i, r in enumerate(rows[1:]) if len(r) != len(header)]
    if bad:
        raise PredictError(f"{path}:{bad[0]}: {len(rows[bad[0] - 1])} cells, header has {len(header)}")
    return MetaTable(str(path), header, tuple(tuple(r) for r in rows[1:]), hashlib.sha256(raw).hexdigest())


def converged(table: MetaTable) -> MetaTable:
    """The rows whose run did not diverge (``y_diverged`` is not 1): the
    regression targets are fitted on these, the divergence classifier on all."""
    if DIVERGED_TARGET not in table.columns:
        return table
    flags = table.text(DIVERGED_TARGET)
    return MetaTable(table.path, table.columns, tuple(r for r, f in zip(table.cells, flags) if f.strip() != "1"),
                     table.sha256)


def pick_target(table: MetaTable, target: str | None) -> str:
    """``target`` if given, else the first of :data:`TARGET_DEFAULTS` present."""
    if target:
        table._index(target)
        return target
    for name in TARGET_DEFAULTS:
        if name in table.columns:
            return name
    raise PredictError(f"{table.path}: no target column ({', '.join(TARGET_DEFAULTS)}); name one with --target")


def default_features(table: MetaTable, target: str) -> tuple[str, ...]:
    """Numeric columns that may be features (see the module doc), in CSV
    order. Columns constant over the table stay: the trees ignore them, but
    their (zero-width) training range still marks a dataset that differs
    as out of distribution."""
    out = []
    per_benchmark = per_benchmark_columns(table.columns)
    for name in table.columns:
        if name == target or name in NOT_FEATURES or name in per_benchmark:
            continue
        if name.startswith(("proxy", "y_")) or not table.is_numeric(name):
            continue
        out.append(name)
    if not out:
        raise PredictError(f"{table.path}: no usable feature column; name them with --features")
    return tuple(out)


def per_benchmark_columns(columns: Sequence[str]) -> frozenset[str]:
    """Columns ``PREFIX_BENCH`` (prefix in :data:`PER_BENCHMARK_PREFIXES`)
    where ``BENCH`` has a ``score_BENCH`` or ``delta_BENCH`` column."""
    benches = {c.split("_", 1)[1] for c in columns if c.startswith(("score_", "delta_"))}
    return frozenset(f"{p}_{b}" for p in PER_BENCHMARK_PREFIXES for b in benches) & set(columns)


def pick_features(table: MetaTable, target: str, names: Sequence[str] | None) -> tuple[str, ...]:
    """``names`` checked against the table, or :func:`default_features`."""
    if not names:
        return default_features(table, target)
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise PredictError(f"{table.path}: feature column(s) not found: {', '.join(missing)}")
    if target in names:
        raise PredictError(f"the target {target!r} cannot also be a feature")
    text = [n for n in names if not table.is_numeric(n)]
    if text:
        raise PredictError(f"{table.path}: feature column(s) not numeric: {', '.join(text)}")
    return tuple(names)


def first_present(table: MetaTable, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in table.columns), None)


def group_column(table: MetaTable) -> str | None:
    """The first of :data:`GROUP_DEFAULTS` that really groups rows (two or
    more groups, fewer than :data:`GROUPS_PER_ROW_MAX` of the rows); None
    when no column does."""
    present = [c for c in GROUP_DEFAULTS if c in table.columns]
    return next((c for c in present if 2 <= len(set(table.text(c))) and not near_unique(table, c)), None)


def near_unique(table: MetaTable, column: str) -> bool:
    """True when ``column`` has about as many groups as rows (a grouped
    split by it is about a random split)."""
    return len(set(table.text(column))) >= GROUPS_PER_ROW_MAX * len(table)


def check_group_column(table: MetaTable, column: str | None) -> str:
    """``column`` (or the default) checked for grouping; raises
    :class:`PredictError` when there is none or it groups nothing."""
    if column is None:
        column = group_column(table)
        if column is None:
            raise PredictError(f"{table.path}: no column groups the runs ({', '.join(GROUP_DEFAULTS)} are "
                               f"absent, constant or about one group per row): name one with --group "
                               f"(the data recipe or source dataset of each run), or use --split random")
        return column
    groups = len(set(table.text(column)))
    if groups < 2 or near_unique(table, column):
        raise PredictError(f"{table.path}: group column {column!r} has {groups} groups for {len(table)} rows: "
                           f"a grouped split by it is {'impossible' if groups < 2 else 'a random split'}; "
                           f"name a column that groups runs of the same data, or use --split random")
    return column


def target_values(table: MetaTable, target: str) -> np.ndarray:
    """The target column; rows where it is missing raise :class:`PredictError`."""
    y = table.numeric(target)
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise PredictError(f"{table.path}:{bad[0] + 2}: target {target!r} is missing or not a number "
                           f"({bad.size} row(s))")
    return y
