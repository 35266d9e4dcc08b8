"""Plain-text summary of a fix run: counts, notes, before/after, suggestion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tuneahead_lint.fix.hparams import HyperSuggestion
from tuneahead_lint.reporters.text import trust_text
from tuneahead_lint.types import Finding, Prediction, Report


def render_summary(result, dry_run: bool = False) -> str:
    """The summary printed after the log (``result``: a :class:`~.FixResult`)."""
    plan = result.plan
    counts = plan.counts()
    verb = "would be" if dry_run else ""
    lines = [_files_line(result, dry_run),
             f"records: {counts['records']} read, {counts['dropped']} {verb} dropped, "
             f"{counts['changed']} {verb} changed, {counts['written']} {verb} written".replace("  ", " ")]
    for name in sorted(k for k in counts if k.startswith(("drop ", "strip ", "repair ", "redact "))):
        lines.append(f"  {name:<40} {counts[name]:>6}")
    if plan.semantic_source:
        lines.append(f"near-duplicates/outliers from: {plan.semantic_source}")
    lines += [f"note: {n}" for n in plan.notes]
    if result.before is not None and result.after is not None:
        lines += _before_after(result.before, result.after, result.relint)
    if result.hyper is not None:
        lines += _hyper(result.hyper)
    return "\n".join(lines) + "\n"


def _files_line(result, dry_run: bool) -> str:
    if dry_run:
        return f"dry run: {len(result.plan.files)} file(s) checked, nothing written"
    if not result.written:
        return "nothing to change: no file written"
    pairs = ", ".join(f"{src} -> {out}" for src, out in result.written)
    backups = f" (backup: {', '.join(result.backups)})" if result.backups else ""
    return f"wrote {pairs}{backups}"


def _per_rule(findings: Iterable[Finding]) -> Counter:
    """Findings per 'TAnnn name'."""
    return Counter(f"{f.rule_id} {f.rule_name}" for f in findings)


def _before_after(before: Report, after: Report, how: str) -> list[str]:
    b, a = _per_rule(before.findings), _per_rule(after.findings)
    lines = [f"before -> after (re-lint: {how}; findings per rule):"]
    lines += [f"  {rule:<40} {b[rule]:>6} -> {a[rule]}" for rule in sorted(set(b) | set(a))]
    lines.append(f"  {'findings':<40} {len(before.findings):>6} -> {len(after.findings)}")
    lines.append(f"  {'records':<40} {before.summary.records:>6} -> {after.summary.records}")
    lines.append(f"  {'predicted score':<40} {_score(before.prediction):>6} -> "
                 f"{_score(after.prediction)}" + ("" if after.prediction else "  (no predictor model)"))
    return lines + _trust(after)


def _trust(report: Report) -> list[str]:
    """How far to trust the predicted scores (before, after and the
    suggested config's: one model): the model card's grouped-CV skill."""
    if report.prediction is None:
        return []
    cv = report.prediction_detail.model_skill if report.prediction_detail else None
    return [f"  {'trust':<40} {trust_text(cv)}"]


def _score(p: Prediction | None) -> str:
    return "n/a" if p is None else f"{p.score:.4f} [{p.low:.4f}, {p.high:.4f}]"


def _hyper(h: HyperSuggestion) -> list[str]:
    return [
        "suggested training config (hyperparameter remedy):",
        f"  learning rate  {h.base_lr:g} -> {h.lr:g}",
        f"  AdamW betas    ({h.base_betas[0]:g}, {h.base_betas[1]:g}) -> ({h.betas[0]:g}, {h.betas[1]:g})",
        f"  predicted score: {_score(h.baseline)} -> {_score(h.predicted)} ({h.note}{'; trust: as above' if h.predicted else ''})",
    ]
