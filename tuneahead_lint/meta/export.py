"""The meta-dataset as one wide table (one row per finished run) and its CSV.

Column groups, in this order (the schema is versioned by ``SCHEMA``; see
``meta/SCHEMA.md`` for every column):

* identity: ``run_id, config_id, preset, variant, recipe_id, seed, data_seed, base_model``
* recipe: ``sources, n_sources, size, label_noise, near_dups, outliers,
  outlier_source, truncate, template_leak``
* hyperparameters: ``learning_rate, batch_size, epochs, lora_r, lora_alpha, max_len, max_steps``
* training: ``steps, records, target_tokens, loss_first, loss_last, loss_min,
  grad_norm_max, diverged``
* ground truth, per benchmark ``b`` (sorted): ``score_b, base_b, delta_b, acc_b, acc_norm_b, n_b,
  margin_b, base_margin_b, delta_margin_b``;
  then ``performance`` (mean ``score_b`` over the target benchmarks, the
  paper's R), ``base_performance``, ``performance_delta`` and ``target``
  (the default regression target, = ``performance_delta``), ``target_benchmarks``
* targets v2: ``y_indomain`` (held-out NLL reduction: base - run, higher is better, as for every target), ``y_general`` (mean margin
  change over the target benchmarks), ``y_general_acc`` (= ``target``),
  ``y_diverged`` (0/1), and what they come from: ``indomain_nll,
  base_indomain_nll, indomain_tokens, heldout_items``
* times: ``build_s, train_s, eval_s, static_s, probe_s, total_s, device, host, finished_at, code_version,
  load_s, indomain_s``
* features: the project's feature names as ``features.compute_features`` and
  ``probe.run_probe`` return them, sorted (empty when not computed)
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from tuneahead_lint.meta.presets import TARGET_BENCHMARKS
from tuneahead_lint.meta.store import Store

SCHEMA = "tuneahead-meta/1"
ID_COLS = ("run_id", "config_id", "preset", "variant", "recipe_id", "seed", "data_seed", "base_model")
RECIPE_COLS = ("sources", "n_sources", "size", "label_noise", "near_dups", "outliers", "outlier_source",
               "truncate", "template_leak")
HP_COLS = ("learning_rate", "batch_size", "epochs", "lora_r", "lora_alpha", "max_len", "max_steps")
TRAIN_COLS = ("steps", "records", "target_tokens", "loss_first", "loss_last", "loss_min",
              "grad_norm_max", "diverged")
PER_BENCH = ("score", "base", "delta", "acc", "acc_norm", "n", "margin", "base_margin", "delta_margin")
AGG_COLS = ("performance", "base_performance", "performance_delta", "target", "target_benchmarks")
Y_COLS = ("y_indomain", "y_general", "y_general_acc", "y_diverged")
Y_SOURCE_COLS = ("indomain_nll", "base_indomain_nll", "indomain_tokens", "heldout_items")
TIME_COLS = ("build_s", "train_s", "eval_s", "static_s", "probe_s", "total_s", "device", "host",
             "finished_at", "code_version", "load_s", "indomain_s")
# y_diverged: a non-finite loss or LoRA weight, or a training loss that ended
# above EXPLODE x its first value (the run blew up without reaching NaN).
EXPLODE = 1.5


def rows(store: Store, target_benchmarks: Sequence[str] = TARGET_BENCHMARKS) -> tuple[list[str], list[dict]]:
    """(columns, rows) of the wide table, rows in ``finished_at`` order."""
    runs = store.query("SELECT * FROM runs ORDER BY finished_at, run_id")
    scores: dict[str, dict[str, Any]] = {}
    for r in store.query("SELECT * FROM scores"):
        scores.setdefault(r["run_id"], {})[r["benchmark"]] = r
    feats: dict[str, dict[str, float | None]] = {}
    for r in store.query("SELECT run_id, name, value FROM features"):
        feats.setdefault(r["run_id"], {})[r["name"]] = r["value"]
    fsecs = {(r["run_id"], r["kind"]): r["seconds"]
             for r in store.query("SELECT run_id, kind, seconds FROM feature_sets WHERE status='ok'")}
    metrics: dict[str, dict[str, float | None]] = {}
    for r in store.query("SELECT run_id, name, value FROM metrics"):
        metrics.setdefault(r["run_id"], {})[r["name"]] = r["value"]
    benches = sorted({b for s in scores.values() for b in s})
    extra = extra_recipe_cols(runs)
    base_cache: dict[tuple[str, str], dict] = {}
    out = []
    for run in runs:
        key = (run["base_model"], run["suite_hash"])
        if key not in base_cache:
            base_cache[key] = store.baseline(*key)
        row = _row(run, scores.get(run["run_id"], {}), base_cache[key], benches, target_benchmarks, extra)
        row["static_s"] = fsecs.get((run["run_id"], "static"))
        row["probe_s"] = fsecs.get((run["run_id"], "probe"))
        _targets_v2(row, metrics.get(run["run_id"], {}), target_benchmarks)
        row.update(feats.get(run["run_id"], {}))
        out.append(row)
    feature_cols = sorted({n for f in feats.values() for n in f})
    cols = [*ID_COLS, *RECIPE_COLS, *extra, *HP_COLS, *TRAIN_COLS,
            *(f"{k}_{b}" for b in benches for k in PER_BENCH), *AGG_COLS, *Y_COLS, *Y_SOURCE_COLS,
            *TIME_COLS, *feature_cols]
    return cols, out


def extra_recipe_cols(runs) -> list[str]:
    """Recipe fields beyond the v1 columns (corruptions and settings added
    later, e.g. ``heldout``), sorted; a recipe without one exports its default."""
    known = set(RECIPE_COLS) | {"seed", "sources"}
    return sorted({k for r in runs for k in json.loads(r["spec_json"])["recipe"] if k not in known})


def _targets_v2(row: dict, metrics: dict, target_benchmarks: Sequence[str]) -> None:
    """The v2 target columns of one row (see the module doc and SCHEMA.md)."""
    nll, base = metrics.get("indomain_nll"), metrics.get("base_indomain_nll")
    row["y_indomain"] = base - nll if nll is not None and base is not None else None
    used = row["target_benchmarks"].split("+") if row["target_benchmarks"] else []
    deltas = [row.get(f"delta_margin_{b}") for b in used]
    row["y_general"] = _mean(deltas) if deltas and all(d is not None for d in deltas) else None
    row["y_general_acc"] = row["performance_delta"]
    first, last = row["loss_first"], row["loss_last"]
    exploded = first is None or last is None or last > EXPLODE * first
    row["y_diverged"] = int(bool(row["diverged"]) or exploded)
    for k in Y_SOURCE_COLS:
        row[k] = metrics.get(k)
    for k in ("load_s", "indomain_s"):
        row[k] = metrics.get(k)


def _row(run, scores: dict, base: dict, benches: Sequence[str], target_benchmarks: Sequence[str],
         extra: Sequence[str] = ()) -> dict:
    spec = json.loads(run["spec_json"])
    rec, hp = spec["recipe"], spec["hparams"]
    row: dict[str, Any] = {k: run[k] for k in ("run_id", "config_id", "preset", "variant", "recipe_id",
                                                "seed", "base_model")}
    row["data_seed"] = rec["seed"]
    row["sources"] = "|".join(f"{n}:{w:g}" for n, w in rec["sources"])
    row["n_sources"] = len(rec["sources"])
    for k in ("size", "label_noise", "near_dups", "outliers", "truncate", "template_leak"):
        row[k] = rec[k]
    row["outlier_source"] = rec["outlier_source"] if rec["outliers"] else ""
    defaults = _recipe_defaults()
    for k in extra:
        row[k] = rec.get(k, defaults.get(k))
    row.update(learning_rate=hp["lr"], batch_size=hp["batch_size"], epochs=hp["epochs"],
               lora_r=hp["lora_r"], lora_alpha=hp["lora_alpha"], max_len=hp["max_len"],
               max_steps=hp["max_steps"])
    for k in TRAIN_COLS:
        row[k] = run[k]
    for b in benches:
        s, bs = scores.get(b), base.get(b)
        row[f"score_{b}"] = s["score"] if s else None
        row[f"base_{b}"] = bs.score if bs else None
        row[f"delta_{b}"] = s["score"] - bs.score if s and bs else None
        row[f"acc_{b}"] = s["acc"] if s else None
        row[f"acc_norm_{b}"] = s["acc_norm"] if s else None
        row[f"n_{b}"] = s["n"] if s else None
        m, bm = (s["margin"] if s else None), (bs.margin if bs else None)
        row[f"margin_{b}"], row[f"base_margin_{b}"] = m, bm
        row[f"delta_margin_{b}"] = m - bm if m is not None and bm is not None else None
    used = [b for b in target_benchmarks if b in scores] or sorted(scores)
    perf = _mean([scores[b]["score"] for b in used])
    base_perf = _mean([base[b].score for b in used if b in base]) if all(b in base for b in used) else None
    row["performance"] = perf
    row["base_performance"] = base_perf
    row["performance_delta"] = perf - base_perf if perf is not None and base_perf is not None else None
    row["target"] = row["performance_delta"]
    row["target_benchmarks"] = "+".join(used)
    for k in ("build_s", "train_s", "eval_s", "total_s", "device", "host", "finished_at", "code_version"):
        row[k] = run[k]
    return row


def _recipe_defaults() -> dict[str, Any]:
    import dataclasses

    from tuneahead_lint.meta.variants import Recipe

    return {f.name: f.default for f in dataclasses.fields(Recipe)
            if f.default is not dataclasses.MISSING}


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def to_csv(cols: Sequence[str], table: Sequence[dict]) -> str:
    """CSV text: header row, then rows; floats with up to 6 significant
    digits, empty cells for missing values (stable bytes for the same store)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for row in table:
        w.writerow([_cell(row.get(c)) for c in cols])
    return buf.getvalue()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        return f"{v:.6g}"
    return str(v)
