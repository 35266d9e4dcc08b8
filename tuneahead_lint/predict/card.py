"""``CARD.md``: the model card written beside ``model.json``, from it alone."""

from __future__ import annotations

import math
from typing import Any


def _n(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.5g}"
    return str(x)


def render_card(doc: dict[str, Any]) -> str:
    """Markdown model card: what it predicts, from what data, how well, and
    the feature list with training ranges."""
    t, c, tr = doc["target"], doc["conformal"], doc.get("training", {})
    lines = [f"# Predictor {doc.get('name', '')}".rstrip(), ""]
    if doc.get("description"):
        lines += [doc["description"], ""]
    lines += [
        "## What it predicts",
        f"- target column: `{t['name']}` (offset {_n(t['offset'])}: score = prediction + offset)",
        f"- base model: `{doc.get('base_model') or '-'}`; base-model score {_n(t['base_score'])}",
        f"- report points per target unit: {_n(t['points_per_unit'])}",
        f"- success threshold (for the success ranges below): {_n(t['success_threshold'])}",
        f"- conformal interval: {_interval(c)}",
        "",
        *_trust(doc.get("cv")),
        "## Training data",
        f"- file: `{tr.get('path', '-')}`, sha256 `{tr.get('sha256', '-')}`",
        f"- rows: {doc['rows']}, all used for training and for the CV+ interval (no early-stopping or "
        f"calibration rows held out); groups: {tr.get('groups', '-')} by `{tr.get('group_column') or '-'}`; "
        f"seed {tr.get('seed', '-')}",
        f"- trees: {doc['best_iteration']}; min_child_samples {doc.get('min_child_samples', '-')} "
        f"(rule: max(2, rows // 15) unless given)",
        f"- out-of-distribution guard: {doc.get('guard', {}).get('method', '-')}",
        "",
        "## Parameters",
        *(f"- {k}: {_n(v)}" for k, v in sorted(doc["params"].items())),
        "",
    ]
    lines += _metrics(doc.get("metrics") or {})
    lines += _features(doc)
    lines += ["## Versions", *(f"- {k}: {v}" for k, v in sorted(doc["versions"].items())), ""]
    return "\n".join(lines)


def _interval(c: dict[str, Any]) -> str:
    if c["q"] is None:
        return f"unbounded: too few runs or folds for {_n(c['coverage'])} coverage"
    return (f"CV+ ({c['folds']} folds of whole groups) for {_n(c['coverage'])} coverage; typical half-width "
            f"±{_n(c['q'])} (target units)")


def _trust(cv: dict[str, Any] | None) -> list[str]:
    """How well the model predicts unseen data recipes (grouped CV)."""
    if not cv:
        return []
    out = ["## How far to trust it (grouped cross-validation)", "",
           f"- protocol: {cv['protocol']}",
           f"- RMSE {_n(cv['rmse'])} ± {_n(cv['rmse_se'])} points; training mean {_n(cv['rmse_mean'])}",
           f"- **skill score** (1 - RMSE/RMSE_mean): **{_n(cv['skill'])} ± {_n(cv['skill_se'])}**",
           f"- CV+ coverage {_n(cv['coverage'])}, half-width {_n(cv['half_width_points'])} points; "
           f"share of held-out runs the guard flags {_n(cv['flagged'])}",
           f"- go/no-go at {_n(cv['threshold'])} ({cv['threshold_source']}): accuracy {_n(cv['gate_accuracy'])} on "
           f"runs farther than the noise floor ({_n(cv['noise_floor_points'])} points) from it; decided "
           f"{_n(cv['gate_decided'])}; no-go recall {_n(cv['nogo_recall'])}"]
    if cv["skill"] is None or not cv["skill"] > (cv["skill_se"] or 0.0):
        out.append("- **This model predicts unseen datasets no better than the training mean** (skill not above "
                   "its standard error). Its score and verdict are no better than a guess; the report says so "
                   "beside every prediction.")
    return out + [""]


def _metrics(metrics: dict[str, Any]) -> list[str]:
    if not metrics:
        return []
    out = ["## Metrics", ""]
    for split, values in sorted(metrics.items()):
        shown = ", ".join(f"{k} {_n(v)}" for k, v in sorted(values.items()))
        out.append(f"- {split}: {shown}")
    return out + [""]


def _features(doc: dict[str, Any]) -> list[str]:
    out = ["## Features (model input order)", "",
           "| # | feature | kind | train min | train max | success min | success max |",
           "|---|---|---|---|---|---|---|"]
    for i, name in enumerate(doc["features"], 1):
        r = doc["ranges"][name]
        out.append(f"| {i} | {name} | {doc['feature_kinds'][name]} | {_n(r['low'])} | {_n(r['high'])} | "
                   f"{_n(r['success_low'])} | {_n(r['success_high'])} |")
    return out + [""]
