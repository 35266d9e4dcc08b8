"""One self-contained HTML page: ``--format html -o report.html``.

Works offline: no remote script, style, font or image (a Content-Security-
Policy forbids them); the SHAP waterfall and the feature ranges are inline
SVG; one small inline script filters the findings. Every piece of data is
HTML-escaped. Record texts (near-duplicate clusters, flagged records) come
from ``RenderOptions.snippets``, which the CLI reads for this format only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from tuneahead_lint.reporters._common import (
    SEVERITIES, RenderOptions, divergence_warnings, lines_total, ordered, ordered_skipped, per_record, plural,
    rules_by_id, severity_counts, skill_warning, tally,
)
from tuneahead_lint.reporters.text import (
    base_text, by_rule, divergence_text, in_unit, interval_text, number, probability_text, shap_text, skill_text,
    skill_words, unit_text,
)
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Attribution, Finding, Prediction, PredictionDetail, Report, TargetPrediction

MAX_FINDINGS_PER_RULE = 500  # rows per rule table; the JSON report has every one
MAX_CLUSTERS = 20  # near-duplicate clusters shown side by side
MAX_CLUSTER_MEMBERS = 4
MAX_FLAGGED = 100  # flagged records shown with their text
WATERFALL_BARS = 12

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;
padding:16px 24px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;text-align:left;vertical-align:top;
border-bottom:1px solid #eee;overflow-wrap:anywhere}table.findings{table-layout:fixed}
table.findings tr>:first-child{width:28%}table.findings tr>:last-child{width:26%}th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.go{background:#1a7f37}.no-go{background:#cf222e}.none{background:#6e7781}
.error{color:#cf222e;font-weight:600}.warning{color:#9a6700;font-weight:600}.note{color:#0969da}
.cards{display:flex;gap:8px;overflow-x:auto;margin:6px 0 14px}.card{flex:1 1 0;min-width:200px;
border:1px solid #ddd;border-radius:6px;padding:6px 8px;background:#fafafa}
.card pre,.rec pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-size:12px;max-height:180px;
overflow:auto}.where{font-family:ui-monospace,monospace;font-size:12px;color:#57606a}
.filters{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ddd}
details{margin:6px 0}summary{cursor:pointer}.dim{color:#6e7781}.rec{border-left:3px solid #ddd;
padding:2px 10px;margin:8px 0}
"""

SCRIPT = """
(function(){
  var q=document.getElementById('q');
  var boxes=document.querySelectorAll('input[data-sev]');
  function apply(){
    var text=q.value.toLowerCase();var on={};
    boxes.forEach(function(b){on[b.getAttribute('data-sev')]=b.checked;});
    var shown=0;
    document.querySelectorAll('section.rule').forEach(function(sec){
      var sevOk=on[sec.getAttribute('data-severity')];
      var rows=sec.querySelectorAll('tr.finding');var any=false;
      rows.forEach(function(r){
        var ok=sevOk&&(!text||r.textContent.toLowerCase().indexOf(text)>=0||
          sec.getAttribute('data-rule').toLowerCase().indexOf(text)>=0);
        r.style.display=ok?'':'none';if(ok){any=true;shown++;}
      });
      sec.style.display=any?'':'none';
    });
    document.getElementById('shown').textContent=shown+' shown';
  }
  q.addEventListener('input',apply);
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  apply();
})();
"""


