"""Helpers shared by the renderers: finding order, counts, the tally line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import DivergencePrediction, Finding, ModelSkill, Severity, Skipped

SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.NOTE)  # worst first


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Options every renderer receives; each uses the ones that apply to it.

    ``width`` is in terminal columns; ``root`` is the folder SARIF URIs are
    made relative to (``None``: git top-level of the first file, else cwd)."""

    color: bool = False
    width: int = 100
    show_features: bool = False
    root: str | None = None
    max_results_per_rule: int | None = None  # SARIF; None: only GitHub's 25,000 per run
    show_all: bool = False  # text: every finding instead of a few per rule
    max_lines: int = 5  # text: lines listed per finding before "... and N more"
    snippets: tuple = ()  # html: (((path, line), (prompt, response)), ...) of flagged records


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in report order: (path, line, rule id), ties broken by content
    so that any input order gives the same output."""
    return sorted(findings, key=lambda f: (*f.sort_key(), f.message, f.fingerprint, f.lines))


def ordered_skipped(skipped: Iterable[Skipped]) -> list[Skipped]:
    """Skipped rules by rule id."""
    return sorted(skipped, key=lambda s: (s.rule_id, s.reason))


def lines_total(finding: Finding) -> int:
    """How many lines the finding names, counting those capped away."""
    return max(finding.lines_total, len(finding.lines))


def per_record(f: Finding) -> bool:
    """Whether ``f`` groups several records that each carry the problem (its
    ``count`` evidence equals its number of lines), as template leaks or
    token-budget findings do, rather than naming partners of one record."""
    count = dict(f.evidence).get("count")
    return len(f.lines) > 1 and isinstance(count, int) and count == len(f.lines)


def records_named(f: Finding) -> int:
    """How many records the finding is about: all its lines when it groups
    records, else one (its anchor) or none (a dataset-level finding)."""
    return len(f.lines) if per_record(f) else min(len(f.lines), 1)


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """``{"error": n, "warning": n, "note": n}``, all three keys present."""
    counts = Counter(f.severity.value for f in findings)
    return {s.value: counts.get(s.value, 0) for s in SEVERITIES}


def plural(n: int, word: str) -> str:
    """``1 error`` / ``3 errors``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def tally(findings: Iterable[Finding], n_files: int) -> str:
    """Final line, e.g. ``3 errors, 2 warnings, 1 note in 2 files``;
    ``n_files`` is used when there are no findings."""
    findings = list(findings)
    if not findings:
        return f"No findings in {plural(n_files, 'file')}"
    counts = severity_counts(findings)
    parts = [plural(counts[s.value], s.value) for s in SEVERITIES if counts[s.value]]
    files = len({f.path for f in findings})
    return f"{', '.join(parts)} in {plural(files, 'file')}"


def rules_by_id(rules: Iterable[Rule]) -> dict[str, Rule]:
    """Registry lookup by rule id."""
    return {r.id: r for r in rules}


# How far to trust a predicted number: every format says it beside the number.
NO_CV = "the model card records no grouped cross-validation: its skill was never measured; do not rely on it"
NO_SKILL = ("under grouped cross-validation this model predicts new datasets no better than the training mean "
            "(skill not above its standard error): do not rely on its score or verdict")
NO_DIVERGENCE_SKILL = ("under grouped cross-validation this classifier is no better than the training base rate "
                       "(Brier skill not above its standard error): do not rely on it")
NO_GUARD = ("the classifier has no out-of-distribution guard and no SHAP attributions: nothing checks how far "
            "this dataset is from its training runs, so the probability may be an extrapolation")
GATE_FAR = ("the gate target's distance guard finds this dataset far from the training runs the classifier "
            "also learned from: the probability is an extrapolation")


def skill_warning(cv: ModelSkill | None) -> str | None:
    """Why not to rely on a predicted number, or None when its grouped-CV
    skill is above its standard error."""
    if cv is None or cv.skill is None:
        return NO_CV
    return NO_SKILL if cv.no_skill else None


def divergence_warnings(d: DivergencePrediction) -> list[str]:
    """Why not to rely on P(diverged): no measured skill, no guard."""
    out = []
    if d.skill is None or d.skill.brier is None:
        out.append(NO_CV.replace("model card", "classifier's card"))
    elif d.skill.no_skill:
        out.append(NO_DIVERGENCE_SKILL)
    if not d.guarded:
        out.append(NO_GUARD)
    if d.gate_far:
        out.append(GATE_FAR)
    return out
