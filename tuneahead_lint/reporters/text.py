"""Human-readable report for terminals and CI logs (the only rich user).

Sections, in order: dataset summary, findings (one block per rule: counts,
the first few findings, "N more"; every finding with ``show_all``), skipped
rules, features, prediction, summary, tally. Rendered on a rich Console writing to a string with a
fixed width and no colour unless asked, so the text is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from io import StringIO

from rich import box
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tuneahead_lint.reporters._common import (
    SEVERITIES, RenderOptions, divergence_warnings, lines_total, ordered, ordered_skipped, plural, records_named,
    rules_by_id, severity_counts, skill_warning, tally,
)
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import (
    SHOWN_ATTRIBUTION, Attribution, DivergencePrediction, DivergenceSkill, Finding, Measure, ModelSkill, Prediction,
    PredictionDetail, ProbeRun, Report, Summary, TargetPrediction,
)

SHOWN_LINES = 5  # offending lines listed per finding before "… and N more"
EXAMPLES_PER_RULE = 3  # findings listed per rule unless show_all (fewer when many rules fire)
EXAMPLE_BUDGET = 18  # findings listed in all, at least one per rule
SHOWN_FILES = 5  # rows of the per-file table unless show_all
SHORT_FEATURES = 8  # features listed unless show_features
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


class TextRenderer:
    """Renders a :class:`Report` as plain (or coloured) terminal text."""

    def __init__(self, rules: tuple[Rule, ...] = (), options: RenderOptions = RenderOptions()) -> None:
        self.rules = rules_by_id(rules)
        self.options = options
        self._examples = EXAMPLES_PER_RULE
        self._one_file = False

    def render(self, report: Report) -> str:
        """The report as text ending in a newline."""
        console = self._console()
        for block in self._blocks(report):
            console.print(block)
            console.print()
        console.print(Text(tally(report.findings, len(report.summary.files)), style="bold"))
        # rich pads grid cells to their column width; drop that padding
        return "".join(line.rstrip() + "\n" for line in console.file.getvalue().splitlines())

    def _console(self) -> Console:
        color = self.options.color
        return Console(file=StringIO(), width=self.options.width, height=25,
                       color_system="standard" if color else None, force_terminal=color,
                       no_color=not color, legacy_windows=False, markup=False,
                       emoji=False, highlight=False, soft_wrap=False)

    def _blocks(self, report: Report) -> list[RenderableType]:
        config = report.config_path or "none (built-in defaults)"
        blocks: list[RenderableType] = [Text(f"tuneahead-lint {report.tool_version}  config: {config}", style="bold")]
        blocks += summary_blocks(report.summary, None if self.options.show_all else SHOWN_FILES)
        groups = by_rule(report.findings)
        self._examples = examples_per_rule(len(groups))
        self._one_file = len(report.summary.files) == 1 and not self.options.show_all
        blocks += [self._rule_block(fs) for fs in groups]
        if report.skipped:
            blocks.append(self._skipped(report))
        if report.features and (report.prediction is None or self.options.show_features):
            # with a prediction, the SHAP table shows the features that move it
            blocks.append(features_table(report.features, self.options.show_features))
        if report.probe_run is not None:
            blocks.append(probe_line(report.probe_run))
        if report.prediction is not None:
            blocks.append(prediction_block(report.prediction, report.prediction_detail))
        if report.targets:
            blocks.append(targets_block(report.targets))
        if report.divergence is not None:
            blocks.append(divergence_block(report.divergence))
        blocks.append(self._summary(report))
        return blocks

    def _rule_block(self, findings: list[Finding]) -> RenderableType:
        """One rule: counts, the first few findings (all with show_all), its remedy."""
        first = findings[0]
        shown = findings if self.options.show_all else findings[:self._examples]
        head = Text.assemble((f"{first.rule_id} {first.rule_name}", "bold"), "  ",
                             (first.severity.value, SEVERITY_STYLE[first.severity.value]),
                             "  ", self._counts(findings))
        body: list[RenderableType] = []
        for path, group in by_path(shown):
            if self._one_file:  # the dataset table above names the file
                body += [row for f in group for row in self._example(f)]
                continue
            body.append(Text(path, style="bold", overflow="fold"))
            body += [Padding(row, (0, 0, 0, 2)) for f in group for row in self._example(f)]
        if len(findings) > len(shown):
            body.append(Text(f"… and {len(findings) - len(shown)} more (--show-all lists every finding)",
                             style="dim"))
        if first.remedy:
            body.append(Text.assemble(("fix: ", "green"), first.remedy))
        return _stack(head, *[Padding(t, (0, 0, 0, 2)) for t in body])

    def _counts(self, findings: list[Finding]) -> str:
        rule = self.rules.get(findings[0].rule_id)
        text = plural(len(findings), "finding")
        if rule is not None and rule.category in ("input", "record"):
            text += ", " + plural(sum(records_named(f) for f in findings), "record")
        return text

    def _example(self, f: Finding) -> list[RenderableType]:
        """``line 12  message`` (``file  message`` for a whole-file finding)
        and, indented, its other lines and related places."""
        where = f"line {f.line}" if f.line else "file"
        rows: list[RenderableType] = [Text.assemble((where, "bold"), "  ", f.message, overflow="fold")]
        more = []
        if len(f.lines) > 1:
            more.append(Text(lines_text(f, self.options.max_lines), style="dim"))
        if f.related and not all(f"{p}:{n}" in f.message for p, n in f.related):
            related = (related_text(f, self.options.max_lines) if self.options.show_all
                       else f"related: {plural(len(f.related), 'place')} in other files (--show-all lists them)")
            more.append(Text(related, style="dim", overflow="fold"))
        return rows + [Padding(t, (0, 0, 0, 2)) for t in more]

    def _summary(self, report: Report) -> RenderableType:
        """Records, findings per severity, prediction and verdict, where the rest is."""
        counts = severity_counts(report.findings)
        rules = len({f.rule_id for f in report.findings})
        rows = [f"records: {number(report.summary.records)} in {plural(len(report.summary.files), 'file')}",
                "findings: " + ", ".join(plural(counts[s.value], s.value) for s in SEVERITIES)
                + f" ({plural(len(report.findings), 'finding')} of {plural(rules, 'rule')})",
                "prediction: " + prediction_summary(report)]
        hidden = self._hidden(report.findings)
        if hidden:
            rows.append(f"not shown: {plural(hidden, 'finding')}; the full report: --show-all, "
                        "or --format json|html|sarif -o FILE")
        return _stack(Text("Summary", style="bold"), *[Padding(Text(r), (0, 0, 0, 2)) for r in rows])

    def _hidden(self, findings) -> int:
        if self.options.show_all:
            return 0
        groups = by_rule(findings)
        return sum(max(len(fs) - examples_per_rule(len(groups)), 0) for fs in groups)

    def _rule_names(self, ids: list[str]) -> str:
        """'TA301 loss-spike' for one rule, the ids alone for a group."""
        rule = self.rules.get(ids[0])
        return f"{ids[0]} {rule.name}" if len(ids) == 1 and rule else ", ".join(ids)

    def _skipped(self, report: Report) -> RenderableType:
        # one row per reason: a dozen predictor rules share one cause
        by_reason: dict[str, list[str]] = {}
        for s in ordered_skipped(report.skipped):
            by_reason.setdefault(s.reason, []).append(s.rule_id)
        rows = [Padding(Text.assemble((self._rule_names(ids), "bold"), f": {reason}"), (0, 0, 0, 2))
                for reason, ids in by_reason.items()]
        return _stack(Text("Skipped rules", style="bold"), *rows)


def _stack(*items: RenderableType) -> Table:
    """Renderables one under another, without borders or padding."""
    grid = Table.grid()
    for item in items:
        grid.add_row(item)
    return grid


def examples_per_rule(n_rules: int) -> int:
    """Findings listed per rule: 3, fewer when many rules fire (the report
    stays short), never none."""
    return max(1, min(EXAMPLES_PER_RULE, EXAMPLE_BUDGET // max(n_rules, 1)))


def by_path(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Consecutive findings grouped by file, in order of first appearance."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.path, []).append(f)
    return list(groups.items())


def by_rule(findings) -> list[list[Finding]]:
    """Findings grouped by rule, worst severity first, then by rule id; each
    group in report order."""
    groups: dict[str, list[Finding]] = {}
    for f in ordered(findings):
        groups.setdefault(f.rule_id, []).append(f)
    return sorted(groups.values(), key=lambda fs: (-fs[0].severity.rank, fs[0].rule_id))


def lines_text(f: Finding, shown_lines: int = SHOWN_LINES) -> str:
    """``line 12`` or ``lines 3, 40, 41, 57, 88 … and 18 more``."""
    shown = f.lines[:shown_lines]
    more = lines_total(f) - len(shown) - len(f.related)
    text = ("line " if len(f.lines) == 1 else "lines ") + ", ".join(map(str, shown))
    return text + (f" … and {more} more" if more > 0 else "")


def related_text(f: Finding, shown_lines: int = SHOWN_LINES) -> str:
    """``related: other.jsonl:5, other.jsonl:17 … and 3 more``."""
    shown = ", ".join(f"{p}:{n}" for p, n in f.related[:shown_lines])
    more = len(f.related) - shown_lines
    return f"related: {shown}" + (f" … and {more} more" if more > 0 else "")


def prediction_summary(report: Report) -> str:
    """``0.6123 (0.5712–0.6549), verdict go; grouped-CV skill +0.24 ± 0.14``
    or why there is none."""
    p = report.prediction
    if p is None:
        why = next((s.reason for s in ordered_skipped(report.skipped) if s.rule_id.startswith("TA4")), "")
        return "none" + (f" ({why})" if why else "")
    verdict = f", verdict {p.verdict}" if p.verdict else ""
    gate = next((f"{t.target} (gate) " for t in report.targets if t.gate), "")
    cv = report.prediction_detail.model_skill if report.prediction_detail else None
    return f"{gate}{number(p.score)} ({number(p.low)}–{number(p.high)}){verdict}; {skill_phrase(cv)}"


def skill_phrase(cv: ModelSkill | None) -> str:
    """``grouped-CV skill +0.02 ± 0.11 no skill`` or ``no measured skill``."""
    return "no measured skill" if cv is None or cv.skill is None else f"grouped-CV skill {skill_text(cv)}"


def trust_text(cv: ModelSkill | None) -> str:
    """:func:`skill_phrase` and, when not to rely on the number, why."""
    warning = skill_warning(cv)
    return skill_phrase(cv) + (f"; warning: {warning}" if warning else "")


def number(x: float | None) -> str:
    """Compact display of a measured value: ``1,204``, ``143.2``, ``0.074``,
    ``n/a`` for None/NaN/inf."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 1000 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.4g}"


