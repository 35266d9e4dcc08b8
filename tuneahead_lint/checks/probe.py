"""Probe checks (TA3xx): read the :class:`~tuneahead_lint.probe.ProbeResult`
in ``ctx.probe`` and yield nothing when the probe did not run (the rules
declare ``requires: [probe]``, so the evaluator reports them as skipped).

Per-step findings point at the records of that step's batch; run-level
findings at the first line of the first file.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence
from typing import Any

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.types import Example, Hit

MIN_STEPS = 5  # fewer steps: no trend, median or spread worth reporting


def _batch_hit(probe: Any, step: int, evidence: dict[str, Any], key: str) -> Hit:
    """A hit on the records of ``step`` (1-based): lines in the first record's
    file, the others as related locations."""
    refs = probe.step_refs[step - 1]
    path = refs[0][0]
    lines = tuple(line for p, line in refs if p == path)
    related = tuple((p, line) for p, line in refs if p != path)
    return Hit(path, lines, tuple(sorted(evidence.items())), key=key, related=related)


def _run_hit(examples: Sequence[Example], evidence: dict[str, Any], key: str) -> Hit:
    return Hit(examples[0].path, (1,), tuple(sorted(evidence.items())), key=key)


def _finite(xs: Sequence[float]) -> list[float]:
    return [x for x in xs if math.isfinite(x)]


def _residuals(losses: Sequence[float]) -> list[float]:
    """Loss minus its least-squares line over steps 1..n."""
    fit = statistics.linear_regression(range(1, len(losses) + 1), losses)
    return [y - (fit.intercept + fit.slope * t) for t, y in enumerate(losses, 1)]


@check("probe_loss_spike")
def loss_spike(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Steps whose loss is ``min_ratio`` x the median step loss and ``z_threshold``
    robust deviations (1.4826 MAD of the residuals) above the fitted trend."""
    probe = ctx.probe
    if probe is None or len(probe.losses) < MIN_STEPS or not _finite(probe.losses):
        return
    losses = list(probe.losses)
    if len(_finite(losses)) != len(losses):
        return  # non-finite losses are TA302's
    median = statistics.median(losses)
    res = _residuals(losses)
    scale = 1.4826 * statistics.median(abs(r - statistics.median(res)) for r in res) or 1e-12
    for step, (loss, r) in enumerate(zip(losses, res), 1):
        z = r / scale
        ratio = loss / median if median > 0 else math.inf
        if ratio >= ctx.options["min_ratio"] and z >= ctx.options["z_threshold"]:
            yield _batch_hit(probe, step, {
                "step": step, "loss": round(loss, 4), "median": round(median, 4),
                "ratio": round(ratio, 2), "z": round(z, 1),
                "min_ratio": ctx.options["min_ratio"]}, key=f"spike:{step}")


@check("probe_exploding_gradients")
def exploding_gradients(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Non-finite loss or gradient, or a gradient norm over ``max_norm`` or
    ``max_ratio`` x the run's median norm. One hit, at the worst step."""
    probe = ctx.probe
    if probe is None or not probe.grad_norms:
        return
    norms, losses = list(probe.grad_norms), list(probe.losses)
    bad = [s for s, (g, loss) in enumerate(zip(norms, losses), 1)
           if not (math.isfinite(g) and math.isfinite(loss))]
    finite = _finite(norms)
    median = statistics.median(finite) if finite else math.nan
    if bad:
        step, why = bad[0], "non-finite loss or gradient"
    else:
        step = max(range(1, len(norms) + 1), key=lambda s: norms[s - 1])
        over_abs = norms[step - 1] > ctx.options["max_norm"]
        over_rel = len(norms) >= MIN_STEPS and norms[step - 1] > ctx.options["max_ratio"] * median
        if not (over_abs or over_rel):
            return
        why = (f"> {ctx.options['max_norm']}" if over_abs
               else f"> {ctx.options['max_ratio']}x the median")
    yield _batch_hit(probe, step, {
        "step": step, "grad_norm": round(norms[step - 1], 4), "median": round(median, 4),
        "reason": why, "lr": dict(probe.config).get("lr")}, key="exploding")


@check("probe_vanishing_gradients")
def vanishing_gradients(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Median LoRA gradient norm below ``min_norm``."""
    probe = ctx.probe
    finite = _finite(probe.grad_norms) if probe is not None else []
    if not finite or not examples:
        return
    median = statistics.median(finite)
    if median < ctx.options["min_norm"]:
        yield _run_hit(examples, {"median": median, "min_norm": ctx.options["min_norm"],
                                  "steps": probe.steps_run}, key="vanishing")


@check("probe_flat_loss")
def flat_loss(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Fitted loss falls by less than ``min_drop`` (relative) over the run."""
    probe = ctx.probe
    if probe is None or not examples or len(probe.losses) < MIN_STEPS:
        return
    losses = list(probe.losses)
    if len(_finite(losses)) != len(losses):
        return
    fit = statistics.linear_regression(range(1, len(losses) + 1), losses)
    start, end = fit.intercept + fit.slope, fit.intercept + fit.slope * len(losses)
    drop = (start - end) / start if start > 0 else 0.0
    if drop < ctx.options["min_drop"]:
        yield _run_hit(examples, {
            "start": round(start, 4), "end": round(end, 4), "drop": round(drop, 4),
            "steps": len(losses), "min_drop": ctx.options["min_drop"]}, key="flat")


@check("probe_low_contrast_margin")
def low_contrast_margin(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Mean base-model margin of one violation kind (option ``kind``) below
    ``min_margin``; lines: records where the base model prefers the violation."""
    probe = ctx.probe
    if probe is None or not examples:
        return
    name = f"contrast_margin_{ctx.options['kind']}"
    m = probe.get(name)
    if m is None or not math.isfinite(m.value) or m.value >= ctx.options["min_margin"]:
        return
    evidence = {"kind": ctx.options["kind"], "margin": round(m.value, 4),
                "min_margin": ctx.options["min_margin"], "pairs": m.detail}
    if not m.refs:
        yield _run_hit(examples, evidence, key=f"contrast:{name}")
        return
    path = m.refs[0][0]
    yield Hit(path, tuple(line for p, line in m.refs if p == path), tuple(sorted(evidence.items())),
              key=f"contrast:{name}", related=tuple(r for r in m.refs if r[0] != path))
