"""JSON report, schema ``tuneahead_lint/schemas/report-v1.schema.json``.

The schema file is the documentation of every field. Output is byte-stable:
sorted keys, findings in (path, line, rule id) order, floats rounded to 6
significant digits, NaN/inf as ``null``.
"""

from __future__ import annotations

from typing import Any

from tuneahead_lint.reporters._common import (
    RenderOptions, lines_total, ordered, ordered_skipped, severity_counts,
)
from tuneahead_lint.reporters.serialize import dumps
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Finding, Measure, Prediction, Report, Summary

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
        "prediction": _prediction(report.prediction),
        "counts": severity_counts(report.findings),
        "extra": dict(report.extra),
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


def _prediction(p: Prediction | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"score": p.score, "low": p.low, "high": p.high, "model": p.model,
            "base_score": p.base_score, "in_distribution": p.in_distribution,
            "verdict": p.verdict or None}