def summary_blocks(summary: Summary, max_files: int | None = None) -> list[RenderableType]:
    """Dataset line, per-file table (the first ``max_files`` rows) and length statistics."""
    formats = ", ".join(f"{name} {number(n)}" for name, n in summary.formats)
    n_files = len(summary.files)
    head = Text(f"Dataset: {number(summary.records)} records in {n_files} "
                f"file{'s' * (n_files != 1)}" + (f" ({formats})" if formats else ""), style="bold")
    table = _table("file", "records", "unreadable", "format", numeric=2)
    files = sorted(summary.files, key=lambda f: f.path)
    for f in files[:max_files]:
        table.add_row(f.path, number(f.records), number(f.unreadable), f.format)
    rows: list[RenderableType] = [head, table]
    if max_files is not None and len(files) > max_files:
        rows.append(Text(f"… and {len(files) - max_files} more files (--show-all lists them)", style="dim"))
    blocks: list[RenderableType] = [_stack(*rows)]
    if summary.stats:
        blocks.append(stats_table(summary.stats))
    return blocks


def _table(*columns: str, numeric: int = 1) -> Table:
    """Borderless table; the first column is text, the next ``numeric`` are
    right-aligned numbers, any others text."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if 0 < i <= numeric else "left")
    return table


def stats_table(stats: tuple[tuple[str, float], ...]) -> Table:
    """Stats named ``<quantity>_<statistic>`` (``prompt_chars_mean``) as a
    quantity x statistic table."""
    cells: dict[str, dict[str, float]] = {}
    columns: list[str] = []
    for name, value in stats:
        row, _, col = name.rpartition("_") if "_" in name else (name, "", "value")
        cells.setdefault(row, {})[col] = value
        columns += [col] if col not in columns else []
    table = _table("stats", *columns, numeric=len(columns))
    for row, values in cells.items():
        table.add_row(row, *[number(values[c]) if c in values else "" for c in columns])
    return table


def features_table(features: tuple[tuple[str, Measure], ...], full: bool) -> RenderableType:
    """Feature vector: the first few features, or all of them with refs."""
    shown = features if full else features[:SHORT_FEATURES]
    columns = ("feature", "value", "detail", "refs") if full else ("feature", "value", "detail")
    table = _table(*columns)
    for name, m in shown:
        refs = [", ".join(f"{p}:{n}" for p, n in m.refs)] if full else []
        table.add_row(name, number(m.value), m.detail, *refs)
    title = f"Features ({len(shown)} of {len(features)}" + ("" if full else "; --features lists all") + ")"
    return _stack(Text(title, style="bold"), table)


def probe_line(run: ProbeRun) -> RenderableType:
    """``probe: 20 of 20 steps on cpu (lr 0.0002, batch 4, LoRA r16/alpha 32, 256 tokens, seed 0)``."""
    planned = run.steps
    steps = f"{run.steps_run} of {planned}" if planned not in (None, run.steps_run) else f"{run.steps_run}"
    hp = ", ".join(x for x in (
        f"lr {run.lr:g}" if run.lr is not None else "",
        f"batch {run.batch_size}" if run.batch_size is not None else "",
        f"LoRA r{run.lora_r}/alpha {run.lora_alpha}" if run.lora_r is not None else "",
        f"{run.max_len} tokens" if run.max_len is not None else "",
        f"seed {run.seed}" if run.seed is not None else "") if x)
    return Text(f"probe: {steps} steps on {run.device} ({hp})", style="dim")


def prediction_block(p: Prediction, detail: PredictionDetail | None = None) -> RenderableType:
    """Predicted score with interval, base score, verdict and OOD warning;
    with the predict stage's ``detail``, also min-score, the model's skill,
    the planned hyperparameters and the largest SHAP attributions."""
    rows: list[RenderableType] = [Text(score_line(p, detail))]
    if p.verdict:
        style = {"go": "bold green", "no-go": "bold red"}.get(p.verdict, "bold yellow")
        reason = detail.verdict_reason if detail else ""
        rows.append(Text.assemble("verdict: ", (p.verdict, style), f" ({reason})" if reason else ""))
    rows += _trust_rows(detail.model_skill if detail else None, detail.unit if detail else "points")
    if not p.in_distribution:
        rows.append(Text("note: this dataset is outside the predictor's training distribution; "
                         "treat the score as a rough guide", style="yellow"))
    if detail is not None:
        rows += _prediction_detail(detail)
    return _stack(Text(f"Prediction (model {p.model})", style="bold"),
                  *[Padding(r, (0, 0, 0, 2)) for r in rows])


def score_line(p: Prediction, detail: PredictionDetail | None = None) -> str:
    """``score 0.5887 (interval 0.5495–0.615); base model 0.5775 (+1.12 points)``;
    a target whose unit is the target's own (nats) carries it on the score."""
    own = f" {detail.unit}" if detail and detail.points_per_unit == 1 else ""
    interval = (f"{number(p.low)}–{number(p.high)}{own}" if math.isfinite(p.high - p.low)
                else "unbounded: too few calibration runs")
    score = f"score {number(p.score)}{own} (interval {interval})"
    return score + (f"; base model {base_text(p, detail)}" if p.base_score is not None else "")