class HtmlRenderer:
    """Renders a :class:`Report` as one offline HTML page."""

    def __init__(self, rules: tuple[Rule, ...] = (), options: RenderOptions = RenderOptions()) -> None:
        self.rules = rules_by_id(rules)
        self.options = options
        self.snippets: Mapping[tuple[str, int], tuple[str, str]] = dict(options.snippets)

    def render(self, report: Report) -> str:
        """The page as text ending in a newline."""
        body = "\n".join([self._header(report), self._prediction(report), self._findings(report),
                          self._clusters(report), self._flagged(report), self._features(report),
                          self._skipped(report)])
        title = f"tuneahead-lint report: {', '.join(f.path for f in report.summary.files[:3])}"
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
                f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
                f'<meta name="viewport" content="width=device-width,initial-scale=1">\n'
                f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
                f"{body}\n<script>{SCRIPT}</script>\n</body></html>\n")

    def _header(self, report: Report) -> str:
        s = report.summary
        formats = ", ".join(f"{escape(name)} {number(n)}" for name, n in s.formats)
        files = "".join(f"<tr><td>{escape(f.path)}</td><td class=num>{number(f.records)}</td>"
                        f"<td class=num>{number(f.unreadable)}</td><td>{escape(f.format)}</td></tr>"
                        for f in sorted(s.files, key=lambda f: f.path))
        return (f"<h1>tuneahead-lint {escape(report.tool_version)}</h1>"
                f"<p>{number(s.records)} records in {plural(len(s.files), 'file')}"
                f"{f' ({formats})' if formats else ''}. <b>{escape(tally(report.findings, len(s.files)))}</b></p>"
                f"<details><summary>Files</summary><table><tr><th>file</th><th>records</th>"
                f"<th>unreadable</th><th>format</th></tr>{files}</table></details>")

    def _prediction(self, report: Report) -> str:
        p = report.prediction
        if p is None:
            why = next((s.reason for s in ordered_skipped(report.skipped) if s.rule_id.startswith("TA4")),
                       "no prediction")
            return f'<h2>Prediction</h2><p><span class="badge none">no verdict</span> {escape(why)}</p>'
        detail = report.prediction_detail
        verdict = p.verdict or "none"
        label = p.verdict or "no verdict (no min-score)"
        rows = _prediction_rows(p, detail)
        table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        warning = skill_warning(detail.model_skill if detail else None)
        warn = f'<p class=warning id="skill-warning">Warning: {escape(warning)}.</p>' if warning else ""
        ood = ("" if p.in_distribution else "<p class=warning>This dataset is outside the predictor's "
               "training distribution: treat the score as a rough guide.</p>")
        svg = (waterfall_svg(detail.attributions, detail.expected_score, detail.points_per_unit, unit=detail.unit)
               if detail else waterfall_svg((), None, 1.0))
        weak = " <span class=warning>(do not rely on it: see the warning below the table)</span>" if warning else ""
        return (f'<h2>Prediction</h2><p>verdict: <span class="badge {escape(verdict)}" id="verdict">'
                f"{escape(label)}</span>{weak}</p><table style='width:auto'>{table}</table>{warn}{ood}"
                f"<h3>SHAP attributions ({escape(detail.unit if detail else 'points')})</h3>{svg}"
                f"{_targets(report)}{_divergence(report)}")

    def _findings(self, report: Report) -> str:
        counts = severity_counts(report.findings)
        boxes = "".join(f'<label><input type=checkbox checked data-sev="{s.value}"> '
                        f'<span class="{s.value}">{s.value}</span> ({counts[s.value]})</label> '
                        for s in SEVERITIES)
        sections = "".join(self._rule_section(fs) for fs in by_rule(report.findings))
        return (f'<h2>Findings</h2><div class="filters"><input id="q" type="search" '
                f'placeholder="filter: rule, file, text" size="40"> {boxes}<span id="shown" class="dim">'
                f"</span></div>{sections or '<p>No findings.</p>'}")

    def _rule_section(self, findings: list[Finding]) -> str:
        first = findings[0]
        rule = self.rules.get(first.rule_id)
        summary = escape(rule.summary) if rule else ""
        rows = "".join(_finding_row(f) for f in findings[:MAX_FINDINGS_PER_RULE])
        more = len(findings) - MAX_FINDINGS_PER_RULE
        cut = f"<p class=dim>… and {more} more (the JSON report lists every one)</p>" if more > 0 else ""
        sev = first.severity.value
        return (f'<section class="rule" data-rule="{escape(first.rule_id)} {escape(first.rule_name)}" '
                f'data-severity="{sev}"><details open><summary><b>{escape(first.rule_id)} '
                f'{escape(first.rule_name)}</b> <span class="{sev}">{sev}</span> '
                f"{plural(len(findings), 'finding')} — {summary}</summary>"
                f"<table class=findings><tr><th>where</th><th>message</th><th>evidence</th></tr>{rows}</table>{cut}"
                f"<p><b>fix:</b> {escape(first.remedy)}</p></details></section>")

    def _clusters(self, report: Report) -> str:
        clusters = [f for f in ordered(report.findings) if f.rule_id == "TA201"][:MAX_CLUSTERS]
        if not clusters:
            return ""
        blocks = "".join(self._cluster(f) for f in clusters)
        total = sum(f.rule_id == "TA201" for f in report.findings)
        return (f"<h2>Near-duplicate clusters</h2><p class=dim>{min(total, MAX_CLUSTERS)} of {total} "
                f"clusters, up to {MAX_CLUSTER_MEMBERS} records each</p>{blocks}")

    def _cluster(self, f: Finding) -> str:
        places = [(f.path, n) for n in f.lines] + list(f.related)
        cards = "".join(self._card(path, line) for path, line in places[:MAX_CLUSTER_MEMBERS])
        return f"<p>{escape(f.message)}</p><div class=cards>{cards}</div>"

    def _card(self, path: str, line: int) -> str:
        prompt, response = self.snippets.get((path, line), ("", ""))
        return (f'<div class=card><div class=where>{escape(path)}:{line}</div>'
                f"<b>prompt</b><pre>{escape(prompt)}</pre><b>response</b><pre>{escape(response)}</pre></div>")

    def _flagged(self, report: Report) -> str:
        records = [(f, line) for f in ordered(report.findings) if self._is_record_rule(f)
                   for line in (f.lines if per_record(f) else f.lines[:1])][:MAX_FLAGGED]
        if not records:
            return ""
        items = "".join(self._record(f, line) for f, line in records)
        return f"<h2>Flagged records</h2><p class=dim>the first {len(records)}</p>{items}"

    def _is_record_rule(self, f: Finding) -> bool:
        rule = self.rules.get(f.rule_id)
        return rule is not None and rule.category in ("input", "record")

    def _record(self, f: Finding, line: int) -> str:
        prompt, response = self.snippets.get((f.path, line), ("", ""))
        text = (f"<b>prompt</b><pre>{escape(prompt)}</pre><b>response</b><pre>{escape(response)}</pre>"
                if prompt or response else "")
        return (f'<div class=rec><div class=where>{escape(f.path)}:{line} · {escape(f.rule_id)} '
                f'{escape(f.rule_name)}</div>{escape(f.message)} <span class=dim>{_evidence(f.evidence)}'
                f"</span>{text}</div>")

    def _features(self, report: Report) -> str:
        detail = report.prediction_detail
        attributions = detail.attributions if detail else ()
        out_of_range = {o.feature for o in detail.out_of_range} if detail else set()
        unit = detail.unit if detail else "points"
        rows = "".join(_range_row(a, a.feature in out_of_range, unit) for a in
                       sorted(attributions, key=lambda a: (-abs(a.points), a.feature)))
        ranges = ("<h2>Features against the training runs</h2><p class=dim>each feature's value (dot) "
                  "against its range among successful training runs (bar)</p><table><tr><th>feature</th>"
                  f"<th>value</th><th>successful runs</th><th></th><th>{escape(unit)}</th></tr>{rows}</table>"
                  if rows else "")
        plain = "".join(f"<tr><td>{escape(name)}</td><td class=num>{number(m.value)}</td>"
                        f"<td>{escape(m.detail)}</td></tr>" for name, m in report.features)
        table = (f"<details><summary>All features ({len(report.features)})</summary><table><tr><th>feature"
                 f"</th><th>value</th><th>detail</th></tr>{plain}</table></details>" if plain else "")
        return ranges + table

    def _skipped(self, report: Report) -> str:
        rows = "".join(f"<tr><td>{escape(s.rule_id)}</td><td>{escape(s.reason)}</td></tr>"
                       for s in ordered_skipped(report.skipped))
        return f"<h2>Skipped rules</h2><table>{rows}</table>" if rows else ""


