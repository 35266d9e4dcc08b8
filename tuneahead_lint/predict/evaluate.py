"""The paper's Table 1 protocol on a held-out split (``meta eval``).

One split of the meta-dataset into train / early-stopping / calibration /
test rows, then every method is fit on the same rows and scored on the same
test rows. ``random``: rows at random (the paper's protocol). ``group``:
whole groups (source datasets, else data recipes) are held out as the test
rows, so no test dataset, nor a seed repeat of it, is seen in training; the
early-stopping and calibration rows are drawn at random from the training
groups, so the conformal coverage measured on the test groups is the honest
coverage for an unseen dataset.

=========================  ==================================================
method                     what it is
=========================  ==================================================
tuneahead                  LightGBM on every feature (static, probe, hparams)
static-only                LightGBM on static features + hyperparameters
dynamic-only               LightGBM on probe features + hyperparameters
early-stop extrapolation   OLS on the probe's initial loss and loss slope
                           (any linear extrapolation of the probe loss curve
                           to a fixed horizon is a combination of the two)
loss-rate regression       OLS on the probe's loss slope alone
reference-ppl regression   OLS on log(1 + base-model perplexity of the data)
proxylm                    ridge on a smaller model's scores (``proxy*``
                           columns), when the table has them
mean                       the training mean (R² = 0 reference)
=========================  ==================================================

Metrics: RMSE (points), R², Pearson r, Acc@k (share of test runs predicted
within k points), each with a paired bootstrap 95% interval over test rows;
for each baseline, the bootstrap interval of its RMSE minus the full model's.
The full model also gets its split-conformal interval's test coverage, and
the go/no-go gate: success and failure recall at a threshold and the share of
compute saved by skipping the runs it predicts to fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuneahead_lint.predict.conformal import empirical_coverage
from tuneahead_lint.predict.predictor import Predictor
from tuneahead_lint.predict.splits import group_split, random_split, sizes
from tuneahead_lint.predict.table import MetaTable, PredictError, feature_kind, target_values
from tuneahead_lint.predict.train import FitSplit, fit_rows, target_spec

INITIAL_LOSS = ("probe_initial_loss", "initial_loss")
LOSS_RATE = ("probe_loss_decay_rate", "loss_decay_rate")
REFERENCE_PPL = ("reference_ppl_mean", "reference_perplexity", "base_model_perplexity")
METRICS = ("rmse", "r2", "pearson", "acc@1", "acc@2", "acc@3")


def metrics(y: np.ndarray, pred: np.ndarray, points_per_unit: float) -> dict[str, float]:
    """RMSE in points, R², Pearson r, Acc@1/2/3pp. NaN where undefined."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    err = (pred - y) * points_per_unit
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out = {"rmse": float(np.sqrt(np.mean(err ** 2))),
           "r2": 1.0 - float(np.sum((pred - y) ** 2)) / ss_tot if ss_tot > 0 else math.nan,
           "pearson": _pearson(y, pred)}
    for k in (1, 2, 3):
        out[f"acc@{k}"] = float(np.mean(np.abs(err) <= k + 1e-9))
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class Method:
    """One row of Table 1: predictions on the test rows, or why there are none."""

    name: str
    features: tuple[str, ...]
    pred: np.ndarray | None
    note: str = ""


@dataclass(frozen=True)
class SplitResult:
    split: str
    seed: int
    sizes: str
    group_column: str | None
    target: str
    points_per_unit: float
    rows: dict[str, Any] = field(default_factory=dict)  # method -> metrics with intervals
    coverage: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "seed": self.seed, "sizes": self.sizes,
                "group_column": self.group_column, "target": self.target,
                "points_per_unit": self.points_per_unit,
                "methods": [{"method": name, **row} for name, row in self.rows.items()],
                "coverage": self.coverage, "gate": self.gate, "error": self.error or None}


@dataclass(frozen=True)
class EvalConfig:
    split: str = "random"
    seed: int = 0
    test_size: float = 0.28
    val_size: float = 0.14
    cal_size: float = 0.12
    group_column: str | None = None
    threshold: float | None = None
    cost_column: str | None = None
    n_boot: int = 1000
    params: dict[str, Any] = field(default_factory=dict)