def base_text(p: Prediction, detail: PredictionDetail | None = None) -> str:
    """``0.5775 (+1.12 points)``: the base model's value and the predicted
    change in the target's report unit; ``n/a`` when unknown."""
    if p.base_score is None:
        return "n/a"
    if detail is None:  # a hand-made prediction: unit unknown
        return f"{number(p.base_score)} ({p.score - p.base_score:+.3g})"
    own = f" {detail.unit}" if detail.points_per_unit == 1 else ""
    return f"{number(p.base_score)}{own} ({(p.score - p.base_score) * detail.points_per_unit:+.3g} {detail.unit})"


def unit_text(detail: PredictionDetail) -> str:
    """``performance (points: target units x 100)`` or ``y_indomain (nats)``."""
    scale = "" if detail.points_per_unit == 1 else f": target units x {number(detail.points_per_unit)}"
    return f"{detail.target or 'score'} ({detail.unit}{scale})"


def skill_words(cv: ModelSkill | None, unit: str = "points") -> str:
    """``grouped-CV skill +0.02 ± 0.11 (RMSE 1.899 vs 1.978 points for the
    training mean); go/no-go right on 57% of clear runs``."""
    if cv is None or cv.skill is None:
        return "no grouped-CV skill recorded"
    acc = cv.gate_accuracy
    gate = f"; go/no-go right on {acc:.0%} of clear runs" if acc is not None else ""
    return (f"grouped-CV skill {cv.skill:+.2f} ± {_se(cv.skill_se)} (RMSE {number(cv.rmse)} vs "
            f"{number(cv.rmse_mean)} {unit} for the training mean){gate}")


