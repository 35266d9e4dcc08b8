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
        "## Training data",
        f"- file: `{tr.get('path', '-')}`, sha256 `{tr.get('sha256', '-')}`",
        f"- rows: {doc['rows']} (train {tr.get('train', '-')}, early-stopping {tr.get('val', '-')}, "
        f"calibration {tr.get('cal', '-')}), split seed {tr.get('seed', '-')}",
        f"- trees: {doc['best_iteration']}",
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
    where = f"{c['n_calibration']} calibration run{'s' * (c['n_calibration'] != 1)}"
    if c["q"] is None:
        return (f"unbounded: {where}, too few for {_n(c['coverage'])} coverage "
                f"(needs at least {math.ceil(c['coverage'] / (1 - c['coverage']) - 1e-9)})")
    return f"±{_n(c['q'])} (target units) for {_n(c['coverage'])} coverage, from {where}"


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
