"""JSON report, schema ``tuneahead_lint/schemas/report-v1.schema.json``.

The schema file is the documentation of every field. Output is byte-stable:
sorted keys, findings in (path, line, rule id) order, floats rounded to 6
significant digits, NaN/inf as ``null``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tuneahead_lint.reporters._common import (
    RenderOptions, divergence_warnings, lines_total, ordered, ordered_skipped, severity_counts, skill_warning,
)
from tuneahead_lint.reporters.serialize import dumps
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import (
    DivergencePrediction, Finding, GuardResult, Measure, Prediction, PredictionDetail, ProbeRun, Report, Summary,
    TargetPrediction,
)

SCHEMA_VERSION = "1.0"
TOOL_NAME = "tuneahead-lint"


class JsonRenderer:
    """Renders a :class:`Report` as versioned JSON (schema 1.0)."""

    def __init__(self, rules: tuple[Rule, ...] = (), options: RenderOptions = RenderOptions()) -> None:
        self.rules = rules
        self.options = options

    def render(self, report: Report) -> str:
        """The report as JSON text ending in a newline."""
        return dumps(report_dict(report))


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON document as plain dicts and lists (before float rounding)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "config_path": report.config_path,
        "summary": _summary(report.summary),
        "findings": [_finding(f) for f in ordered(report.findings)],
        "skipped": [{"rule_id": s.rule_id, "reason": s.reason}
                    for s in ordered_skipped(report.skipped)],
        "features": {name: _measure(m) for name, m in report.features},
        "prediction": prediction_dict(report.prediction, report.prediction_detail),
        "counts": severity_counts(report.findings),
        "extra": _extra(report),
    }


def _summary(summary: Summary) -> dict[str, Any]:
    files = [{"path": f.path, "format": f.format, "records": f.records, "unreadable": f.unreadable}
             for f in sorted(summary.files, key=lambda f: f.path)]
    return {"records": summary.records, "files": files,
            "formats": dict(summary.formats), "stats": dict(summary.stats)}


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id, "rule_name": f.rule_name, "severity": f.severity.value,
        "message": f.message, "path": f.path, "line": f.line, "lines": list(f.lines),
        "lines_total": lines_total(f), "records": list(f.records),
        "record_fingerprints": list(f.record_fingerprints), "related": _refs(f.related),
        "evidence": dict(f.evidence), "remedy": f.remedy, "fingerprint": f.fingerprint,
    }


def _refs(refs: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"path": p, "line": n} for p, n in refs]


def _measure(m: Measure) -> dict[str, Any]:
    return {"value": m.value, "refs": _refs(m.refs), "detail": m.detail}


def prediction_dict(p: Prediction | None, d: PredictionDetail | None = None) -> dict[str, Any] | None:
    """The prediction with what it is (target, unit, points per unit) and
    how far to trust it (the card's grouped-CV skill and a warning when it
    is not above its SE or was never measured)."""
    if p is None:
        return None
    return {"score": p.score, "low": p.low, "high": p.high, "model": p.model,
            "base_score": p.base_score, "in_distribution": p.in_distribution,
            "verdict": p.verdict or None, "target": (d.target or None) if d else None,
            "unit": d.unit if d else None, "points_per_unit": d.points_per_unit if d else None,
            "model_skill": None if d is None or d.model_skill is None else asdict(d.model_skill),
            "warning": skill_warning(d.model_skill if d else None)}


def _extra(report: Report) -> dict[str, Any]:
    """``extra``: the predict stage's detail and the probe's budget."""
    out: dict[str, Any] = {}
    if report.prediction_detail is not None:
        out["attributions"] = [asdict(a) for a in report.prediction_detail.attributions]
        out["prediction_detail"] = _detail(report.prediction_detail)
    if report.probe_run is not None:
        out["probe_run"] = _probe_run(report.probe_run)
    if report.targets:
        out["targets"] = [target_dict(t) for t in report.targets]
    if report.divergence is not None:
        out["divergence"] = divergence_dict(report.divergence)
    return out


def target_dict(t: TargetPrediction) -> dict[str, Any]:
    """One target of a multi-target bundle: its prediction in target units,
    the same in its report unit (``*_in_unit``), the verdict, the card's
    skill and its SHAP attributions."""
    p, d = t.prediction, t.detail
    return {**prediction_dict(p, d), **in_unit_dict(p, d), "target": t.target, "unit": t.unit, "gate": t.gate,
            "attributions": [asdict(a) for a in d.attributions], "detail": _detail(d)}


def in_unit_dict(p: Prediction, d: PredictionDetail | None) -> dict[str, Any]:
    """Score, interval and base in the target's report unit (``*_in_unit``)."""
    ppu = d.points_per_unit if d else 1.0
    return {"score_in_unit": p.score * ppu, "low_in_unit": p.low * ppu, "high_in_unit": p.high * ppu,
            "base_in_unit": None if p.base_score is None else p.base_score * ppu}


def divergence_dict(d: DivergencePrediction) -> dict[str, Any]:
    """P(diverged), its model, the training base rate, the classifier's
    grouped-CV skill, whether a guard checked it and the warnings."""
    return {"probability": d.probability, "model": d.model, "base_rate": d.base_rate, "guarded": d.guarded,
            "gate_far": d.gate_far,
            "skill": None if d.skill is None else asdict(d.skill), "warnings": divergence_warnings(d)}


def _detail(d: PredictionDetail) -> dict[str, Any]:
    return {
        "expected_score": d.expected_score, "min_score": d.min_score,
        "threshold": d.threshold, "threshold_source": d.threshold_source, "verdict_reason": d.verdict_reason,
        "points_per_unit": d.points_per_unit, "model_dir": d.model_dir,
        "guard": None if d.guard is None else _guard(d.guard),
        "out_of_range": [asdict(r) for r in d.out_of_range],
        "hparams": [asdict(h) for h in d.hparams],
        "model_skill": None if d.model_skill is None else asdict(d.model_skill),
    }


def _guard(g: GuardResult) -> dict[str, Any]:
    return {"distance_ratio": g.ratio, "far": g.far,
            "most_different": [{"feature": f, "sd": sd} for f, sd in g.nearest_features],
            "size_beyond_training": [asdict(r) for r in g.size_beyond]}


def _probe_run(run: ProbeRun) -> dict[str, Any]:
    """Fields that were in the probe's config (None ones are left out)."""
    return {k: v for k, v in asdict(run).items() if v is not None}