def _trust_rows(cv: ModelSkill | None, unit: str = "points") -> list[RenderableType]:
    """The model card's grouped-CV skill and gate accuracy; a plain warning
    when the model predicts no better than the training mean or its skill
    was never measured."""
    rows: list[RenderableType] = [Text(f"trust: {skill_words(cv, unit)}", style="dim")]
    warning = skill_warning(cv)
    if warning:
        rows.append(Text(f"warning: {warning}", style="bold yellow"))
    return rows


def _prediction_detail(detail: PredictionDetail) -> list[RenderableType]:
    rows: list[RenderableType] = []
    if detail.min_score is not None:
        rows.append(Text(f"min-score {number(detail.min_score)}"))
    if detail.hparams:
        rows.append(Text("planned hyperparameters: " + ", ".join(
            f"{h.feature} {number(h.value)} ({h.source})" for h in detail.hparams)))
    if detail.attributions:
        rows.append(attributions_table(detail.attributions, detail.expected_score, detail.points_per_unit,
                                       detail.unit))
    return rows


def attributions_table(attributions: Sequence[Attribution], expected: float | None,
                       points_per_unit: float, unit: str = "points") -> RenderableType:
    """The largest SHAP attributions (in ``unit``), with the successful-run range."""
    cut = SHOWN_ATTRIBUTION.get(unit, 0.005)
    ranked = sorted((a for a in attributions if abs(a.points) >= cut), key=lambda a: (-abs(a.points), a.feature))
    table = _table("feature", "value", unit, "successful runs", numeric=2)
    for a in ranked[:SHORT_FEATURES]:
        lo, hi = a.success_low, a.success_high
        span = "none" if lo is None else number(lo) if lo == hi else f"{number(lo)}–{number(hi)}"
        table.add_row(a.feature, number(a.value), shap_text(a.points, unit), span)
    base = f"from the expected {number(expected * points_per_unit)} {unit}" if expected is not None else ""
    title = (f"SHAP attributions, {unit} ({min(len(ranked), SHORT_FEATURES)} largest of {len(ranked)} "
             f"nonzero, {base})")
    return _stack(Text(title), table)


