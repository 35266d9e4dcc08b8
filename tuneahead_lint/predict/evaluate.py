"""The paper's Table 1 under resampling that cannot leak (``meta eval``).

**Resamples.** ``group`` (default): repeated group K-fold by the data recipe
(every run of one recipe, its seed repeats and learning-rate siblings
included, is on one side), ``folds`` × ``repeats`` test folds; ``folds 0``
is leave-one-group-out. ``random``: ``repeats`` random test parts of
``test_size`` (the paper's protocol; seed repeats of a test run may be in
training). Every method is fit on each resample's training rows, with no
early-stopping or calibration rows taken out (CV+ intervals come from the
training rows themselves), and scored on its test rows.

**Summary.** Each metric is computed per resample, then the mean over
resamples and its standard error. The resamples share training rows, so the
plain SD/√J understates the error; the SE uses the Nadeau and Bengio (2003)
correction ``SD · √(1/J + n_test/n_train)``.

**Skill** ``1 - RMSE / RMSE_mean``: the share of the training-mean
baseline's error that a method removes on the same test rows (0: no better
than the mean; negative: worse).

=========================  ==================================================
method                     what it is
=========================  ==================================================
tuneahead                  LightGBM on every feature (static, probe, hparams)
static-only                LightGBM on static features + hyperparameters
dynamic-only               LightGBM on probe features + hyperparameters
early-stop extrapolation   OLS on the probe's initial loss and loss slope
loss-rate regression       OLS on the probe's loss slope alone
reference-ppl regression   OLS on log(1 + base-model perplexity of the data)
proxylm                    ridge on a smaller model's scores (``proxy*``)
mean                       the training mean (skill 0 by definition)
=========================  ==================================================

For the LightGBM methods also: CV+ interval coverage and width, the share
of test runs the distance guard flags, and the go/no-go gate at the
threshold (default: the base model's score): a run is no-go when its
interval's upper end is below it, uncertain when the guard flags it, else
go; its accuracy is measured on the test runs farther than one noise floor
(the pooled seed SD) from the threshold, whose side is not a coin toss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuneahead_lint.predict.conformal import covered
from tuneahead_lint.predict.metrics import metrics
from tuneahead_lint.predict.predictor import Predictor, Target
from tuneahead_lint.predict.splits import group_kfold, random_split
from tuneahead_lint.predict.table import MetaTable, PredictError, feature_kind, target_values
from tuneahead_lint.predict.train import fit_rows

INITIAL_LOSS = ("probe_initial_loss", "initial_loss")
LOSS_RATE = ("probe_loss_decay_rate", "loss_decay_rate")
REFERENCE_PPL = ("reference_ppl_mean", "reference_perplexity", "base_model_perplexity")
POINT_METRICS = ("rmse", "skill", "r2", "pearson", "acc@1", "acc@2", "acc@3")
MODEL_METRICS = ("coverage", "half_width", "flagged", "flagged_by_box", "coverage_unflagged", "gate_accuracy",
                 "gate_decided", "nogo_recall", "go_recall")
LGBM = ("tuneahead", "static-only", "dynamic-only")


@dataclass(frozen=True)
class EvalConfig:
    split: str = "group"
    folds: int = 5
    repeats: int = 20
    test_size: float = 0.28
    seed: int = 0
    group_column: str | None = None
    threshold: float | None = None
    noise_floor: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    methods: tuple[str, ...] | None = None  # None: all


@dataclass(frozen=True)
class Outcome:
    """One method on one resample's test rows."""

    pred: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    ratio: np.ndarray | None = None
    box: np.ndarray | None = None  # the old per-feature box guard (any feature beyond its range + 5%)


@dataclass(frozen=True)
class Resample:
    repeat: int
    train: np.ndarray
    test: np.ndarray