def _prediction_rows(p: Prediction, detail: PredictionDetail | None) -> list[tuple[str, str]]:
    """(label, value) rows of the gate prediction: the number, how far to trust it, why the verdict."""
    unit = detail.unit if detail else "points"
    own = f" {unit}" if detail and detail.points_per_unit == 1 else ""  # a loss target: its values are nats
    interval = (f"{number(p.low)}–{number(p.high)}{own}" if math.isfinite(p.high - p.low)
                else "unbounded (too few calibration runs)")
    rows = [("predicted score", number(p.score) + own), ("interval", interval),
            ("base model's score", base_text(p, detail)),
            ("trust", skill_words(detail.model_skill if detail else None, unit))]
    if detail is not None:
        rows += [("target", unit_text(detail)), ("verdict reason", detail.verdict_reason)]
    return rows + [("min-score", number(detail.min_score if detail else None)), ("model", p.model)]


def _targets(report: Report) -> str:
    """Every target of a multi-target bundle with interval, unit and skill."""
    if not report.targets:
        return ""
    head = "".join(f"<th>{h}</th>" for h in ("target", "unit", "predicted", "interval", "base", "verdict",
                                                "skill ± SE (grouped CV)", "go/no-go accuracy"))
    rows = "".join(_target_row(t) for t in report.targets)
    weak = [t.target for t in report.targets if skill_warning(t.detail.model_skill)]
    warn = (f"<p class=warning>Warning: {escape(', '.join(weak))}: under grouped cross-validation no better than "
            f"the training mean, or never measured: do not rely on {'its' if len(weak) == 1 else 'their'} "
            f"number.</p>" if weak else "")
    return (f"<h3>Predicted targets</h3><p class=dim>values in each target's unit; skill = 1 - RMSE/RMSE of "
            f"the training mean on unseen data recipes; the gate target decides the exit code</p>"
            f"<table><tr>{head}</tr>{rows}</table>{warn}")


