"""The body of ``tuneahead-lint fix`` (options are declared in ``cli.py``)."""

from __future__ import annotations

import sys
from typing import Any

import click


def fix_command(paths: tuple[str, ...], output: str | None, in_place: bool, dry_run: bool,
                log: str | None, config_file: str | None, **remedies: Any) -> None:
    """Run fix, print the removal log (unless ``--log``) and the summary."""
    from tuneahead_lint.atomic import encodable, write_atomic
    from tuneahead_lint.config import config_for_run
    from tuneahead_lint.errors import UserError
    from tuneahead_lint.fix import OutputError, run_fix
    from tuneahead_lint.fix.log import render, render_text
    from tuneahead_lint.fix.report import render_summary
    from tuneahead_lint.fix.semantic import EmbedderUnavailable
    from tuneahead_lint.ruleset.evaluate import one_line_files
    from tuneahead_lint.ruleset.registry import find_rule, load_rules

    if in_place and output:
        raise UserError("--in-place and -o/--output cannot be combined")
    rules = load_rules()
    config = config_for_run(config_file, paths, rules, eval_sets=remedies.pop("eval_sets", ()))
    opts = _options(config, rules, find_rule, remedies)
    try:
        result = run_fix(list(paths), opts, config, rules, output=output, in_place=in_place,
                         dry_run=dry_run, base_lr=remedies.get("lr"),
                         progress=sys.stderr.isatty())
    except (OutputError, EmbedderUnavailable) as exc:
        raise UserError(str(exc)) from None
    actions = result.plan.actions
    shared = one_line_files([r.example for f in result.plan.files for r in f.records])
    if log:
        write_atomic(log, render(actions, log, shared))
    else:
        click.echo(encodable(render_text(actions, shared)), nl=False)
    click.echo(encodable(render_summary(result, dry_run) + (f"removal log: {log}\n" if log else "")), nl=False)


def _options(config: Any, rules: Any, find_rule: Any, cli: dict[str, Any]) -> Any:
    """:class:`~tuneahead_lint.fix.FixOptions` from the command line and config."""
    from tuneahead_lint.fix import FixOptions

    leak_rule = find_rule("template-leak", rules)
    patterns = tuple(config.rule(leak_rule).options.get("patterns") or ()) if leak_rule else ()
    settings = {r.id: config.rule(r) for r in rules}
    return FixOptions(
        exact_dedup=cli["exact_dedup"], semantic_dedup=cli["semantic_dedup"], lexical_dedup=cli["lexical_dedup"],
        dedup_threshold=cli["dedup_threshold"], outliers=cli["outliers"],
        outlier_sigma=cli["outlier_sigma"], outlier_method=cli["outlier_method"],
        outlier_k=cli["outlier_k"], mismatched=cli["mismatched"], drop_empty=cli["drop_empty"],
        strip_templates=cli["strip_templates"], fast=cli["fast"],
        input_format=cli["input_format"] or config.get("format"),
        embedder=cli["embedder"] or config.get("embedder"), leak_patterns=patterns,
        content=cli["content"], repair_mojibake=cli["repair_mojibake"], redact_pii=cli["redact_pii"],
        drop_flagged=cli["drop_flagged"],
        rule_options={k: dict(v.options) for k, v in settings.items()},
        disabled=frozenset(k for k, v in settings.items() if not v.enabled))