def resamples(table: MetaTable, cfg: EvalConfig) -> list[Resample]:
    """The train/test row sets of ``cfg.split``."""
    n = len(table)
    if cfg.split == "random":
        return [Resample(r, *_random(n, cfg.test_size, cfg.seed + r)) for r in range(cfg.repeats)]
    if cfg.split != "group":
        raise PredictError(f"unknown split {cfg.split!r}")
    groups = table.text(cfg.group_column) if cfg.group_column else [str(i) for i in range(n)]
    k = cfg.folds or len(set(groups))
    out = []
    for r in range(cfg.repeats if cfg.folds else 1):
        fold = group_kfold(groups, k, cfg.seed + r)
        out += [Resample(r, np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(fold.max() + 1)]
    return out


def _random(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    test, train = random_split(n, (test_size,), seed)
    return train, test


def noise_floor(table: MetaTable, target: str, points_per_unit: float) -> float | None:
    """Pooled SD (points) of the target over seed repeats of one config
    (``config_id``), or None without repeats."""
    if "config_id" not in table.columns:
        return None
    y = target_values(table, target)
    by: dict[str, list[float]] = {}
    for c, v in zip(table.text("config_id"), y):
        by.setdefault(c, []).append(float(v))
    reps = [np.asarray(v) for v in by.values() if len(v) >= 2]
    dof = sum(len(v) - 1 for v in reps)
    if not dof:
        return None
    return math.sqrt(sum(float(((v - v.mean()) ** 2).sum()) for v in reps) / dof) * points_per_unit


def run_methods(table: MetaTable, features: Sequence[str], spec: Target, rs: Resample,
                cfg: EvalConfig) -> dict[str, Outcome | str]:
    """Every method fit on ``rs.train`` and applied to ``rs.test``; a
    method that cannot run gives the reason instead."""
    y = target_values(table, spec.name) + spec.offset
    static = tuple(f for f in features if feature_kind(f) != "dynamic")
    dynamic = tuple(f for f in features if feature_kind(f) != "static")
    out: dict[str, Outcome | str] = {}
    for name, cols, kind in (("tuneahead", tuple(features), None), ("static-only", static, "static"),
                             ("dynamic-only", dynamic, "dynamic")):
        if cfg.methods is not None and name not in cfg.methods:
            continue
        if kind and not any(feature_kind(f) == kind for f in cols):
            out[name] = f"no {kind} features in the table"
            continue
        out[name] = _lgbm(table, cols, spec, rs, cfg)
    for name, result in _linear_baselines(table, y, rs.train, rs.test).items():
        if cfg.methods is None or name in cfg.methods:
            out[name] = result
    out["mean"] = Outcome(np.full(len(rs.test), float(np.mean(y[rs.train]))))
    return out


def _lgbm(table: MetaTable, cols: Sequence[str], spec: Target, rs: Resample, cfg: EvalConfig) -> Outcome:
    model = fit_rows(Predictor(**cfg.params), table, cols, spec, rs.train, cfg.group_column)
    X = table.matrix(cols)[rs.test]
    pred, low, high = model.predict_interval(X)
    box = np.array([bool(model.out_of_range(x)) for x in X])
    return Outcome(pred, low, high, model.guard_.distances(X) / max(model.guard_.reference, 1e-12), box)


def _linear_baselines(table: MetaTable, y: np.ndarray, train: np.ndarray,
                      test: np.ndarray) -> dict[str, Outcome | str]:
    def col(cands: Sequence[str]) -> str | None:
        return next((c for c in cands if c in table.columns and table.is_numeric(c)), None)

    init, rate, ppl = col(INITIAL_LOSS), col(LOSS_RATE), col(REFERENCE_PPL)
    proxy = tuple(c for c in table.columns if c.startswith("proxy") and table.is_numeric(c))
    specs: list[tuple[str, tuple[str, ...], Callable[[np.ndarray], np.ndarray], float, str]] = [
        ("early-stop extrapolation", (init, rate) if init and rate else (), _ident, 0.0,
         "needs the probe's initial loss and loss slope"),
        ("loss-rate regression", (rate,) if rate else (), _ident, 0.0, "needs the probe's loss slope"),
        ("reference-ppl regression", (ppl,) if ppl else (), np.log1p, 0.0,
         "needs the base model's perplexity of the data"),
        ("proxylm", proxy, _ident, 10.0, "no proxy* column (a smaller model's score)"),
    ]
    out: dict[str, Outcome | str] = {}
    for name, cols, transform, alpha, why in specs:
        if not cols:
            out[name] = why
            continue
        with np.errstate(invalid="ignore", divide="ignore"):  # log of a negative: NaN, then the median
            X = transform(table.matrix(cols))
        out[name] = Outcome(ols(X[train], y[train], X[test], alpha))
    return out


def _ident(x: np.ndarray) -> np.ndarray:
    return x


def ols(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, alpha: float = 0.0) -> np.ndarray:
    """Least squares (ridge with ``alpha`` > 0) on z-scored columns with an
    intercept; missing values are replaced by the training median."""
    med = np.array([np.nanmedian(c) if np.isfinite(c).any() else 0.0 for c in Xtr.T])
    Xtr, Xte = np.where(np.isfinite(Xtr), Xtr, med), np.where(np.isfinite(Xte), Xte, med)
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    A = np.column_stack([np.ones(len(Xtr)), (Xtr - mu) / sd])
    reg = alpha * np.eye(A.shape[1])
    reg[0, 0] = 0.0
    coef = np.linalg.lstsq(A.T @ A + reg, A.T @ ytr, rcond=None)[0]
    return np.column_stack([np.ones(len(Xte)), (Xte - mu) / sd]) @ coef


@dataclass(frozen=True)
class Gate:
    threshold: float
    source: str
    noise_floor: float | None  # points


def score_resample(outcomes: dict[str, Outcome | str], y: np.ndarray, ppu: float,
                   gate: Gate) -> dict[str, dict[str, float]]:
    """Per-method metrics on one resample's test rows (``y`` with offset)."""
    base = outcomes["mean"]
    assert isinstance(base, Outcome)
    rmse_mean = metrics(y, base.pred, ppu)["rmse"]
    out = {}
    for name, o in outcomes.items():
        if isinstance(o, str):
            continue
        row = metrics(y, o.pred, ppu)
        row["skill"] = 1.0 - row["rmse"] / rmse_mean if rmse_mean > 0 else math.nan
        if o.low is not None:
            row.update(_model_metrics(o, y, ppu, gate))
        out[name] = row
    return out


def _model_metrics(o: Outcome, y: np.ndarray, ppu: float, gate: Gate) -> dict[str, float]:
    inside = covered(y, o.low, o.high)
    far = o.ratio > 1.0
    verdict = np.where(far, "uncertain", np.where(o.high < gate.threshold, "no-go", "go"))
    truth = np.where(y < gate.threshold, "no-go", "go")
    clear = np.abs(y - gate.threshold) * ppu > (gate.noise_floor or 0.0)
    decided = clear & (verdict != "uncertain")
    return {"coverage": float(inside.mean()), "half_width": float(np.mean((o.high - o.low) / 2) * ppu),
            "flagged": float(far.mean()), "flagged_by_box": float(o.box.mean()),
            "coverage_unflagged": _share(inside[~far]),
            "gate_accuracy": _share((verdict == truth)[decided]), "gate_decided": _share(decided[clear]),
            "nogo_recall": _share((verdict == "no-go")[clear & (truth == "no-go")]),
            "go_recall": _share((verdict == "go")[clear & (truth == "go")]),
            "clear_runs": float(clear.sum()), "clear_nogo_runs": float((clear & (truth == "no-go")).sum())}


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else math.nan


@dataclass
class Evaluation:
    """Per-resample metrics of every method, and what they were run on."""

    cfg: EvalConfig
    target: str
    points_per_unit: float
    gate: Gate
    n_rows: int
    n_groups: int
    per_resample: list[dict[str, dict[str, float]]]
    test_fraction: float
    notes: dict[str, str]
    first: dict[str, float]
    pooled: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """method -> metric -> {mean, se, n}."""
        names = list(dict.fromkeys(m for r in self.per_resample for m in r))
        keys = POINT_METRICS + MODEL_METRICS + ("clear_runs", "clear_nogo_runs")
        return {m: {k: self._spread([r[m].get(k, math.nan) for r in self.per_resample if m in r], k)
                    for k in keys if any(k in r.get(m, {}) for r in self.per_resample)} for m in names}

    def _spread(self, values: Sequence[float], key: str) -> dict[str, float]:
        v = np.asarray([x for x in values if math.isfinite(x)], dtype=np.float64)
        if key.startswith("clear"):
            return {"mean": float(v.sum()), "se": math.nan, "n": int(v.size)}
        if v.size == 0:
            return {"mean": math.nan, "se": math.nan, "n": 0}
        ratio = self.test_fraction / (1 - self.test_fraction)
        se = float(v.std(ddof=1) * math.sqrt(1 / v.size + ratio)) if v.size > 1 else math.nan
        return {"mean": float(v.mean()), "se": se, "n": int(v.size)}

    def to_dict(self) -> dict[str, Any]:
        c = self.cfg
        return {"split": c.split, "folds": c.folds, "repeats": c.repeats, "seed": c.seed,
                "group_column": c.group_column, "groups": self.n_groups, "rows": self.n_rows,
                "resamples": len(self.per_resample), "test_fraction": self.test_fraction,
                "target": self.target, "points_per_unit": self.points_per_unit,
                "gate": {"threshold": self.gate.threshold, "source": self.gate.source,
                         "noise_floor_points": self.gate.noise_floor},
                "notes": self.notes, "first_resample_rmse": self.first, "pooled": self.pooled,
                "summary": self.summary()}


def evaluate(table: MetaTable, features: Sequence[str], spec: Target, cfg: EvalConfig) -> Evaluation:
    """Run every method on every resample of ``cfg``."""
    y = target_values(table, spec.name) + spec.offset
    gate = _gate(table, spec, cfg)
    per, notes, first, fractions = [], {}, {}, []
    preds: dict[str, list[np.ndarray]] = {}
    ys: list[np.ndarray] = []
    for i, rs in enumerate(resamples(table, cfg)):
        outcomes = run_methods(table, features, spec, rs, cfg)
        notes.update({k: v for k, v in outcomes.items() if isinstance(v, str)})
        ys.append(y[rs.test])
        for k, o in outcomes.items():
            if not isinstance(o, str):
                preds.setdefault(k, []).append(o.pred)
        per.append(score_resample(outcomes, y[rs.test], spec.points_per_unit, gate))
        fractions.append(len(rs.test) / len(table))
        if i == 0:
            first = {m: r["rmse"] for m, r in per[0].items()}
    groups = len(set(table.text(cfg.group_column))) if cfg.group_column else len(table)
    return Evaluation(cfg, spec.name, spec.points_per_unit, gate, len(table), groups, per,
                      float(np.mean(fractions)), notes, first, _pooled(np.concatenate(ys), preds,
                                                                      spec.points_per_unit))


def _pooled(y: np.ndarray, preds: dict[str, list[np.ndarray]], ppu: float) -> dict[str, dict[str, float]]:
    """RMSE and skill over every out-of-fold prediction at once (each run
    once per repeat): the leave-one-group-out numbers, where folds are tiny."""
    base = metrics(y, np.concatenate(preds["mean"]), ppu)["rmse"]
    out = {}
    for name, p in preds.items():
        rmse = metrics(y, np.concatenate(p), ppu)["rmse"]
        out[name] = {"rmse": rmse, "skill": 1.0 - rmse / base if base > 0 else math.nan}
    return out


def _gate(table: MetaTable, spec: Target, cfg: EvalConfig) -> Gate:
    floor = cfg.noise_floor if cfg.noise_floor is not None else noise_floor(table, spec.name,
                                                                            spec.points_per_unit)
    if cfg.threshold is not None:
        return Gate(cfg.threshold, "given", floor)
    if spec.base_score is not None:
        return Gate(spec.base_score, "base model's score", floor)
    y = target_values(table, spec.name) + spec.offset
    return Gate(float(np.median(y)), "median score (no base-model score in the table)", floor)


# ---------------------------------------------------------------- rendering
def render_text(ev: Evaluation, title: str = "") -> str:
    """Markdown: Table 1 (mean ± SE per resample) and the predictor block."""
    s, c = ev.summary(), ev.cfg
    how = (f"repeated group {c.folds}-fold by `{c.group_column}` ({ev.n_groups} groups), {c.repeats} repeats"
           if c.split == "group" and c.folds else
           f"leave-one-group-out by `{c.group_column}` ({ev.n_groups} groups)" if c.split == "group" else
           f"{c.repeats} random splits, test share {c.test_size:g} (seed repeats may leak)")
    out = [f"## {title or 'Table 1'}", "",
           f"{ev.n_rows} runs; {how}: {len(ev.per_resample)} resamples (seeds from {c.seed}). "
           f"Target `{ev.target}`, errors in points (x{ev.points_per_unit:g}). Each cell: mean ± SE over "
           f"resamples (SE with the Nadeau-Bengio correction for overlapping training sets). "
           f"Skill = 1 - RMSE/RMSE(training mean) on the same test rows.", "",
           "| method | RMSE | skill | R² | Pearson r | Acc@1 | Acc@2 | Acc@3 | pooled RMSE | pooled skill | "
           "RMSE, first resample |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in s.items():
        cells = " | ".join(_pm(row.get(k)) for k in POINT_METRICS)
        pool = ev.pooled.get(name, {})
        out.append(f"| {name} | {cells} | {_fmt(pool.get('rmse'), 2)} | {_fmt(pool.get('skill'), 2)} | "
                   f"{_fmt(ev.first.get(name), 2)} |")
    out += [f"| {name} | n/a: {why} | | | | | | | | | |" for name, why in sorted(ev.notes.items())]
    out += ["", "Pooled: RMSE and skill over all out-of-fold predictions at once (the usual leave-one-out "
                "numbers; per-resample R² and skill are unstable on folds of 1-3 runs)."]
    return "\n".join(out + [""] + _model_block(ev, s)) + "\n"


def _model_block(ev: Evaluation, s: dict[str, Any]) -> list[str]:
    g = ev.gate
    floor = f"{g.noise_floor:.2f} points" if g.noise_floor is not None else "none (no seed repeats)"
    out = [f"Intervals (CV+, target {ev.cfg.params.get('coverage', 0.9):.0%}), distance guard and go/no-go "
           f"gate at {g.threshold:.4g} ({g.source}); verdict no-go when the interval's upper end is below "
           f"it, uncertain when the guard flags the run, else go. Gate accuracy on test runs farther than "
           f"one noise floor ({floor}) from the threshold, among those given go or no-go.", "",
           "| method | coverage | coverage, unflagged | half-width (points) | flagged by guard | "
           "flagged by the old box | gate accuracy | decided | no-go recall | go recall | clear runs (no-go) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in LGBM:
        if name not in s:
            continue
        r = s[name]
        cells = " | ".join(_pm(r.get(k)) for k in ("coverage", "coverage_unflagged", "half_width", "flagged",
                                                     "flagged_by_box", "gate_accuracy", "gate_decided", "nogo_recall",
                                                     "go_recall"))
        counts = f"{r['clear_runs']['mean']:.0f} ({r['clear_nogo_runs']['mean']:.0f})"
        out.append(f"| {name} | {cells} | {counts} |")
    return out + ["", "Clear runs are counted over all resamples (a run is tested once per repeat). The old box "
                      "flags a run when any feature lies beyond its training range by more than 5% of it "
                      "(the guard before issue 14), shown for comparison."]


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _pm(cell: dict[str, float] | None, digits: int = 2) -> str:
    if not cell or not math.isfinite(cell["mean"]):
        return "n/a"
    se = f" ± {cell['se']:.{digits}f}" if math.isfinite(cell["se"]) else ""
    return f"{cell['mean']:.{digits}f}{se}"