def shap_text(x: float, unit: str = "points", sign: str = "+") -> str:
    """A SHAP attribution or score in ``unit``: ``+0.31`` points (two
    decimals), ``+9.9e-05`` nats (two significant digits: loss targets move
    by hundredths of a nat)."""
    return f"{x:{sign}.2f}" if unit == "points" else f"{x:{sign}.2g}"


def in_unit(x: float, ppu: float, unit: str = "nats") -> str:
    """A target value in its report unit (target units x points per unit);
    signed in nats (a change from the base model), plain in points (a score)."""
    return "n/a" if not math.isfinite(x) else f"{x * ppu:+.3g}" if unit == "nats" else f"{x * ppu:.3g}"


def skill_text(cv: ModelSkill | None) -> str:
    """``+0.24 ± 0.14`` (``no skill`` appended when not above its SE), or ``none``."""
    if cv is None or cv.skill is None:
        return "none"
    return f"{cv.skill:+.2f} ± {_se(cv.skill_se)}" + (" no skill" if cv.no_skill else "")


def _se(se: float | None) -> str:
    return "n/a" if se is None or not math.isfinite(se) else f"{se:.2f}"


def interval_text(p: Prediction, ppu: float, unit: str = "nats") -> str:
    """``-0.00026 to +0.00242`` in the target's unit, or ``unbounded``."""
    if not math.isfinite(p.high - p.low):
        return "unbounded"
    return f"{in_unit(p.low, ppu, unit)} to {in_unit(p.high, ppu, unit)}"


