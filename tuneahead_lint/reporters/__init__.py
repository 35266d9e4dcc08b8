"""Output formats for the lint report.

Reporters only render: each format is one class with ``render(report) -> str``
picked by :class:`Format`; none of them reads data or decides anything.
"""

from __future__ import annotations

from enum import Enum

from tuneahead_lint.reporters._common import RenderOptions, per_record
from tuneahead_lint.reporters.concise import ConciseRenderer
from tuneahead_lint.reporters.html import HtmlRenderer
from tuneahead_lint.reporters.json import JsonRenderer
from tuneahead_lint.reporters.sarif import SarifRenderer
from tuneahead_lint.reporters.text import TextRenderer
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Report

__all__ = ["Format", "RENDERERS", "RenderOptions", "per_record", "render"]


class Format(str, Enum):
    """Output formats accepted by ``--format``."""

    TEXT = "text"
    CONCISE = "concise"
    JSON = "json"
    SARIF = "sarif"
    HTML = "html"


RENDERERS = {Format.TEXT: TextRenderer, Format.CONCISE: ConciseRenderer, Format.JSON: JsonRenderer,
             Format.SARIF: SarifRenderer, Format.HTML: HtmlRenderer}


def render(report: Report, fmt: Format | str, rules: tuple[Rule, ...], *, color: bool = False,
           width: int = 100, show_features: bool = False, root: str | None = None,
           max_results_per_rule: int | None = None, show_all: bool = False,
           max_lines: int = 5, snippets: tuple = ()) -> str:
    """Render ``report`` in format ``fmt``.

    ``rules`` is the whole registry (SARIF lists every rule; text names
    skipped ones). ``color``/``width``/``show_features`` apply to text,
    ``root``/``max_results_per_rule`` to SARIF. Raises ``ValueError`` for an
    unknown format name."""
    options = RenderOptions(color=color, width=width, show_features=show_features,
                            root=root, max_results_per_rule=max_results_per_rule,
                            show_all=show_all, max_lines=max_lines, snippets=snippets)
    return RENDERERS[Format(fmt)](rules, options).render(report)
