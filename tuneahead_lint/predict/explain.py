"""SHAP attributions of one prediction, and their waterfall plot.

The booster's ``predict(pred_contrib=True)`` gives exact Shapley values of
the tree ensemble (path-dependent TreeSHAP, the numbers of
``shap.TreeExplainer``; see predict/textmodel.py): the expected value plus
the sum of the attributions equals the prediction, to floating-point error.
Attributions are reported in points (target units x ``points_per_unit``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tuneahead_lint.predict.predictor import Predictor
from tuneahead_lint.types import SHOWN_ATTRIBUTION, Attribution

PLOT_FEATURES = 12  # bars drawn before "N other features"


def shap_values(predictor: Predictor, X: np.ndarray) -> tuple[np.ndarray, float]:
    """``(values, expected)``: SHAP values (rows × features, target units)
    and the expected value (offset included)."""
    Z = predictor._z(np.atleast_2d(np.asarray(X, dtype=np.float64)))
    contrib = np.asarray(predictor.booster_.predict(Z, pred_contrib=True), dtype=np.float64)
    values = contrib[:, :-1]
    expected = float(contrib[0, -1]) + predictor.target_.offset
    return values, expected


def explain(predictor: Predictor, x: Sequence[float]) -> tuple[float, tuple[Attribution, ...]]:
    """Expected score and per-feature attributions (model feature order) of one row."""
    values, expected = shap_values(predictor, np.asarray([x], dtype=np.float64))
    ppu = predictor.target_.points_per_unit
    out = []
    for name, v, phi in zip(predictor.features_, x, values[0]):
        r = predictor.ranges_[name]
        out.append(Attribution(name, float(v), float(phi) * ppu, r.success_low, r.success_high,
                               r.success_median))
    return expected, tuple(out)


def waterfall(path: str | Path, attributions: Sequence[Attribution], expected: float, score: float,
              points_per_unit: float, title: str = "", unit: str = "points") -> None:
    """Write a waterfall plot (PNG or SVG by suffix) of attributions in
    ``unit`` (points, or nats for the v2 NLL targets): from the expected
    score to the prediction, largest first."""
    fmt = "+.2f" if unit == "points" else "+.2g"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = _bars(attributions, SHOWN_ATTRIBUTION.get(unit, 0.005))
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(bars) + 1.6))
    start = expected * points_per_unit
    ends = [start]
    for i, (label, pts) in enumerate(bars):
        ax.barh(i, pts, left=start, color="#c0392b" if pts < 0 else "#2e86c1")
        ax.text(start + pts, i, f" {pts:{fmt}} ", va="center", ha="left" if pts >= 0 else "right", fontsize=8)
        start += pts
        ends.append(start)
    pad = 0.15 * max(max(ends) - min(ends), 1e-6)
    ax.set_xlim(min(ends) - pad, max(ends) + pad)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(expected * points_per_unit, color="grey", lw=0.8, ls=":")
    ax.axvline(score * points_per_unit, color="black", lw=0.8)
    ax.set_xlabel(f"score in {unit}: expected {expected * points_per_unit:{fmt[1:]}} -> predicted "
                  f"{score * points_per_unit:{fmt[1:]}}")
    ax.set_title(title or f"What moved the predicted score (SHAP, {unit})", fontsize=10)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)


def _bars(attributions: Sequence[Attribution], cut: float = 0.005) -> list[tuple[str, float]]:
    ranked = sorted(attributions, key=lambda a: (-abs(a.points), a.feature))
    moved = [a for a in ranked if abs(a.points) >= cut][:PLOT_FEATURES]
    shown = [(f"{a.feature} = {_short(a.value)}", float(a.points)) for a in moved]
    rest = ranked[len(moved):]
    if rest:
        shown.append((f"{len(rest)} other features", float(sum(a.points for a in rest))))
    return shown


def _short(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def _save(fig: Any, path: Path) -> None:
    """PNG or SVG without timestamps, so the same input gives the same bytes."""
    import matplotlib

    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"{path}: plot must be .png or .svg")
    with matplotlib.rc_context({"svg.hashsalt": "tuneahead", "svg.fonttype": "none"}):
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(path, format=fmt, metadata=meta, dpi=120)