def _target_row(t: TargetPrediction) -> str:
    p, d = t.prediction, t.detail
    ppu, cv = d.points_per_unit, d.model_skill
    interval = interval_text(p, ppu, t.unit)
    base = "n/a" if p.base_score is None else in_unit(p.base_score, ppu, t.unit)
    acc = "n/a" if cv is None or cv.gate_accuracy is None else f"{cv.gate_accuracy:.0%}"
    cells = (t.target + (" (gate)" if t.gate else ""), t.unit, in_unit(p.score, ppu, t.unit), interval, base,
             p.verdict or "none", skill_text(cv), acc)
    return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def _divergence(report: Report) -> str:
    d = report.divergence
    if d is None:
        return ""
    warn = "".join(f"<p class=warning>Warning: {escape(w)}.</p>" for w in divergence_warnings(d))
    return (f"<h3>Divergence</h3><p><b>{escape(probability_text(d))}</b> (model {escape(d.model)}): "
            f"{escape(divergence_text(d.skill))}</p>{warn}")


def _finding_row(f: Finding) -> str:
    where = f"{f.path}:{f.line}" if f.line else f.path
    lines = ""
    if lines_total(f) > 1:
        shown = ", ".join(map(str, f.lines[:50]))
        more = len(f.lines) - 50
        lines = f"<div class=dim>lines {shown}{f' … and {more} more' if more > 0 else ''}</div>"
    related = ", ".join(f"{escape(p)}:{n}" for p, n in f.related[:20])
    related = f"<div class=dim>related: {related}</div>" if related else ""
    return (f"<tr class=finding><td class=where>{escape(where)}</td><td>{escape(f.message)}{lines}"
            f"{related}</td><td class=dim>{_evidence(f.evidence)}</td></tr>")


def _evidence(evidence: Iterable[tuple[str, Any]]) -> str:
    return "; ".join(f"{escape(str(k))}={escape(_value(v))}" for k, v in evidence)