def evaluate_table(table: MetaTable, target: str, features: Sequence[str], cfg: EvalConfig) -> SplitResult:
    """Run the protocol once (one split). A split that cannot be made (too
    few groups) returns a result with ``error`` set instead of raising."""
    try:
        parts = _split(table, cfg)
    except PredictError as exc:
        return SplitResult(cfg.split, cfg.seed, "", cfg.group_column, target, math.nan, error=str(exc))
    test, val, cal, train = parts
    fit = FitSplit(train, val, cal)
    spec = target_spec(table, target, rows=np.concatenate([train, val]))
    y = target_values(table, target) + spec.offset
    full = fit_rows(Predictor(**cfg.params), table, features, spec, fit)
    methods = _methods(table, features, spec, fit, test, cfg, full)
    rows = _score(methods, y[test], spec.points_per_unit, cfg)
    return SplitResult(cfg.split, cfg.seed, sizes([train, val, cal, test]), cfg.group_column, target,
                       spec.points_per_unit, rows, _coverage(full, table, features, y, test, cfg),
                       _gate(full.predict(table.matrix(features)[test]), y, train, val, test, table, cfg))


def _split(table: MetaTable, cfg: EvalConfig) -> list[np.ndarray]:
    fractions = (cfg.test_size, cfg.val_size, cfg.cal_size)
    if cfg.split == "random":
        return random_split(len(table), fractions, cfg.seed)
    if cfg.split == "group":
        if not cfg.group_column:
            raise PredictError("a grouped split needs a group column (--group)")
        test, rest = group_split(table.text(cfg.group_column), (cfg.test_size,), cfg.seed)
        inner = random_split(len(rest), [f / (1 - cfg.test_size) for f in fractions[1:]], cfg.seed)
        return [test, *(rest[p] for p in inner)]
    raise PredictError(f"unknown split {cfg.split!r}")


def _methods(table, features, spec, fit, test, cfg, full) -> list[Method]:
    X = table.matrix(features)
    y = target_values(table, spec.name)
    lin_rows = np.concatenate([fit.train, fit.val])
    static = tuple(f for f in features if feature_kind(f) != "dynamic")
    dynamic = tuple(f for f in features if feature_kind(f) != "static")
    out = [Method("tuneahead", tuple(features), full.predict(X[test]), _constant_note(full, len(fit.train)))]
    for kind, cols in (("static", static), ("dynamic", dynamic)):
        name = f"{kind}-only"
        if not any(feature_kind(f) == kind for f in cols):
            out.append(Method(name, (), None, f"no {kind} features in the table"))
            continue
        model = fit_rows(Predictor(**cfg.params), table, cols, spec, fit)
        out.append(Method(name, cols, model.predict(table.matrix(cols)[test]), _constant_note(model, len(fit.train))))
    out += _linear_baselines(table, y + spec.offset, lin_rows, test)
    out.append(Method("mean", (), np.full(len(test), float(np.mean(y[lin_rows] + spec.offset)))))
    return out


def _constant_note(model: Predictor, n_train: int) -> str:
    if model.n_splits():
        return ""
    return (f"no tree could split ({n_train} training rows, min_child_samples {model.min_child_samples} "
            f"per leaf, or features constant over them): predicts a constant")


def _linear_baselines(table: MetaTable, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> list[Method]:
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
    out = []
    for name, cols, transform, alpha, why in specs:
        if not cols:
            out.append(Method(name, (), None, why))
            continue
        X = transform(table.matrix(cols))
        out.append(Method(name, cols, ols(X[train], y[train], X[test], alpha)))
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


def _score(methods: list[Method], y: np.ndarray, ppu: float, cfg: EvalConfig) -> dict[str, Any]:
    rng = np.random.default_rng(cfg.seed + 1)
    boots = [rng.integers(0, len(y), len(y)) for _ in range(cfg.n_boot)]
    full = next(m for m in methods if m.name == "tuneahead")
    rows: dict[str, Any] = {}
    for m in methods:
        if m.pred is None:
            rows[m.name] = {"features": [], "note": m.note}
            continue
        point = metrics(y, m.pred, ppu)
        draws = [metrics(y[b], m.pred[b], ppu) for b in boots]
        row = {"features": list(m.features), "note": m.note,
               **{k: {"value": point[k], "ci": _ci([d[k] for d in draws])} for k in METRICS}}
        if m is not full:
            diff = [metrics(y[b], m.pred[b], ppu)["rmse"] - metrics(y[b], full.pred[b], ppu)["rmse"]
                    for b in boots]
            row["rmse_minus_tuneahead"] = {"value": point["rmse"] - metrics(y, full.pred, ppu)["rmse"],
                                           "ci": _ci(diff)}
        rows[m.name] = row
    return rows


def _ci(values: Sequence[float]) -> list[float]:
    v = np.asarray([x for x in values if math.isfinite(x)])
    if v.size == 0:
        return [math.nan, math.nan]
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]


