"""``tuneahead-lint meta fit`` and ``meta eval``: click commands (click and
the standard library at import time; numpy/lightgbm load when they run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_LGB_OPTIONS = (
    ("--learning-rate", "learning_rate", float, 0.05),
    ("--num-leaves", "num_leaves", int, 4),
    ("--n-estimators", "n_estimators", int, 140),
    ("--subsample", "subsample", float, 0.6),
    ("--colsample-bytree", "colsample_bytree", float, 0.6),
    ("--min-child-samples", "min_child_samples", int, 20),
    ("--lambda-l2", "lambda_l2", float, 1.0),
    ("--early-stopping-rounds", "early_stopping_rounds", int, 50),
)


def _lgb_options(f):
    for flag, dest, typ, default in reversed(_LGB_OPTIONS):
        f = click.option(flag, dest, type=typ, default=default, show_default=True,
                         help="LightGBM setting (default: the paper's).")(f)
    f = click.option("--coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
                     show_default=True, help="Target coverage of the conformal interval.")(f)
    return f


def _table_options(f):
    f = click.option("--features", "feature_list",
                     help="Comma-separated feature columns, or @FILE with one per line "
                          "[every numeric non-target column the layout allows].")(f)
    f = click.option("--target", help="Target column [performance, overall_accuracy or target].")(f)
    return f


def _params(kw: dict[str, Any], seed: int) -> dict[str, Any]:
    keys = [dest for _, dest, _, _ in _LGB_OPTIONS] + ["coverage"]
    return {**{k: kw.pop(k) for k in keys}, "seed": seed}


def _feature_names(value: str | None) -> list[str] | None:
    if not value:
        return None
    if value.startswith("@"):
        text = Path(value[1:]).read_text(encoding="utf-8")
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [v.strip() for v in value.split(",") if v.strip()]


def _load(csv_path: str, target: str | None, feature_list: str | None, static_only: bool = False):
    from tuneahead_lint.predict.table import feature_kind, pick_features, pick_target, read_table

    table = read_table(csv_path)
    target = pick_target(table, target)
    features = pick_features(table, target, _feature_names(feature_list))
    if static_only:
        features = tuple(f for f in features if feature_kind(f) != "dynamic")
    return table, target, features


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("fit")
@click.argument("csv_path", metavar="META.csv", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Model folder to write (model.txt, model.json, CARD.md).")
@_table_options
@click.option("--static-only", is_flag=True, help="Drop probe features (the variant used without --probe).")
@_lgb_options
@click.option("--seed", type=int, default=0, show_default=True, help="Split and LightGBM seed.")
@click.option("--val-size", type=click.FloatRange(0, 1, max_open=True), default=0.15, show_default=True,
              help="Share of rows for early stopping.")
@click.option("--cal-size", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Share of rows for the conformal calibration.")
@click.option("--base-score", type=float, help="Base model's score [the CSV's base column when constant].")
@click.option("--points-per-unit", type=float, help="Report points per target unit [100 for scores in [0, 1]].")
@click.option("--success-threshold", type=float,
              help="Score at or above which a run counts as successful [median score].")
@click.option("--probe-steps", type=click.IntRange(1),
              help="Probe steps of the meta runs [the preset's, when the CSV names a known preset].")
@click.option("--name", help="Model name for the card [the output folder's name].")
@click.option("--description", default="", help="One paragraph for the model card.")
def fit_cmd(csv_path: str, output: str, target: str | None, feature_list: str | None, static_only: bool,
            seed: int, val_size: float, cal_size: float, base_score: float | None,
            points_per_unit: float | None, success_threshold: float | None, probe_steps: int | None,
            name: str | None, description: str, **lgb: Any) -> None:
    """Train the predictor on META.csv (LightGBM, z-scored features, conformal interval)."""
    from tuneahead_lint.predict.predictor import Predictor
    from tuneahead_lint.predict.table import PredictError
    from tuneahead_lint.predict.train import fit_table, split_for_fit, target_spec

    try:
        table, target, features = _load(csv_path, target, feature_list, static_only)
        split = split_for_fit(len(table), val_size, cal_size, seed)
        spec = target_spec(table, target, base_score=base_score, points_per_unit=points_per_unit,
                           success_threshold=success_threshold,
                           rows=_concat(split.train, split.val))
        info = {"name": name or Path(output).name, "description": description,
                "variant": "static" if static_only else "full", "base_model": _constant(table, "base_model"),
                "probe": None if static_only else probe_recipe(_constant(table, "preset"), probe_steps)}
        model, extra = fit_table(table, spec, features, Predictor(**_params(lgb, seed)),
                                 val_size=val_size, cal_size=cal_size, seed=seed, info=info)
        model.save(output, extra)
    except PredictError as exc:
        raise _fail(exc) from None
    if not model.n_splits():
        click.echo(f"warning: no tree could split ({extra['training']['train']} training rows, "
                   f"min_child_samples {model.min_child_samples}): the model predicts a constant", err=True)
    where = "calibration" if "calibration" in extra["metrics"] else "train"
    rmse = extra["metrics"].get(where, {}).get("rmse", float("nan"))
    click.echo(f"wrote {output}: {len(features)} features, {len(table)} rows "
               f"(train/early-stop/cal {extra['training']['split']}), {model.best_iteration_} trees, "
               f"interval ±{model.q_ * spec.points_per_unit:.3g} points; RMSE {rmse:.3g} points on the "
               f"{where} rows")


def probe_recipe(preset: str | None, steps: int | None) -> dict[str, Any] | None:
    """The probe settings of the meta runs that are not hyperparameter
    columns: the preset's steps and extras, and the fine-tune defaults the
    runner passes to the probe (dropout, weight decay, clipping)."""
    from tuneahead_lint.meta.finetune import HParams
    from tuneahead_lint.meta.presets import PRESETS

    p = PRESETS.get(preset or "")
    if p is None and steps is None:
        return None
    hp = HParams()
    return {"steps": steps or p.probe_steps, **dict(p.probe_extra if p else ()),
            "lora_dropout": hp.lora_dropout, "weight_decay": hp.weight_decay, "max_grad_norm": hp.max_grad_norm}


def _concat(*parts):
    import numpy as np

    return np.concatenate(parts)


def _constant(table, column: str) -> str | None:
    if column not in table.columns:
        return None
    values = set(table.text(column))
    return values.pop() if len(values) == 1 else None


@click.command("eval")
@click.argument("csv_path", metavar="META.csv", type=click.Path(dir_okay=False))
@_table_options
@click.option("--split", type=click.Choice(["random", "group", "both"]), default="both", show_default=True,
              help="Random rows (the paper's) or whole source-dataset groups on one side.")
@click.option("--group", "group_column",
              help="Group column for --split group [sources, dataset_name, recipe_id or variant: "
                   "the first with 4+ groups].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--test-size", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.28,
              show_default=True)
@click.option("--val-size", type=click.FloatRange(0, 1, max_open=True), default=0.14, show_default=True)
@click.option("--cal-size", type=click.FloatRange(0, 1, max_open=True), default=0.12, show_default=True)
@click.option("--threshold", type=float, help="Go/no-go score threshold [median training score].")
@click.option("--cost", "cost_column", help="Column with each run's compute [train_s, total_s or steps].")
@click.option("--bootstrap", "n_boot", type=click.IntRange(10), default=1000, show_default=True,
              help="Bootstrap resamples of the test rows for the 95% intervals.")
@click.option("--repeats", type=click.IntRange(1), default=1, show_default=True,
              help="Repeat each split with seeds SEED..SEED+N-1 and add a summary over repeats.")
@_lgb_options
@click.option("--format", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the result here.")
def eval_cmd(csv_path: str, target: str | None, feature_list: str | None, split: str,
             group_column: str | None, seed: int, test_size: float, val_size: float, cal_size: float,
             threshold: float | None, cost_column: str | None, n_boot: int, repeats: int, out_format: str,
             output: str | None, **lgb: Any) -> None:
    """Reproduce Table 1 on a held-out split of META.csv: the predictor against every baseline."""
    from tuneahead_lint.predict.evaluate import (EvalConfig, evaluate_table, render_summary, render_text,
                                                 summarise)
    from tuneahead_lint.predict.table import COST_DEFAULTS, PredictError, first_present
    from tuneahead_lint.predict.table import group_column as group_column_of
    from tuneahead_lint.reporters._serialize import dumps

    try:
        table, target, features = _load(csv_path, target, feature_list)
        groups = group_column or group_column_of(table)
        cost_column = cost_column or first_present(table, COST_DEFAULTS)
        params = _params(lgb, seed)
        kinds = ("random", "group") if split == "both" else (split,)
        runs = {kind: [evaluate_table(table, target, features, EvalConfig(
            split=kind, seed=seed + k, test_size=test_size, val_size=val_size, cal_size=cal_size,
            group_column=groups if kind == "group" else None, threshold=threshold,
            cost_column=cost_column, n_boot=n_boot, params={**params, "seed": seed + k}))
            for k in range(repeats)] for kind in kinds}
    except PredictError as exc:
        raise _fail(exc) from None
    doc = {"data": {"path": csv_path, "sha256": table.sha256, "rows": len(table)},
           "features": list(features), "results": [rs[0].to_dict() for rs in runs.values()]}
    text = (f"# Table 1 protocol on {csv_path} ({len(table)} runs, {len(features)} features)\n\n"
            + render_text([rs[0] for rs in runs.values()]))
    if repeats > 1:
        summaries = [summarise(rs) for rs in runs.values()]
        doc["repeats"] = {"n": repeats, "summaries": summaries,
                          "results": [r.to_dict() for rs in runs.values() for r in rs]}
        text += "\n" + "\n".join(render_summary(s) for s in summaries)
    text = dumps(doc) if out_format == "json" else text
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


COMMANDS = (fit_cmd, eval_cmd)