def _value(v: Any) -> str:
    return number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _range_row(a: Attribution, outside: bool, unit: str = "points") -> str:
    lo, hi = a.success_low, a.success_high
    span = "none" if lo is None else f"{number(lo)}–{number(hi)}"
    flag = " <span class=warning>outside training range</span>" if outside else ""
    return (f"<tr><td>{escape(a.feature)}{flag}</td><td class=num>{number(a.value)}</td>"
            f"<td class=num>{span}</td><td>{range_svg(a.value, lo, hi)}</td>"
            f"<td class=num>{shap_text(a.points, unit)}</td></tr>")


def range_svg(value: float, low: float | None, high: float | None, width: int = 160) -> str:
    """A bar for [low, high] and a dot for ``value`` on a shared scale."""
    if low is None or high is None or not math.isfinite(value):
        return ""
    left, right = min(low, value), max(high, value)
    pad = (right - left) * 0.1 or abs(right) * 0.1 or 1.0
    left, right = left - pad, right + pad

    def x(v: float) -> float:
        return round(4 + (width - 8) * (v - left) / (right - left), 1)
    inside = low <= value <= high
    return (f'<svg width="{width}" height="14" viewBox="0 0 {width} 14" role="img">'
            f'<rect x="{x(low)}" y="4" width="{max(x(high) - x(low), 1)}" height="6" fill="#8cb4e8"/>'
            f'<circle cx="{x(value)}" cy="7" r="4" fill="{"#1a7f37" if inside else "#cf222e"}"/></svg>')


def waterfall_svg(attributions: Iterable[Attribution], expected: float | None,
                  points_per_unit: float, width: int = 720, unit: str = "points") -> str:
    """SHAP waterfall as inline SVG: from the expected score (in ``unit``),
    the largest attributions one bar each, the rest summed, to the prediction."""
    ranked = sorted(attributions, key=lambda a: (-abs(a.points), a.feature))
    if expected is None or not ranked:
        return "<p class=dim>no attributions</p>"
    bars = [(a.feature, float(a.points)) for a in ranked[:WATERFALL_BARS]]
    rest = sum(float(a.points) for a in ranked[WATERFALL_BARS:])
    if len(ranked) > WATERFALL_BARS:
        bars.append((f"{len(ranked) - WATERFALL_BARS} other features", rest))
    start = expected * points_per_unit
    ends, level = [], start
    for _, pts in bars:
        ends.append((level, level + pts))
        level += pts
    lo = min([start, level, *[min(a, b) for a, b in ends]])
    hi = max([start, level, *[max(a, b) for a, b in ends]])
    return _waterfall_svg(bars, ends, start, level, lo, hi, width, unit)


def _waterfall_svg(bars, ends, start, final, lo, hi, width, unit="points") -> str:
    label_w, row_h, top = 230, 20, 24
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return round(label_w + (width - label_w - 70) * (v - lo) / span, 1)
    height = top + row_h * len(bars) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="SHAP waterfall" id="waterfall" '
             f'font-family="sans-serif" font-size="12">',
             f'<text x="{x(start)}" y="14" text-anchor="middle">expected {shap_text(start, unit, "")}</text>',
             f'<line x1="{x(start)}" y1="18" x2="{x(start)}" y2="{height - 24}" stroke="#999" '
             f'stroke-dasharray="3,3"/>']
    for i, ((name, pts), (a, b)) in enumerate(zip(bars, ends)):
        y = top + i * row_h
        color = "#1a7f37" if pts >= 0 else "#cf222e"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(name)}</text>'
                     f'<rect x="{min(x(a), x(b))}" y="{y + 3}" width="{max(abs(x(b) - x(a)), 1)}" '
                     f'height="{row_h - 6}" fill="{color}"/>'
                     f'<text x="{max(x(a), x(b)) + 4}" y="{y + 14}">{shap_text(pts, unit)}</text>')
    y = top + row_h * len(bars) + 18
    parts.append(f'<text x="{x(final)}" y="{y}" text-anchor="middle" font-weight="bold">'
                 f"prediction {shap_text(final, unit, '')}</text></svg>")
    return "".join(parts)
