"""Rendering of a ``meta eval`` :class:`~tuneahead_lint.predict.evaluate.Evaluation`:
the markdown Table 1 with its predictor block, and the JSON document."""

from __future__ import annotations

import math
from typing import Any

from tuneahead_lint.predict.evaluate import LGBM, POINT_METRICS, Evaluation, Spread, Summary
from tuneahead_lint.predict.table import target_unit


def eval_json(ev: Evaluation) -> dict[str, Any]:
    """The JSON form of ``ev`` (one entry of ``meta eval --format json``'s results)."""
    c = ev.cfg
    return {"split": c.split, "folds": c.folds, "repeats": c.repeats, "seed": c.seed,
            "group_column": c.group_column, "groups": ev.n_groups, "rows": ev.n_rows,
            "resamples": len(ev.per_resample), "test_fraction": ev.test_fraction,
            "target": ev.target, "points_per_unit": ev.points_per_unit,
            "gate": {"threshold": ev.gate.threshold, "source": ev.gate.source,
                     "noise_floor_points": ev.gate.noise_floor},
            "notes": ev.notes, "first_resample_rmse": ev.first, "pooled": ev.pooled,
            "summary": {m: {k: _spread_json(v) for k, v in row.items()} for m, row in ev.summary.items()}}


def _spread_json(s: Spread) -> dict[str, float]:
    return {"mean": s.mean, "se": s.se, "n": s.n}


def render_text(ev: Evaluation, title: str = "") -> str:
    """Markdown: Table 1 (mean ± SE per resample) and the predictor block."""
    s, c = ev.summary, ev.cfg
    how = (f"repeated group {c.folds}-fold by `{c.group_column}` ({ev.n_groups} groups), {c.repeats} repeats"
           if c.split == "group" and c.folds else
           f"leave-one-group-out by `{c.group_column}` ({ev.n_groups} groups)" if c.split == "group" else
           f"{c.repeats} random splits, test share {c.test_size:g} (seed repeats may leak)")
    out = [f"## {title or 'Table 1'}", "",
           f"{ev.n_rows} runs; {how}: {len(ev.per_resample)} resamples (seeds from {c.seed}). "
           f"Target `{ev.target}`, errors in {_unit(ev)}. Each cell: mean ± SE over "
           f"resamples (SE with the Nadeau-Bengio correction for overlapping training sets). "
           f"Skill = 1 - RMSE/RMSE(training mean) on the same test rows.", "",
           "| method | RMSE | skill | R² | Pearson r | Acc@1 | Acc@2 | Acc@3 | pooled RMSE | pooled skill | "
           "RMSE, first resample |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    d = _error_digits(ev)
    for name, row in s.items():
        cells = " | ".join(_pm(row.get(k), d if k == "rmse" else 2) for k in POINT_METRICS)
        pool = ev.pooled.get(name, {})
        out.append(f"| {name} | {cells} | {_fmt(pool.get('rmse'), d)} | {_fmt(pool.get('skill'), 2)} | "
                   f"{_fmt(ev.first.get(name), d)} |")
    out += [f"| {name} | n/a: {why} | | | | | | | | | |" for name, why in sorted(ev.notes.items())]
    out += ["", "Pooled: RMSE and skill over all out-of-fold predictions at once (the usual leave-one-out "
                "numbers; per-resample R² and skill are unstable on folds of 1-3 runs)."]
    return "\n".join(out + [""] + _model_block(ev, s)) + "\n"


MODEL_COLUMNS = ("coverage", "coverage_unflagged", "half_width", "flagged", "flagged_by_box", "gate_accuracy",
                 "gate_decided", "nogo_recall", "go_recall")


def _model_block(ev: Evaluation, s: Summary) -> list[str]:
    g, d, unit = ev.gate, _error_digits(ev), target_unit(ev.target)
    floor = f"{g.noise_floor:.{d}f} {unit}" if g.noise_floor is not None else "none (no seed repeats)"
    out = [f"Intervals (CV+, target {ev.cfg.params.get('coverage', 0.9):.0%}), distance guard and go/no-go "
           f"gate at {g.threshold:.4g} ({g.source}); verdict no-go when the interval's upper end is below "
           f"it, uncertain when the guard flags the run, else go. Gate accuracy on test runs farther than "
           f"one noise floor ({floor}) from the threshold, among those given go or no-go.", "",
           f"| method | coverage | coverage, unflagged | half-width ({unit}) | flagged by guard | "
           "flagged by the old box | gate accuracy | decided | no-go recall | go recall | clear runs (no-go) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in LGBM:
        if name not in s:
            continue
        r = s[name]
        cells = " | ".join(_pm(r.get(k), d if k == "half_width" else 2) for k in MODEL_COLUMNS)
        counts = f"{r['clear_runs'].mean:.0f} ({r['clear_nogo_runs'].mean:.0f})"
        out.append(f"| {name} | {cells} | {counts} |")
    return out + ["", "Clear runs are counted over all resamples (a run is tested once per repeat). The old box "
                      "flags a run when any feature lies beyond its training range by more than 5% of it "
                      "(the guard before issue 14), shown for comparison."]


def _unit(ev: Evaluation) -> str:
    """``points (x100)`` as before, or ``nats`` for the v2 NLL targets."""
    return "nats" if target_unit(ev.target) == "nats" else f"points (x{ev.points_per_unit:g})"


def _error_digits(ev: Evaluation) -> int:
    """Decimals of errors: 2 in points, 4 in nats (v2 effects are ~0.01-0.1 nats)."""
    return 4 if target_unit(ev.target) == "nats" else 2


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _pm(cell: Spread | None, digits: int = 2) -> str:
    if cell is None or not math.isfinite(cell.mean):
        return "n/a"
    se = f" ± {cell.se:.{digits}f}" if math.isfinite(cell.se) else ""
    return f"{cell.mean:.{digits}f}{se}"