def _coverage(full: Predictor, table, features, y, test, cfg) -> dict[str, Any]:
    pred = full.predict(table.matrix(features)[test])
    q = full.q_
    rng = np.random.default_rng(cfg.seed + 2)
    draws = [empirical_coverage(y[test][b], pred[b], q)
             for b in (rng.integers(0, len(test), len(test)) for _ in range(cfg.n_boot))]
    need = math.ceil(full.coverage / (1 - full.coverage) - 1e-9)
    if not math.isfinite(q):  # an unbounded interval covers everything and says nothing
        draws = [math.nan]
    return {"target": full.coverage, "n_calibration": full.n_calibration_, "min_calibration": need,
            "half_width_points": q * full.target_.points_per_unit,
            "test_coverage": {"value": empirical_coverage(y[test], pred, q) if math.isfinite(q) else math.nan,
                              "ci": _ci(draws)},
            "n_test": len(test)}


def _gate(pred: np.ndarray, y: np.ndarray, train, val, test, table: MetaTable, cfg: EvalConfig) -> dict[str, Any]:
    thr = cfg.threshold if cfg.threshold is not None else float(np.median(y[np.concatenate([train, val])]))
    cost = table.numeric(cfg.cost_column)[test] if cfg.cost_column else np.ones(len(test))
    cost = np.where(np.isfinite(cost), cost, 0.0)
    yt = y[test]
    ok, go = yt >= thr, pred >= thr
    total = float(cost.sum())
    return {
        "threshold": thr, "threshold_source": "given" if cfg.threshold is not None else "training median",
        "cost_column": cfg.cost_column or "(each run counts 1)",
        "successes": int(ok.sum()), "failures": int((~ok).sum()),
        "success_recall": float(np.mean(go[ok])) if ok.any() else math.nan,
        "failure_recall": float(np.mean(~go[~ok])) if (~ok).any() else math.nan,
        "compute_saved": float(cost[~go].sum()) / total if total > 0 else math.nan,
        "successes_skipped": int((ok & ~go).sum()),
    }


def render_text(results: Sequence[SplitResult]) -> str:
    """Table 1 as plain text, one block per split."""
    out: list[str] = []
    for r in results:
        out.append(f"## split: {r.split} (seed {r.seed}; rows train/early-stop/cal/test {r.sizes}"
                   + (f"; groups: {r.group_column}" if r.group_column else "") + ")")
        if r.error:
            out += [f"not evaluated: {r.error}", ""]
            continue
        out.append(f"target {r.target}; errors in points (x{r.points_per_unit:g}); [95% bootstrap interval]")
        out.append(f"{'method':<26}{'RMSE':>24}{'R2':>24}{'Pearson r':>24}"
                   f"{'Acc@1':>7}{'Acc@2':>7}{'Acc@3':>7}  {'dRMSE vs full':>24}")
        for name, row in r.rows.items():
            out.append(_row_text(name, row))
        out += _coverage_text(r.coverage) + _gate_text(r.gate) + [""]
    return "\n".join(out).rstrip() + "\n"


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _with_ci(cell: dict[str, Any]) -> str:
    lo, hi = cell["ci"]
    return f" {_fmt(cell['value'], 2)} [{_fmt(lo, 2)},{_fmt(hi, 2)}]"


def _row_text(name: str, row: dict[str, Any]) -> str:
    if "rmse" not in row:
        return f"{name:<26}n/a: {row['note']}"
    accs = "".join(f"{_fmt(row[f'acc@{k}']['value'], 2):>7}" for k in (1, 2, 3))
    diff = _with_ci(row["rmse_minus_tuneahead"]) if "rmse_minus_tuneahead" in row else "-"
    note = f"\n{'':<26}note: {row['note']}" if row.get("note") else ""
    return (f"{name:<26}{_with_ci(row['rmse']):>24}{_with_ci(row['r2']):>24}{_with_ci(row['pearson']):>24}"
            f"{accs}  {diff:>24}{note}")


def _coverage_text(c: dict[str, Any]) -> list[str]:
    if not math.isfinite(c["half_width_points"]):
        return [f"conformal interval: unbounded ({c['n_calibration']} calibration runs; {c['target']:.0%} "
                f"coverage needs at least {c['min_calibration']}): coverage not measurable"]
    return [f"conformal interval: ±{_fmt(c['half_width_points'], 2)} points for {c['target']:.0%} target "
            f"coverage ({c['n_calibration']} calibration runs); test coverage "
            f"{_with_ci(c['test_coverage'])} on {c['n_test']} runs"]


