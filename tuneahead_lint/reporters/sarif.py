"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; ``tool.driver.rules`` holds every rule of the registry; results are
in (path, line, rule id) order with repo-relative URIs (uriBaseId %SRCROOT%)
and a content-based partial fingerprint, so a finding keeps its identity when
lines move. A record rule's finding that groups records (template leaks in 14
records) becomes one result per record, so code review annotates every one.
At most ``MAX_RESULTS`` results (GitHub's limit per run; errors first) and
``max_results_per_rule`` per rule are kept; the rest are counted in a tool
execution notification and ``run.properties.omittedResults``. The
prediction, with its unit, verdict and the model card's grouped-CV skill,
is in ``run.properties.prediction`` (``predictions`` and ``divergence`` for
a multi-target bundle) and in words in the notifications, findings or not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from tuneahead_lint.reporters._common import (
    RenderOptions, divergence_warnings, lines_total, ordered, ordered_skipped, per_record, plural, skill_warning,
)
from tuneahead_lint.reporters._paths import artifact_location, default_root
from tuneahead_lint.reporters.json import divergence_dict, in_unit_dict, prediction_dict, target_dict
from tuneahead_lint.reporters.text import (
    divergence_text, probability_text, score_line, skill_words, target_head, target_trust, unit_text,
)
from tuneahead_lint.reporters.serialize import dumps
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Finding, Prediction, PredictionDetail, Report, TargetPrediction, text_hash

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "tuneahead-lint"
INFORMATION_URI = "https://pypi.org/project/tuneahead-lint/"
FINGERPRINT_KEY = "tuneaheadFinding/v1"
MAX_RELATED = 100  # GitHub shows at most 100 related locations per result
MAX_RESULTS = 25_000  # GitHub code scanning accepts at most 25,000 results per run


class SarifRenderer:
    """Renders a :class:`Report` as a SARIF 2.1.0 log (one run)."""

    def __init__(self, rules: tuple[Rule, ...] = (), options: RenderOptions = RenderOptions()) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: r.id))
        self.options = options
        self._index = {r.id: i for i, r in enumerate(self.rules)}
        self._rules = {r.id: r for r in self.rules}

    def render(self, report: Report) -> str:
        """The SARIF log as JSON text ending in a newline."""
        return dumps(self.log(report))

    def log(self, report: Report) -> dict[str, Any]:
        """The SARIF log as plain dicts and lists."""
        findings = ordered(report.findings)
        kept, omitted = self._cap(self._expand(findings))
        root = self._root(findings, report)
        run = {
            "tool": {"driver": self._driver(report.tool_version)},
            "invocations": [self._invocation(report, omitted)],
            "results": [self._result(f, root) for f in kept],
            "columnKind": "unicodeCodePoints",
            "properties": {"omittedResults": omitted, **predictions(report)},
        }
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    def _root(self, findings: list[Finding], report: Report) -> Path:
        if self.options.root is not None:
            return Path(self.options.root)
        paths = [f.path for f in findings] or sorted(f.path for f in report.summary.files)
        return default_root(paths)

    def _expand(self, findings: list[Finding]) -> list[Finding]:
        """One finding per record for record rules that group records."""
        out = []
        for f in findings:
            rule = self._rules.get(f.rule_id)
            out += split_records(f) if rule is not None and rule.category in ("input", "record") else [f]
        return out

    def _cap(self, findings: list[Finding]) -> tuple[list[Finding], dict[str, int]]:
        """Keep the first ``max_results_per_rule`` results of each rule and at
        most ``MAX_RESULTS`` in all (worst severity first, then report order);
        return them in report order and ``{rule id: number omitted}``."""
        limit = self.options.max_results_per_rule or MAX_RESULTS
        seen: dict[str, int] = defaultdict(int)
        per_rule = []
        for i, f in enumerate(findings):
            seen[f.rule_id] += 1
            if seen[f.rule_id] <= limit:
                per_rule.append((i, f))
        worst_first = sorted(per_rule, key=lambda it: (-it[1].severity.rank, it[0]))[:MAX_RESULTS]
        kept = [f for _, f in sorted(worst_first, key=lambda it: it[0])]
        counts = defaultdict(int)
        for f in kept:
            counts[f.rule_id] += 1
        return kept, {rid: n - counts[rid] for rid, n in sorted(seen.items()) if n > counts[rid]}

    def _driver(self, version: str) -> dict[str, Any]:
        return {"name": TOOL_NAME, "version": version, "semanticVersion": version,
                "informationUri": INFORMATION_URI,
                "rules": [reporting_descriptor(r) for r in self.rules]}

    def _invocation(self, report: Report, omitted: dict[str, int]) -> dict[str, Any]:
        notes = [self._notification(rid, f"{plural(n, 'result')} of rule {rid} omitted: at most "
                                         f"{self.options.max_results_per_rule or MAX_RESULTS} per rule "
                                         f"and {MAX_RESULTS:,} per run are listed")
                 for rid, n in omitted.items()]
        notes += [self._notification(s.rule_id, f"rule {s.rule_id} skipped: {s.reason}")
                  for s in ordered_skipped(report.skipped)]
        notes += [{"level": "note", "message": {"text": text}} for text in prediction_notes(report)]
        return {"executionSuccessful": True, "toolExecutionNotifications": notes}

    def _notification(self, rule_id: str, text: str) -> dict[str, Any]:
        return {"level": "note", "message": {"text": text},
                "associatedRule": self._rule_ref(rule_id)}

    def _rule_ref(self, rule_id: str) -> dict[str, Any]:
        ref: dict[str, Any] = {"id": rule_id}
        if rule_id in self._index:
            ref["index"] = self._index[rule_id]
        return ref

    def _result(self, f: Finding, root: Path) -> dict[str, Any]:
        result = {
            "ruleId": f.rule_id, "level": f.severity.value, "message": {"text": f.message},
            "locations": [_location(f.path, f.line, root)],
            "partialFingerprints": {FINGERPRINT_KEY: (f.record_fingerprints or (f.fingerprint,))[0]},
            "properties": {"evidence": dict(f.evidence), "linesTotal": lines_total(f),
                           "remedy": f.remedy},
        }
        if f.rule_id in self._index:
            result["ruleIndex"] = self._index[f.rule_id]
        related = _related(f, root)
        if related:
            result["relatedLocations"] = related
        return result


