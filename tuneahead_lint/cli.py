"""Command line: ``tuneahead-lint [lint] PATHS...``, ``tuneahead-lint rules [ID]``.

Exit codes (documented in README):
  0  no finding at or above --fail-on
  1  findings at or above --fail-on (or, with a predictor, a predicted failure)
  2  usage error, invalid config, a named input that cannot be read, unwritable output
  3  internal error (a bug: rerun with TUNEAHEAD_DEBUG=1 for the traceback)
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from tuneahead_lint import __version__
from tuneahead_lint.atomic import encodable, write_atomic
from tuneahead_lint.errors import EXIT_FINDINGS, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UserError


class DefaultGroup(click.Group):
    """Route ``tuneahead-lint data.jsonl`` to the ``lint`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["lint", *args]
        elif not args:
            args = ["lint"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tuneahead-lint")
def cli() -> None:
    """Lint LLM instruction-tuning data and predict whether fine-tuning on it will work."""
    from tuneahead_lint.progress import quiet_third_party

    quiet_third_party()


@cli.command("lint")
@click.argument("paths", nargs=-1, required=True)
@click.option("-f", "--format", "out_format",
              type=click.Choice(["text", "concise", "json", "sarif", "html"]), default="text",
              show_default=True, help="Report format (concise: one line per finding; html: one offline page).")
@click.option("--show-all", is_flag=True, help="Text: list every finding (default: a few per rule).")
@click.option("--baseline", type=click.Path(dir_okay=False),
              help="JSON report of an earlier run: report and fail only on findings not in it.")
@click.option("--write-baseline", type=click.Path(dir_okay=False),
              help="Also write the JSON report here, for a later --baseline.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here (atomically).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "note", "never"]),
              help="Lowest severity that makes the exit code 1 [config, default: error].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Config file (default: .tuneahead.toml or pyproject.toml found upwards).")
@click.option("--select", help="Comma-separated rule ids/names/prefixes to run.")
@click.option("--ignore", help="Comma-separated rule ids/names/prefixes to skip.")
@click.option("--input-format", help="Force the input format of every file (see `formats`).")
@click.option("--fast", is_flag=True, help="Record checks only: no embeddings or perplexity.")
@click.option("--features", "show_features", is_flag=True, help="Print the full feature vector.")
@click.option("--base-model", help="HF model id or local path (default: embedded SmolLM2-135M-Instruct).")
@click.option("--embedder", help="sentence-transformers id or path (default: embedded all-MiniLM-L6-v2).")
@click.option("--seed", type=int, help="Seed of every sample and of the probe [default: 0].")
@click.option("--probe", is_flag=True, default=None, help="Run the short LoRA probe (dynamic features).")
@click.option("--probe-steps", type=click.IntRange(1), help="Probe optimizer steps.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Probe learning rate.")
@click.option("--batch-size", type=click.IntRange(1), help="Probe batch size.")
@click.option("--lora-r", type=click.IntRange(1), help="Probe LoRA rank.")
@click.option("--lora-alpha", type=click.IntRange(1), help="Probe LoRA alpha [32].")
@click.option("--max-len", type=click.IntRange(8), help="Probe tokens per record (longer ones are cut) [256].")
@click.option("--min-score", type=float,
              help="Gate: verdict no-go (exit 1) when the prediction interval's upper end is below this "
                   "[config min-score; default: the base model's score].")
@click.option("--gate-target",
              help="Target of a multi-target predictor bundle the gate reads (verdict, exit code, TA401, "
                   "--min-score in its units), e.g. y_indomain [config gate-target; default: the bundle's "
                   "top-level target, else y_general_acc].")
@click.option("--model", help="Predictor folder, or name under models/ [tuneahead-smollm2-135m].")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Write a waterfall plot of the prediction's SHAP attributions (.png or .svg).")
@click.option("--eval-set", "eval_sets", multiple=True, type=click.Path(dir_okay=False),
              help="Your own benchmark file for TA119 contamination (repeatable; config: rules.TA119.eval_sets).")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: when a TTY).")
@click.option("--ray-address", help="Run the embedding and the candidate search on a Ray cluster: 'local' (start "
                                    "one here), 'auto' or ray://host:10001 [config ray-address]. Same results.")
def lint_cmd(paths: tuple[str, ...], out_format: str, output: str | None, fail_on: str | None,
             config_file: str | None, select: str | None, ignore: str | None,
             input_format: str | None, fast: bool, show_features: bool, base_model: str | None,
             embedder: str | None, seed: int | None, probe: bool | None, probe_steps: int | None,
             lr: float | None, batch_size: int | None, lora_r: int | None,
             lora_alpha: int | None, max_len: int | None, min_score: float | None, gate_target: str | None,
             model: str | None, plot: str | None,
             eval_sets: tuple[str, ...], color: bool | None, show_all: bool = False,
             baseline: str | None = None, write_baseline: str | None = None,
             ray_address: str | None = None) -> None:
    """Lint PATHS (files or directories of .jsonl/.json/.gz/.parquet)."""
    from tuneahead_lint.config import config_for_run
    from tuneahead_lint.pipeline import LintOptions, lint
    from tuneahead_lint.reporters import Format, render
    from tuneahead_lint.ruleset.registry import load_rules

    rules = load_rules()
    config = config_for_run(config_file, paths, rules, select, ignore, eval_sets)
    probe_params = {k: v for k, v in (("steps", probe_steps), ("lr", lr),
                                       ("batch_size", batch_size), ("lora_r", lora_r),
                                       ("lora_alpha", lora_alpha), ("max_len", max_len)) if v is not None}
    interactive = output is None and sys.stdout.isatty()
    opts = LintOptions(input_format=input_format, features=False if fast else None, probe=probe,
                       base_model=base_model, embedder=embedder, seed=seed,
                       probe_params=probe_params, progress=sys.stderr.isatty(),
                       model=model, min_score=min_score, gate_target=gate_target,
                       ray_address=ray_address)
    if plot and Path(plot).suffix.lower() not in (".png", ".svg"):
        raise UserError(f"{plot}: --plot writes .png or .svg")
    accepted = _load_baseline(baseline) if baseline else None  # a bad file fails before the lint
    report = lint(list(paths), config, opts, rules)
    if plot:
        _write_plot(report, plot)
    if write_baseline:
        write_atomic(write_baseline, render(report, Format.JSON, rules))
    gate = report
    if accepted is not None:
        report = _apply_baseline(report, baseline, accepted, rules)
        gate = dataclasses.replace(report, prediction=None)  # only new findings fail the gate
    use_color = interactive if color is None else color
    snippets = _snippets(report, input_format) if out_format == "html" else ()
    text = render(report, Format(out_format), rules, color=use_color and out_format == "text",
                  show_features=show_features, show_all=show_all,
                  max_lines=int(config.get("max-lines-shown")), snippets=snippets)
    if output:
        write_atomic(output, text)
    else:
        click.echo(encodable(text), nl=not text.endswith("\n"))
    raise SystemExit(exit_code(gate, fail_on or config.get("fail-on")))


def _load_baseline(path: str):
    """Fingerprints of the baseline at ``path`` (a UserError when unreadable)."""
    from tuneahead_lint import baseline as bl

    try:
        return bl.load(path)
    except bl.BaselineError as exc:
        raise UserError(str(exc)) from None


def _apply_baseline(report, path: str, accepted, rules):
    """The report cut to the findings not in the baseline; says on stderr
    how many are new and how many old ones remain."""
    from tuneahead_lint import baseline as bl

    result = bl.apply(report, accepted, rules)
    click.echo(f"tuneahead-lint: {bl.summary_line(path, result)}", err=True)
    return result.report


def _snippets(report, input_format: str | None) -> tuple:
    from tuneahead_lint.reporters.snippets import collect_snippets

    return collect_snippets(report, input_format)


def _write_plot(report, path: str) -> None:
    """Waterfall of the prediction's attributions; a UserError when there is none."""
    detail = report.prediction_detail
    if report.prediction is None or detail is None:
        why = next((s.reason for s in report.skipped if s.rule_id.startswith("TA4")), "no prediction")
        raise UserError(f"{path}: nothing to plot ({why})")
    from tuneahead_lint.predict.explain import waterfall
    from tuneahead_lint.reporters.text import skill_phrase

    title = f"{report.prediction.model}: SHAP attributions ({detail.unit})\n{skill_phrase(detail.model_skill)}"
    try:
        waterfall(path, detail.attributions, detail.expected_score, report.prediction.score,
                  detail.points_per_unit, title=title, unit=detail.unit)
    except OSError as exc:
        raise UserError(f"{path}: cannot write plot: {exc.strerror or exc}") from None


def exit_code(report, fail_on: str) -> int:
    """1 when a finding reaches ``fail_on`` or the predictor says no-go."""
    if report.prediction is not None and report.prediction.verdict == "no-go":
        return EXIT_FINDINGS
    if fail_on == "never":
        return EXIT_OK
    from tuneahead_lint.types import Severity

    floor = Severity(fail_on).rank
    return EXIT_FINDINGS if any(f.severity.rank >= floor for f in report.findings) else EXIT_OK


@cli.command("rules")
@click.argument("rule_id", required=False)
@click.option("--markdown", is_flag=True, help="Print the README rule table.")
def rules_cmd(rule_id: str | None, markdown: bool) -> None:
    """List the rules, or print the documentation of RULE_ID."""
    from tuneahead_lint.ruleset.registry import find_rule, load_rules, markdown_table

    rules = load_rules()
    if markdown:
        click.echo(markdown_table(rules), nl=False)
        return
    if rule_id:
        rule = find_rule(rule_id, rules)
        if rule is None:
            raise UserError(f"unknown rule {rule_id!r} (see `tuneahead-lint rules`)")
        click.echo(rule.full_doc())
        return
    for r in rules:
        needs = f"  [needs {', '.join(x for x in r.requires if x != 'records')}]" if set(r.requires) - {"records"} else ""
        click.echo(f"{r.id}  {r.name:<28} {r.severity.value:<8} {r.summary}{needs}")


@cli.command("formats")
def formats_cmd() -> None:
    """List the input formats the readers detect."""
    from tuneahead_lint.readers import FORMATS

    for name in FORMATS:
        click.echo(name)


@cli.command("fix")
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", help="Write the fixed data here (a folder for several inputs).")
@click.option("--in-place", is_flag=True, help="Replace each input atomically, keeping FILE.bak.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write no data file.")
@click.option("--log", type=click.Path(dir_okay=False), help="Write the removal log here (.jsonl: JSON Lines; also with --dry-run).")
@click.option("--exact-dedup/--no-exact-dedup", default=True, help="Drop exact duplicates (TA106).")
@click.option("--semantic-dedup/--no-semantic-dedup", default=True, help="Drop near-duplicates (embeddings).")
@click.option("--lexical-dedup/--no-lexical-dedup", default=True,
              help="Drop lexical near-duplicates (TA121, word 3-gram Jaccard; also with --fast), keeping the first.")
@click.option("--dedup-threshold", type=click.FloatRange(0, 1), default=0.95, show_default=True,
              help="Cosine similarity at which records are near-duplicates.")
@click.option("--outliers/--no-outliers", default=True, help="Drop embedding outliers.")
@click.option("--outlier-sigma", type=click.FloatRange(min=0, min_open=True), default=3.0,
              show_default=True, help="z-score above which a record is an outlier.")
@click.option("--outlier-method", type=click.Choice(["sigma", "robust"]), default="sigma", show_default=True,
              help="Outlier score: z-score (mean/std) or robust z (median/MAD).")
@click.option("--mismatched/--keep-mismatched", default=False,
              help="Drop responses that answer another record's prompt (TA207, embeddings; off by default: "
                   "its flags on the shared sets were mostly open-ended prompts, read them first).")
@click.option("--outlier-k", type=click.IntRange(1), default=10, show_default=True,
              help="Score a record by its cosine distance to its k-th nearest record.")
@click.option("--drop-empty/--keep-empty", default=True, help="Drop empty and broken records (TA0xx, TA101, TA102).")
@click.option("--strip-templates/--no-strip-templates", default=True, help="Strip template markup (TA105).")
@click.option("--content/--no-content", default=True,
              help="Drop records the content rules flag: gibberish, blobs, web markup, off-language, language/script "
                   "mismatch, PII, secrets, refusals, loops from rep-3 0.8 (TA107-TA114, TA116, TA204).")
@click.option("--repair-mojibake/--no-repair-mojibake", default=True, help="Repair encoding damage with ftfy (TA115).")
@click.option("--redact-pii", is_flag=True, help="Replace PII by [EMAIL], [PHONE], [CARD] ... instead of dropping (TA113).")
@click.option("--drop-flagged/--keep-flagged", default=True,
              help="Drop conflicting (TA117, whole group), truncated (TA118) and benchmark-contaminated (TA119) records.")
@click.option("--eval-set", "eval_sets", multiple=True, type=click.Path(dir_okay=False),
              help="Your own benchmark file for TA119 (repeatable; config: rules.TA119.eval_sets).")
@click.option("--fast", is_flag=True, help="Record-level remedies only: no embeddings.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file.")
@click.option("--input-format", help="Force the input format of every file (see `formats`).")
@click.option("--embedder", help="sentence-transformers id or path (default: embedded all-MiniLM-L6-v2).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Planned learning rate [2e-4].")
def fix_cmd(**kwargs) -> None:
    """Apply the remedies the findings name to PATHS; log every change; re-lint."""
    from tuneahead_lint.fix.command import fix_command

    fix_command(**kwargs)


@cli.group("meta")
def meta_group() -> None:
    """Build the meta-dataset of fine-tuning runs (ground truth for the predictor)."""


def _add_meta_commands() -> None:
    from tuneahead_lint.meta.commands import COMMANDS  # click + stdlib only

    for command in COMMANDS:
        meta_group.add_command(command)


_add_meta_commands()


def _add_predict_commands() -> None:
    from tuneahead_lint.predict.commands import COMMANDS  # click + stdlib only

    for command in COMMANDS:
        meta_group.add_command(command)


_add_predict_commands()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI and map every error to a one-line message."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="tuneahead-lint",
                 standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except click.exceptions.Abort:
        click.echo("tuneahead-lint: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(encodable(f"tuneahead-lint: error: {exc.format_message()}"), err=True)
        return EXIT_USAGE
    except UserError as exc:
        click.echo(encodable(f"tuneahead-lint: error: {exc}"), err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, no traceback
        if os.environ.get("TUNEAHEAD_DEBUG"):
            raise
        click.echo(encodable(f"tuneahead-lint: internal error: {type(exc).__name__}: {exc} "
                             "(rerun with TUNEAHEAD_DEBUG=1 for the traceback)"), err=True)
        return EXIT_INTERNAL
    return EXIT_OK


def entry() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
