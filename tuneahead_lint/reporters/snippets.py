"""Texts of the records a report names, for the HTML report's clusters and
flagged records (the other formats name places only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tuneahead_lint.types import Finding, Report

MAX_RECORDS = 400  # records whose text goes into the page
MAX_CHARS = 600  # characters kept of each prompt and response


def wanted_places(findings: Iterable[Finding], limit: int = MAX_RECORDS) -> dict[str, set[int]]:
    """``{path: {line, ...}}`` of the first ``limit`` places the findings name
    (near-duplicate clusters: their first members; others: their lines)."""
    out: dict[str, set[int]] = defaultdict(set)
    n = 0
    for f in findings:
        places = [(f.path, line) for line in f.lines[:4]] + list(f.related[:4])
        for path, line in places:
            if n >= limit:
                return out
            if line and line not in out[path]:
                out[path].add(line)
                n += 1
    return out


def collect_snippets(report: Report, input_format: str | None = None) -> tuple:
    """((path, line), (prompt, response)) for the places the report names,
    each text cut to ``MAX_CHARS``; files that cannot be read are skipped."""
    from tuneahead_lint.readers import InputError, read

    found = []
    for path, lines in sorted(wanted_places(report.findings).items()):
        try:
            records = read(path, input_format)
            for ex in records:
                if ex.line in lines and ex.ok:
                    found.append(((path, ex.line), (_cut(ex.prompt), _cut(ex.response))))
                    lines.discard(ex.line)
                if not lines:
                    break
            records.close()
        except (OSError, InputError):
            continue
    return tuple(sorted(found))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " …"
