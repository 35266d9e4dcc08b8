"""The probe's features: one function each, listed in :data:`PROBE_FEATURES`
(dynamic, from the LoRA run; TuneAhead Appendix B.2) and
:data:`CONTRAST_FEATURES` (base-model contrast margins).

Steps are numbered from 1. "Batch refs" are the ``(path, line)`` of the
records in a step's batch, so a finding can point at the data that caused it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tuneahead_lint.probe.contrast import VIOLATIONS, Pair
from tuneahead_lint.probe.lora import TrainTrace
from tuneahead_lint.types import Measure

Ref = tuple[str, int]
MAX_REFS = 8
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything the dynamic features are computed from."""

    trace: TrainTrace
    step_refs: tuple[tuple[Ref, ...], ...]
    flatness: tuple[float, float, float]  # L(θ), L(θ+δ), L(θ-δ)
    forgetting: tuple[float, float]  # general-slice NLL before, after


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    fn: Callable[[RunRecord], Measure]
    doc: str


def _mean(xs: Sequence[float]) -> float:
    xs = [x for x in xs if math.isfinite(x)]
    return statistics.fmean(xs) if xs else NAN


def _pvar(xs: Sequence[float]) -> float:
    xs = [x for x in xs if math.isfinite(x)]
    return statistics.pvariance(xs) if len(xs) > 1 else NAN


