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
    ("--min-child-samples", "min_child_samples", int, None),
    ("--lambda-l2", "lambda_l2", float, 1.0),
)


def _lgb_options(f):
    for flag, dest, typ, default in reversed(_LGB_OPTIONS):
        help_ = ("LightGBM minimum rows per leaf [max(2, rows // 15): the paper's 20 at ~300 rows]."
                 if dest == "min_child_samples" else "LightGBM setting (default: the paper's).")
        f = click.option(flag, dest, type=typ, default=default, show_default=default is not None, help=help_)(f)
    f = click.option("--coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9,
                     show_default=True, help="Target coverage of the CV+ conformal interval.")(f)
    f = click.option("--cv-folds", type=click.IntRange(2), default=10, show_default=True,
                     help="CV+ folds of the interval (whole groups; cut to the number of groups).")(f)
    f = click.option("--group", "group_column",
                     help="Column grouping runs of the same data (kept on one side of every split) "
                          "[recipe_id, dataset_name, variant, config_id or sources: the first with 2+ "
                          "groups and fewer groups than 90% of the rows].")(f)
    return f


def _table_options(f):
    f = click.option("--features", "feature_list",
                     help="Comma-separated feature columns, or @FILE with one per line "
                          "[every numeric non-target column the layout allows].")(f)
    f = click.option("--target", help="Target column [performance, overall_accuracy or target].")(f)
    return f


def _params(kw: dict[str, Any], seed: int) -> dict[str, Any]:
    keys = [dest for _, dest, _, _ in _LGB_OPTIONS] + ["coverage", "cv_folds"]
    return {**{k: kw.pop(k) for k in keys}, "seed": seed}


def _feature_names(value: str | None) -> list[str] | None:
    if not value:
        return None
    if value.startswith("@"):
        text = Path(value[1:]).read_text(encoding="utf-8")
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [v.strip() for v in value.split(",") if v.strip()]


