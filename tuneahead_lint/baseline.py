"""Baselines: fail only on what a change added.

``--write-baseline FILE`` stores the JSON report; ``--baseline FILE`` (a
JSON report or such a baseline) keeps only the findings that are not in it.
Identity is content-based: record rules compare one fingerprint per record
at fault (rule, content key and the record's bytes), other rules the
finding's fingerprint, so inserting or deleting unrelated lines changes
nothing. Fingerprints are compared as multisets: a third copy of a record
that was already duplicated twice is new.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tuneahead_lint.reporters import per_record
from tuneahead_lint.types import Finding, Report


class BaselineError(Exception):
    """The baseline file cannot be read (exit 2)."""


@dataclass(frozen=True)
class BaselineResult:
    """The report cut to what is new, and counts for the one-line summary."""

    report: Report
    new: int  # findings (records for record rules) not in the baseline
    old: int  # findings of the baseline still present
    fixed: int  # findings of the baseline no longer present


def units(finding: Finding) -> list[tuple[int, str]]:
    """(line, fingerprint) of each thing at fault in ``finding``: every record
    of a finding that groups records, else its anchor record; a finding
    without record fingerprints is one unit."""
    fps = finding.record_fingerprints
    if not fps or len(fps) != len(finding.lines):
        return [(finding.line, finding.fingerprint)]
    pairs = list(zip(finding.lines, fps))
    return pairs if per_record(finding) else pairs[:1]


def load(path: str) -> Counter[str]:
    """Multiset of unit fingerprints in a JSON report or baseline file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        findings = [_from_json(d) for d in data["findings"]]
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{path}: not a tuneahead-lint JSON report ({type(exc).__name__}: {exc})") from None
    return Counter(fp for f in findings for _, fp in units(f))


def _from_json(d: dict[str, Any]) -> Finding:
    """Enough of a :class:`Finding` to compute its units."""
    from tuneahead_lint.types import Severity

    return Finding(rule_id=d["rule_id"], rule_name=d.get("rule_name", ""), severity=Severity(d["severity"]),
                   message=d.get("message", ""), path=d["path"], lines=tuple(d["lines"]),
                   evidence=tuple((d.get("evidence") or {}).items()), remedy="",
                   fingerprint=d["fingerprint"], record_fingerprints=tuple(d.get("record_fingerprints") or ()))


def apply(report: Report, baseline: Counter[str], rules: Sequence[Any] = ()) -> BaselineResult:
    """Keep only findings (and, of grouped findings, lines) not in ``baseline``;
    ``rules`` (the registry) re-render the message of a cut grouped finding."""
    templates = {r.id: r.message for r in rules}
    left = Counter(baseline)
    kept: list[Finding] = []
    new = 0
    for f in sorted(report.findings, key=lambda f: (*f.sort_key(), f.fingerprint)):
        fresh = [(line, fp) for line, fp in units(f) if not _take(left, fp)]
        if fresh:
            kept.append(_restrict(f, fresh, templates.get(f.rule_id)))
            new += len(fresh)
    old = sum(baseline.values()) - sum(left.values())
    return BaselineResult(dataclasses.replace(report, findings=tuple(kept)), new, old, sum(left.values()))


def _take(left: Counter[str], fp: str) -> bool:
    if left[fp] > 0:
        left[fp] -= 1
        return True
    return False


def _restrict(f: Finding, fresh: Sequence[tuple[int, str]], template: str | None) -> Finding:
    """``f`` with only the new lines of a grouped finding (and its count)."""
    if not per_record(f) or len(fresh) == len(f.lines):
        return f
    lines = tuple(line for line, _ in fresh)
    records = tuple(r for r, line in zip(f.records, f.lines) if line in lines) if f.records else ()
    evidence = tuple((k, len(lines) if k == "count" else v) for k, v in f.evidence)
    message = f.message
    if template:
        from tuneahead_lint.ruleset.evaluate import render_message

        message = render_message(template, evidence) + f.message[len(render_message(template, f.evidence)):]
    return dataclasses.replace(f, lines=lines, record_fingerprints=tuple(fp for _, fp in fresh), message=message,
                               records=records, evidence=evidence, lines_total=len(lines) + len(f.related))


def summary_line(path: str, result: BaselineResult) -> str:
    """``baseline b.json: 3 new, 57 in the baseline remain, 2 fixed``."""
    return f"baseline {path}: {result.new} new, {result.old} in the baseline remain, {result.fixed} fixed"


def fingerprints(findings: Iterable[Finding]) -> list[str]:
    """Every unit fingerprint of ``findings``, in order (for tests and tools)."""
    return [fp for f in findings for _, fp in units(f)]