def _gate_text(g: dict[str, Any]) -> list[str]:
    return [f"go/no-go at {_fmt(g['threshold'], 4)} ({g['threshold_source']}): success recall "
            f"{_fmt(g['success_recall'], 3)} ({g['successes']} successes), failure recall "
            f"{_fmt(g['failure_recall'], 3)} ({g['failures']} failures), compute saved "
            f"{_fmt(g['compute_saved'], 3)} by {g['cost_column']}, successes skipped {g['successes_skipped']}"]


def summarise(results: Sequence[SplitResult]) -> dict[str, Any]:
    """Aggregate repeated splits (different seeds) of one kind: per method
    and metric the mean and the 2.5-97.5 percentile range over repeats; for
    baselines also the share of repeats where they were worse than the full
    model (higher RMSE)."""
    ok = [r for r in results if not r.error]
    out: dict[str, Any] = {"split": results[0].split if results else "", "repeats": len(results),
                           "evaluated": len(ok), "errors": sorted({r.error for r in results if r.error})}
    if not ok:
        return out
    names = list(ok[0].rows)
    out["methods"] = [{"method": n, **_summary_row([r.rows[n] for r in ok])} for n in names]
    out["coverage"] = {"test_coverage": _spread([r.coverage["test_coverage"]["value"] for r in ok]),
                       "half_width_points": _spread([r.coverage["half_width_points"] for r in ok]),
                       "target": ok[0].coverage["target"]}
    out["gate"] = {k: _spread([r.gate[k] for r in ok])
                   for k in ("success_recall", "failure_recall", "compute_saved", "threshold")}
    return out


def _summary_row(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if "rmse" not in rows[0]:
        return {"note": rows[0].get("note", "")}
    row = {k: _spread([r[k]["value"] for r in rows]) for k in METRICS}
    if "rmse_minus_tuneahead" in rows[0]:
        diffs = [r["rmse_minus_tuneahead"]["value"] for r in rows]
        row["rmse_minus_tuneahead"] = _spread(diffs)
        row["worse_than_tuneahead"] = float(np.mean([d > 0 for d in diffs]))
    return row


def _spread(values: Sequence[float]) -> dict[str, Any]:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": math.nan, "range": [math.nan, math.nan], "n": 0}
    return {"mean": float(v.mean()), "range": [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))],
            "n": int(v.size)}


def render_summary(summary: dict[str, Any]) -> str:
    """Text of :func:`summarise`: mean [2.5-97.5 percentile over repeats]."""
    head = (f"## split: {summary['split']}, {summary['evaluated']} of {summary['repeats']} repeated "
            f"splits evaluated: mean [2.5-97.5 percentile over repeats]")
    if not summary["evaluated"]:
        return f"{head}\nnot evaluated: {'; '.join(summary['errors'])}\n"
    out = [head, f"{'method':<26}{'RMSE':>24}{'R2':>24}{'Pearson r':>24}{'Acc@3':>20}  "
                 f"{'dRMSE vs full':>24}{'worse':>7}"]
    for row in summary["methods"]:
        if "rmse" not in row:
            out.append(f"{row['method']:<26}n/a: {row['note']}")
            continue
        diff = _spread_text(row["rmse_minus_tuneahead"]) if "rmse_minus_tuneahead" in row else "-"
        worse = f"{row['worse_than_tuneahead']:.0%}" if "worse_than_tuneahead" in row else "-"
        out.append(f"{row['method']:<26}{_spread_text(row['rmse']):>24}{_spread_text(row['r2']):>24}"
                   f"{_spread_text(row['pearson']):>24}{_spread_text(row['acc@3']):>20}  {diff:>24}{worse:>7}")
    c, g = summary["coverage"], summary["gate"]
    out.append(f"conformal test coverage {_spread_text(c['test_coverage'])} (target {c['target']:.0%}), "
               f"half-width {_spread_text(c['half_width_points'])} points")
    out.append(f"go/no-go: success recall {_spread_text(g['success_recall'])}, failure recall "
               f"{_spread_text(g['failure_recall'])}, compute saved {_spread_text(g['compute_saved'])}")
    return "\n".join(out) + "\n"


def _spread_text(s: dict[str, Any]) -> str:
    lo, hi = s["range"]
    return f" {_fmt(s['mean'], 2)} [{_fmt(lo, 2)},{_fmt(hi, 2)}]"