def predictions(report: Report) -> dict[str, Any]:
    """Run properties: ``prediction`` (the gate target's number, interval,
    unit, verdict and its reason, the model card's grouped-CV skill and a
    warning when not to rely on it), ``predictions`` (every target of a
    multi-target bundle alike, as in the JSON report without the
    attributions) and ``divergence``; none without a prediction."""
    out: dict[str, Any] = {}
    if report.prediction is not None:
        d = report.prediction_detail
        out["prediction"] = {**prediction_dict(report.prediction, d), **in_unit_dict(report.prediction, d),
                             "verdict_reason": d.verdict_reason if d else None}
    if report.targets:
        out["predictions"] = [_target(t) for t in report.targets]
    if report.divergence is not None:
        out["divergence"] = divergence_dict(report.divergence)
    return out


def _target(t: TargetPrediction) -> dict[str, Any]:
    doc = target_dict(t)
    detail = doc.pop("detail")
    del doc["attributions"]
    return {**doc, "verdict_reason": detail["verdict_reason"]}


def gate_note(p: Prediction, d: PredictionDetail | None) -> str:
    """The gate prediction in one line: target and unit, score, verdict and
    its reason, the model card's skill and the warning."""
    cv = d.model_skill if d else None
    warning = skill_warning(cv)
    reason = f" ({d.verdict_reason})" if d and d.verdict_reason else ""
    return (f"prediction of {unit_text(d) if d else 'the score'} by model {p.model}: {score_line(p, d)}; "
            f"verdict {p.verdict or 'none'}{reason}; trust: {skill_words(cv, d.unit if d else 'points')}"
            + (f"; warning: {warning}" if warning else ""))


def prediction_notes(report: Report) -> list[str]:
    """The prediction in words for SARIF viewers that show notifications:
    every number with its unit and skill, and the warnings."""
    if report.prediction is None:
        return []
    notes = [gate_note(report.prediction, report.prediction_detail)]
    notes += [f"{target_head(t)}; {target_trust(t)}" for t in report.targets]
    if report.divergence is not None:
        dv = report.divergence
        notes.append(f"{probability_text(dv)}, model {dv.model}: {divergence_text(dv.skill)}"
                     + "".join(f"; warning: {w}" for w in divergence_warnings(dv)))
    return notes


def split_records(f: Finding) -> list[Finding]:
    """A finding that groups records as one finding per record, each with its
    record's fingerprint; any other finding unchanged."""
    if not per_record(f):
        return [f]
    fps = f.record_fingerprints if len(f.record_fingerprints) == len(f.lines) else [
        text_hash(f.fingerprint, str(n))[:32] for n in f.lines]
    records = f.records if len(f.records) == len(f.lines) else [0] * len(f.lines)
    n = len(f.lines)
    return [replace(f, lines=(line,), fingerprint=fp, related=(), lines_total=1, records=(rec,) if rec else (),
                    record_fingerprints=(fp,), message=f"{f.message} (record {i + 1} of {n})")
            for i, (line, fp, rec) in enumerate(zip(f.lines, fps, records))]


def reporting_descriptor(rule: Rule) -> dict[str, Any]:
    """SARIF ``reportingDescriptor`` for one registry rule."""
    what = rule.doc("what").strip()
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what},
        "help": {"text": f"{rule.summary}\n\n{what}\n\nRemedy: {rule.remedy}",
                 "markdown": rule.full_doc()},
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": {"tags": [rule.category]},
    }


def _location(path: str, line: int, root: Path) -> dict[str, Any]:
    """Physical location; whole-file findings (line 0) point at line 1."""
    return {"physicalLocation": {"artifactLocation": artifact_location(path, root),
                                 "region": {"startLine": max(line, 1)}}}


def _related(f: Finding, root: Path) -> list[dict[str, Any]]:
    """The finding's other lines, then its related (path, line) pairs."""
    places = [(f.path, n) for n in f.lines[1:]] + list(f.related)
    out = []
    for i, (path, line) in enumerate(places[:MAX_RELATED]):
        loc = _location(path, line, root)
        loc.update(id=i + 1, message={"text": f"{path}:{line}" if line else path})
        out.append(loc)
    return out
