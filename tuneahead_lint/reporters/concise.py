"""One line per finding, in the style of ``ruff --output-format concise``:
``path:line: TA105 [warning] message``, then the tally. Grep- and
editor-friendly (``path:line:`` is what compilers print)."""

from __future__ import annotations

from tuneahead_lint.reporters._common import RenderOptions, ordered, rules_by_id, tally
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Finding, Report


class ConciseRenderer:
    """Renders a :class:`Report` as one line per finding."""

    def __init__(self, rules: tuple[Rule, ...] = (), options: RenderOptions = RenderOptions()) -> None:
        self.rules = rules_by_id(rules)
        self.options = options

    def render(self, report: Report) -> str:
        """The findings, one per line, then the tally line."""
        lines = [concise_line(f) for f in ordered(report.findings)]
        return "".join(f"{line}\n" for line in [*lines, tally(report.findings, len(report.summary.files))])


def concise_line(f: Finding) -> str:
    """``data.jsonl:12: TA101 [error] empty response: no assistant turn``;
    more lines of the same finding are counted, not listed."""
    where = f"{f.path}:{f.line}:" if f.line else f"{f.path}:"
    more = len(f.lines) - 1
    extra = f" (+{more} more line{'s' * (more != 1)})" if more > 0 else ""
    message = " ".join(f.message.split())
    return f"{where} {f.rule_id} [{f.severity.value}] {message}{extra}"