def target_head(t: TargetPrediction) -> str:
    """``y_indomain (nats): +0.0015 (interval ...; base model +0), verdict go``."""
    p, ppu = t.prediction, t.detail.points_per_unit
    base = "n/a" if p.base_score is None else in_unit(p.base_score, ppu, t.unit)
    return (f"{t.target} ({t.unit}){' [gate]' if t.gate else ''}: {in_unit(p.score, ppu, t.unit)} "
            f"(interval {interval_text(p, ppu, t.unit)}; base model {base}), verdict {p.verdict or 'none'}")


def target_trust(t: TargetPrediction) -> str:
    """The model card's skill and go/no-go accuracy for one target."""
    cv = t.detail.model_skill
    if cv is None:
        return "skill: the model card records no grouped cross-validation"
    acc = "" if cv.gate_accuracy is None else f"; go/no-go right on {cv.gate_accuracy:.0%} of clear runs"
    return (f"skill {skill_text(cv)} (grouped CV: RMSE {number(cv.rmse)} vs {number(cv.rmse_mean)} {t.unit} "
            f"for the training mean){acc}")


def target_rows(t: TargetPrediction) -> list[RenderableType]:
    """The target's :func:`target_head` and, indented, its :func:`target_trust`."""
    style = "yellow" if skill_warning(t.detail.model_skill) else "dim"
    return [Text(target_head(t)), Padding(Text(target_trust(t), style=style), (0, 0, 0, 2))]


def targets_block(targets: Sequence[TargetPrediction]) -> RenderableType:
    """Every target of a multi-target bundle: prediction and interval in its
    unit, base model, verdict and the model card's grouped-CV skill."""
    rows: list[RenderableType] = [r for t in targets for r in target_rows(t)]
    if any(t.detail.model_skill is None or t.detail.model_skill.no_skill for t in targets):
        rows.append(Text("warning: a target whose skill is not above its standard error (\"no skill\") predicts "
                         "new datasets no better than its training mean: do not rely on its number",
                         style="yellow"))
    title = "Predicted targets (the gate target decides the verdict and exit code; --gate-target picks it)"
    return _stack(Text(title, style="bold"), *[Padding(r, (0, 0, 0, 2)) for r in rows])


def divergence_text(cv: DivergenceSkill | None) -> str:
    """The classifier's grouped-CV Brier and AUC in words."""
    if cv is None or cv.brier is None:
        return "the model card records no grouped cross-validation"
    auc = "n/a" if cv.auc is None else f"{cv.auc:.2f} ± {_se(cv.auc_se)}"
    if cv.auc_pooled is not None:
        auc += f" per fold, {cv.auc_pooled:.2f} pooled"
    skill = "n/a" if cv.brier_skill is None else f"{cv.brier_skill:+.2f} ± {_se(cv.brier_skill_se)}"
    return (f"grouped-CV Brier {cv.brier:.3f} vs {number(cv.brier_base)} for the base rate (skill {skill}), "
            f"AUC {auc}; {cv.diverged_runs} of {cv.runs} training runs diverged")


def probability_text(d: DivergencePrediction) -> str:
    """``P(diverged) 0.321 (training base rate 0.176)``."""
    base = "" if d.base_rate is None else f" (training base rate {d.base_rate:.3f})"
    return f"P(diverged) {d.probability:.3f}{base}"


def divergence_block(d: DivergencePrediction) -> RenderableType:
    """P(diverged) with the classifier's measured skill, and what it lacks."""
    rows: list[RenderableType] = [Text(f"{probability_text(d)}: {divergence_text(d.skill)}")]
    rows += [Text(f"warning: {w}", style="bold yellow") for w in divergence_warnings(d)]
    return _stack(Text(f"Divergence (model {d.model})", style="bold"), *[Padding(r, (0, 0, 0, 2)) for r in rows])