def _load(csv_path: str, target: str | None, feature_list: str | None, static_only: bool = False):
    from tuneahead_lint.predict.table import (
        DIVERGED_TARGET, converged, feature_kind, pick_features, pick_target, read_table,
    )

    table = read_table(csv_path)
    target = pick_target(table, target)
    table = table if target == DIVERGED_TARGET else converged(table)
    features = pick_features(table, target, _feature_names(feature_list))
    if static_only:
        features = tuple(f for f in features if feature_kind(f) != "dynamic")
    return table, target, features


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("fit")
@click.argument("csv_path", metavar="META.csv", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Model folder to write (model.txt, cv/, model.json, CARD.md).")
@_table_options
@click.option("--static-only", is_flag=True, help="Drop probe features (the variant used without --probe).")
@_lgb_options
@click.option("--seed", type=int, default=0, show_default=True, help="Fold and LightGBM seed.")
@click.option("--cv-repeats", type=click.IntRange(1), default=20, show_default=True,
              help="Repeats of the grouped 5-fold evaluation stored in the card (skill, coverage, gate).")
@click.option("--base-score", type=float, help="Base model's score [the CSV's base column when constant].")
@click.option("--points-per-unit", type=float, help="Report points per target unit [100 for scores in [0, 1]].")
@click.option("--success-threshold", type=float,
              help="Score at or above which a run counts as successful [median score].")
@click.option("--probe-steps", type=click.IntRange(1),
              help="Probe steps of the meta runs [the preset's, when the CSV names a known preset].")
@click.option("--name", help="Model name for the card [the output folder's name].")
@click.option("--description", default="", help="One paragraph for the model card.")
def fit_cmd(csv_path: str, output: str, target: str | None, feature_list: str | None, static_only: bool,
            seed: int, cv_repeats: int, base_score: float | None, points_per_unit: float | None,
            success_threshold: float | None, probe_steps: int | None, name: str | None, description: str,
            group_column: str | None, **lgb: Any) -> None:
    """Train the predictor on every row of META.csv (LightGBM, CV+ interval, distance guard) and
    store its grouped cross-validation skill in the card. With --target y_diverged: the divergence
    classifier (its card: Brier and AUC under the same grouped CV); when no run or every run diverged
    there is nothing to learn: it says so, writes nothing and exits 0. The regression targets are
    fitted on the runs that did not diverge."""
    from tuneahead_lint.predict.predictor import Predictor
    from tuneahead_lint.predict.table import DIVERGED_TARGET, PredictError, target_unit
    from tuneahead_lint.predict.train import fit_table, target_spec

    try:
        table, target, features = _load(csv_path, target, feature_list, static_only)
        if target == DIVERGED_TARGET:
            info = {"name": name or Path(output).name, "description": description,
                    "variant": "static" if static_only else "full", "base_model": _constant(table, "base_model")}
            return _fit_classifier(table, features, output, _params(lgb, seed), _fit_groups(table, group_column),
                                   seed, cv_repeats, info)
        groups = _fit_groups(table, group_column)
        spec = target_spec(table, target, base_score=base_score, points_per_unit=points_per_unit,
                           success_threshold=success_threshold)
        params = _params(lgb, seed)
        info = {"name": name or Path(output).name, "description": description,
                "variant": "static" if static_only else "full", "base_model": _constant(table, "base_model"),
                "probe": None if static_only else probe_recipe(_constant(table, "preset"), probe_steps),
                "cv": card_cv(table, features, spec, params, groups, seed, cv_repeats)}
        model, extra = fit_table(table, spec, features, Predictor(**params), group_column=groups, seed=seed,
                                 info=info)
        model.save(output, extra)
    except PredictError as exc:
        raise _fail(exc) from None
    if not model.n_splits():
        click.echo(f"warning: no tree could split ({len(table)} rows, min_child_samples "
                   f"{model.min_child_samples_}): the model predicts a constant", err=True)
    cv = info["cv"]
    click.echo(f"wrote {output}: {len(features)} features, {len(table)} rows, {model.best_iteration_} trees, "
               f"CV+ half-width ~{model.half_width() * spec.points_per_unit:.3g} {target_unit(target)}; grouped CV "
               f"({groups or 'by row'}): RMSE {cv['rmse']:.3g} vs {cv['rmse_mean']:.3g} for the mean, skill "
               f"{cv['skill']:+.3f} ± {cv['skill_se']:.3f}")


def _fit_classifier(table, features, output: str, params: dict[str, Any], groups: str | None, seed: int,
                    repeats: int, info: dict[str, Any]) -> None:
    """``meta fit --target y_diverged``: fit, cross-validate and save the classifier."""
    import numpy as np

    from tuneahead_lint.predict.diverge import DivergenceClassifier, check_labels, classifier_cv

    y = table.numeric("y_diverged")
    if np.isin(y, (0.0, 1.0)).all() and np.unique(y).size < 2:
        click.echo(f"no divergence classifier written: {int(y.sum())} of {y.size} runs diverged, "
                   f"nothing to learn", err=True)
        return
    y = check_labels(y, table.path)
    cv = classifier_cv(table, features, params, groups, seed, repeats)
    model = DivergenceClassifier(**params).fit(table.matrix(features), y, features=features)
    model.save(output, {**info, "cv": cv, "training": {"path": table.path, "sha256": table.sha256,
                                                       "rows": len(table), "group_column": groups}})
    click.echo(f"wrote {output}: divergence classifier, {len(features)} features, {len(table)} runs "
               f"({cv['diverged_runs']} diverged); grouped CV: Brier {cv['brier']:.3g} vs {cv['brier_base']:.3g} "
               f"for the base rate, AUC {cv['auc']:.3g} per fold, {cv['auc_pooled']:.3g} pooled")


def _groups(table, column: str | None) -> str:
    from tuneahead_lint.predict.table import check_group_column

    return check_group_column(table, column)


def _fit_groups(table, column: str | None) -> str | None:
    """The group column for ``meta fit``: as :func:`_groups`, but with no
    default column the fit goes on by rows, with a loud warning."""
    from tuneahead_lint.predict.table import group_column

    if column is not None or group_column(table) is not None:
        return _groups(table, column)
    click.echo("warning: no column groups runs of the same data (recipe_id, dataset_name, ... are absent or "
               "about one per row): the CV+ interval and the card's cross-validation treat every run as "
               "its own dataset, which is optimistic when runs share data; name one with --group", err=True)
    return None


def card_cv(table, features, spec, params: dict[str, Any], groups: str | None, seed: int,
            repeats: int) -> dict[str, Any]:
    """Grouped 5-fold CV of this model and the mean, for the card."""
    from tuneahead_lint.predict.evaluate import EvalConfig, Spread, evaluate

    ev = evaluate(table, features, spec, EvalConfig(split="group", folds=5, repeats=repeats, seed=seed,
                                                     group_column=groups, params=params,
                                                     methods=("tuneahead",)))
    s = ev.summary
    m = s["tuneahead"]

    def val(key: str, row: dict[str, Spread] = m) -> float:
        return row[key].mean if key in row else float("nan")

    return {"protocol": f"repeated group 5-fold by {groups or 'row (no group column)'}, {repeats} repeats ({len(ev.per_resample)} "
                        f"resamples), seed {seed}",
            "rmse": val("rmse"), "rmse_se": m["rmse"].se, "rmse_mean": val("rmse", s["mean"]),
            "skill": val("skill"), "skill_se": m["skill"].se, "coverage": val("coverage"),
            "half_width_points": val("half_width"), "flagged": val("flagged"),
            "gate_accuracy": val("gate_accuracy"), "gate_decided": val("gate_decided"),
            "nogo_recall": val("nogo_recall"), "clear_runs": val("clear_runs"),
            "clear_nogo_runs": val("clear_nogo_runs"), "threshold": ev.gate.threshold,
            "threshold_source": ev.gate.source, "noise_floor_points": ev.gate.noise_floor}


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


def _constant(table, column: str) -> str | None:
    if column not in table.columns:
        return None
    values = set(table.text(column))
    return values.pop() if len(values) == 1 else None


@click.command("eval")
@click.argument("csv_path", metavar="META.csv", type=click.Path(dir_okay=False))
@_table_options
@click.option("--split", type=click.Choice(["group", "random", "both"]), default="group", show_default=True,
              help="group: repeated group K-fold (no recipe on both sides); random: repeated random test "
                   "parts (the paper's; seed repeats leak); both.")
@click.option("--folds", type=click.IntRange(0), default=5, show_default=True,
              help="K of the group K-fold; 0 = leave one group out (one pass).")
@click.option("--repeats", type=click.IntRange(1), default=20, show_default=True,
              help="Repeats (group: of the K-fold; random: of the split), seeds SEED..SEED+N-1.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--test-size", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.28,
              show_default=True, help="Test share of a random split.")
@click.option("--threshold", type=float, help="Go/no-go score threshold [the base model's score].")
@click.option("--noise-floor", type=float,
              help="Gate accuracy counts runs farther than this (points) from the threshold "
                   "[pooled SD of seed repeats of one config_id].")
@_lgb_options
@click.option("--format", "out_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the result here.")
@click.option("--json-output", type=click.Path(dir_okay=False), help="Also write the JSON result here.")
def eval_cmd(csv_path: str, target: str | None, feature_list: str | None, split: str, folds: int,
             repeats: int, seed: int, test_size: float, threshold: float | None, noise_floor: float | None,
             out_format: str, output: str | None, json_output: str | None, group_column: str | None,
             **lgb: Any) -> None:
    """Table 1 on META.csv under resampling: every method, mean ± SE, skill, coverage, gate."""
    from tuneahead_lint.predict.evalreport import eval_json, render_text
    from tuneahead_lint.predict.evaluate import EvalConfig, evaluate
    from tuneahead_lint.predict.table import PredictError
    from tuneahead_lint.predict.train import target_spec
    from tuneahead_lint.reporters.serialize import dumps

    if folds == 1:
        raise click.BadParameter("1 fold leaves no training rows: use 2 or more, or 0 (leave one group out)",
                                 param_hint="--folds")
    try:
        table, target, features = _load(csv_path, target, feature_list)
        kinds = ("group", "random") if split == "both" else (split,)
        groups = _groups(table, group_column) if "group" in kinds or group_column else None
        spec = target_spec(table, target)
        params = _params(lgb, seed)
        evs = [evaluate(table, features, spec, EvalConfig(
            split=kind, folds=folds, repeats=repeats, test_size=test_size, seed=seed, group_column=groups,
            threshold=threshold, noise_floor=noise_floor, params=params)) for kind in kinds]
    except PredictError as exc:
        raise _fail(exc) from None
    doc = {"data": {"path": csv_path, "sha256": table.sha256, "rows": len(table)},
           "features": list(features), "results": [eval_json(ev) for ev in evs]}
    text = (f"# Table 1 on {csv_path} ({len(table)} runs, {len(features)} features)\n\n"
            + "\n".join(render_text(ev, f"split: {ev.cfg.split}") for ev in evs))
    if json_output:
        Path(json_output).write_text(dumps(doc), encoding="utf-8")
    text = dumps(doc) if out_format == "json" else text
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


COMMANDS = (fit_cmd, eval_cmd)