def linear_fit(ys: Sequence[float]) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through ``(t, ys[t-1])``,
    t = 1..n; NaNs when fewer than two finite points."""
    pts = [(t, y) for t, y in enumerate(ys, 1) if math.isfinite(y)]
    if len(pts) < 2:
        return NAN, NAN
    fit = statistics.linear_regression([p[0] for p in pts], [p[1] for p in pts])
    return fit.slope, fit.intercept


def _argmax(xs: Sequence[float]) -> int:
    return max(range(len(xs)), key=lambda i: xs[i] if math.isfinite(xs[i]) else math.inf)


def _batch(run: RunRecord, step_index: int) -> tuple[Ref, ...]:
    return run.step_refs[step_index][:MAX_REFS] if run.step_refs else ()


def initial_loss(run: RunRecord) -> Measure:
    losses = run.trace.losses
    return Measure(losses[0] if losses else NAN, _batch(run, 0),
                   "training loss of step 1, before any update")


def loss_decay_rate(run: RunRecord) -> Measure:
    slope, icpt = linear_fit(run.trace.losses)
    n = len(run.trace.losses)
    detail = f"fitted loss {icpt + slope:.4f} at step 1 -> {icpt + slope * n:.4f} at step {n}"
    return Measure(-slope, (), detail)


def loss_variance(run: RunRecord) -> Measure:
    losses = run.trace.losses
    refs = _batch(run, _argmax(losses)) if losses else ()
    return Measure(_pvar(losses), refs, "refs: batch of the highest-loss step")


def grad_norm_mean(run: RunRecord) -> Measure:
    norms = run.trace.grad_norms
    refs = _batch(run, _argmax(norms)) if norms else ()
    return Measure(_mean(norms), refs, "refs: batch of the largest-gradient step")


def grad_norm_var(run: RunRecord) -> Measure:
    return Measure(_pvar(run.trace.grad_norms))


def grad_consistency(run: RunRecord) -> Measure:
    return Measure(_mean(run.trace.grad_cosines))


def grad_sparsity(run: RunRecord) -> Measure:
    return Measure(_mean(run.trace.grad_sparsity))


def param_change_norm(run: RunRecord) -> Measure:
    return Measure(run.trace.param_change_norm)


def flatness(run: RunRecord) -> Measure:
    base, plus, minus = run.flatness
    return Measure((plus + minus) / 2 - base, (),
                   f"L={base:.5f}, L(+δ)={plus:.5f}, L(-δ)={minus:.5f}")


def forgetting(run: RunRecord) -> Measure:
    before, after = run.forgetting
    return Measure(after - before, (), f"general-slice NLL {before:.4f} -> {after:.4f}")


def activation_sparsity(run: RunRecord) -> Measure:
    if not run.trace.act_found:
        return Measure(NAN, (), "no MLP activation module found in this model")
    return Measure(_mean(run.trace.act_sparsity))


PROBE_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("probe_initial_loss", initial_loss,
                "Mean cross-entropy (nats/token) on the response tokens of the step-1 batch, "
                "before any update."),
    FeatureSpec("probe_loss_decay_rate", loss_decay_rate,
                "Minus the slope of the least-squares line through (step, loss): nats/token "
                "lost per step; positive when the loss falls."),
    FeatureSpec("probe_loss_variance", loss_variance,
                "Population variance of the per-step training losses."),
    FeatureSpec("probe_grad_norm_mean", grad_norm_mean,
                "Mean over steps of the L2 norm of the full LoRA gradient, before clipping."),
    FeatureSpec("probe_grad_norm_var", grad_norm_var,
                "Population variance over steps of that gradient norm."),
    FeatureSpec("probe_grad_consistency", grad_consistency,
                "Mean cosine similarity of the LoRA gradients of successive steps (t-1, t)."),
    FeatureSpec("probe_grad_sparsity", grad_sparsity,
                "Mean over steps 2..N of the fraction of LoRA gradient coordinates with "
                "|g_i| < 1e-3 * RMS(g) (step 1 excluded: LoRA B = 0 zeroes every A gradient)."),
    FeatureSpec("probe_param_change_norm", param_change_norm,
                "L2 norm of (LoRA parameters after the run - at initialisation)."),
    FeatureSpec("probe_flatness", flatness,
                "Sharpness under a fixed random perturbation: (L(θ+δ) + L(θ-δ))/2 - L(θ) on a "
                "fixed held-in batch, δ filter-normalised (||δ_p|| = rho ||p|| per LoRA tensor). "
                "Larger = sharper (less flat) minimum."),
    FeatureSpec("probe_forgetting", forgetting,
                "Gold-answer NLL on 64 fixed ARC-Easy items after the run minus before "
                "(nats/token); positive = general knowledge became less likely."),
    FeatureSpec("probe_activation_sparsity", activation_sparsity,
                "Fraction of MLP activation outputs (act_fn) with |a| < 1e-2 on non-padding "
                "tokens, over all layers and training steps."),
)


def probe_values(run: RunRecord) -> tuple[tuple[str, Measure], ...]:
    return tuple((spec.name, spec.fn(run)) for spec in PROBE_FEATURES)


def _worst(pairs: Sequence[Pair]) -> tuple[Ref, ...]:
    """Records whose violated response the base model prefers (margin <= 0),
    lowest margin first."""
    bad = sorted((p for p in pairs if p.margin <= 0), key=lambda p: p.margin)
    return tuple((p.path, p.line) for p in bad[:MAX_REFS])


def contrast_values(pairs: Sequence[Pair]) -> tuple[tuple[str, Measure], ...]:
    """``contrast_margin_mean`` (macro mean over violation kinds),
    ``contrast_margin_<kind>``, ``contrast_win_rate`` (share of pairs with margin > 0).
    Refs: records with margin <= 0."""
    per_kind: list[tuple[str, Measure]] = []
    for kind, _ in VIOLATIONS:
        sel = [p for p in pairs if p.kind == kind]
        per_kind.append((f"contrast_margin_{kind}",
                         Measure(_mean([p.margin for p in sel]), _worst(sel), f"{len(sel)} pairs")))
    macro = _mean([m.value for _, m in per_kind])
    wins = [p.margin > 0 for p in pairs]
    return (("contrast_margin_mean", Measure(macro, _worst(pairs), f"{len(pairs)} pairs")),
            *per_kind,
            ("contrast_win_rate", Measure(_mean([float(w) for w in wins]), (), "")))


CONTRAST_FEATURES: tuple[tuple[str, str], ...] = (
    ("contrast_margin_mean", "Mean over the five violation kinds of the per-kind mean margin "
                             "(nats/token, intact minus violated)."),
    *((f"contrast_margin_{k}", (fn.__doc__ or "").strip()) for k, fn in VIOLATIONS),
    ("contrast_win_rate", "Share of all pairs where the base model prefers the intact response."),
)
