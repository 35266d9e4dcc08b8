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

This module computes (:func:`evaluate` returns an :class:`Evaluation`);
:mod:`.evalreport` renders it as markdown and JSON.
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


@dataclass(frozen=True)
class Spread:
    """One metric of one method over the resamples: mean, corrected SE and how
    many resamples had it (for ``clear_*`` counts: the sum, no SE)."""

    mean: float
    se: float
    n: int


Summary = dict[str, dict[str, Spread]]  # method -> metric -> spread


@dataclass(frozen=True)
class Evaluation:
    """Per-resample metrics of every method, their summary, and what they were run on."""

    cfg: EvalConfig
    target: str
    points_per_unit: float
    gate: Gate
    n_rows: int
    n_groups: int
    per_resample: tuple[dict[str, dict[str, float]], ...]
    test_fraction: float
    notes: dict[str, str]
    first: dict[str, float]
    pooled: dict[str, dict[str, float]]
    summary: Summary


def summarize(per_resample: Sequence[dict[str, dict[str, float]]], test_fraction: float) -> Summary:
    """method -> metric -> :class:`Spread` over the resamples."""
    names = list(dict.fromkeys(m for r in per_resample for m in r))
    keys = POINT_METRICS + MODEL_METRICS + ("clear_runs", "clear_nogo_runs")
    return {m: {k: spread([r[m].get(k, math.nan) for r in per_resample if m in r], k, test_fraction)
                for k in keys if any(k in r.get(m, {}) for r in per_resample)} for m in names}


def spread(values: Sequence[float], key: str, test_fraction: float) -> Spread:
    """Mean and Nadeau-Bengio corrected SE of the finite ``values``."""
    v = np.asarray([x for x in values if math.isfinite(x)], dtype=np.float64)
    if key.startswith("clear"):
        return Spread(float(v.sum()), math.nan, int(v.size))
    if v.size == 0:
        return Spread(math.nan, math.nan, 0)
    ratio = test_fraction / (1 - test_fraction)
    se = float(v.std(ddof=1) * math.sqrt(1 / v.size + ratio)) if v.size > 1 else math.nan
    return Spread(float(v.mean()), se, int(v.size))


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
    fraction = float(np.mean(fractions))
    return Evaluation(cfg, spec.name, spec.points_per_unit, gate, len(table), groups, tuple(per), fraction,
                      notes, first, _pooled(np.concatenate(ys), preds, spec.points_per_unit),
                      summarize(per, fraction))


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
