"""Turn check hits and feature values into findings, rule by rule."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneahead_lint.checks import CHECKS, CheckContext, load_all
from tuneahead_lint.config import Config
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Example, Finding, Hit, Skipped


@dataclass(frozen=True)
class Context:
    """Everything the rules may look at. ``available`` names the inputs that
    exist in this run (records, tokenizer, embeddings, base_model, probe,
    predictor); ``missing_reason`` says why an input is absent."""

    examples: Sequence[Example]
    available: frozenset[str]
    missing_reason: Mapping[str, str]
    tokenizer: Any = None
    features: Any = None
    probe: Any = None
    one_line_files: frozenset[str] = frozenset()  # several records share a line


def one_line_files(examples: Sequence[Example]) -> frozenset[str]:
    """Files where line numbers do not identify records (e.g. a JSON array
    written on one line): findings there also name the record number."""
    seen: set[tuple[str, int]] = set()
    out: set[str] = set()
    for ex in examples:
        key = (ex.path, ex.line)
        if key in seen:
            out.add(ex.path)
        seen.add(key)
    return frozenset(out)


class _Fmt(string.Formatter):
    """str.format that renders floats compactly and tolerates missing keys."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key, f"<{key}>") if isinstance(key, str) else super().get_value(key, args, kwargs)

    def format_field(self, value: Any, spec: str) -> Any:
        if isinstance(value, float) and not spec:
            return f"{value:.4g}"
        return super().format_field(value, spec)


_FMT = _Fmt()


def fingerprint(rule_id: str, path: str, key: str) -> str:
    """Content-based id of a finding: stable when lines move (SARIF
    ``partialFingerprints``, baselines). Uses the file name, not its
    directory, so a checkout in another folder gives the same value."""
    raw = f"{rule_id}\0{Path(path).name}\0{key}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


def to_finding(rule: Rule, hit: Hit, severity: Any, max_lines: int,
               name_records: bool = False) -> Finding:
    evidence = tuple(sorted(hit.evidence))
    message = _FMT.format(rule.message, **dict(evidence))
    if name_records and hit.records:
        shown = ", ".join(str(r) for r in hit.records[:max_lines])
        more = f" and {len(hit.records) - max_lines} more" if len(hit.records) > max_lines else ""
        message += f" [record {shown}{more}]"
    lines = tuple(dict.fromkeys(hit.lines))
    return Finding(
        rule_id=rule.id, rule_name=rule.name, severity=severity, message=message,
        path=hit.path, lines=lines[:max_lines], evidence=evidence, remedy=rule.remedy,
        fingerprint=fingerprint(rule.id, hit.path, hit.key or message),
        related=hit.related[:max_lines], lines_total=len(lines) + len(hit.related),
    )


def _feature_hits(rule: Rule, ctx: Context, options: Mapping[str, Any]) -> Iterable[Hit]:
    trig = dict(rule.trigger)
    values = dict(getattr(ctx.features, "values", ()) or ())
    measure = values.get(trig["feature"])
    if measure is None or not ctx.examples:
        return
    above, below = options.get("above", trig.get("above")), options.get("below", trig.get("below"))
    v = measure.value
    if (above is not None and v > above) or (below is not None and v < below):
        refs = measure.refs or ((ctx.examples[0].path, 1),)
        path = refs[0][0]
        lines = tuple(line for p, line in refs if p == path)
        related = tuple((p, line) for p, line in refs if p != path)
        limit = above if above is not None and v > above else below
        yield Hit(path, lines, (("value", v), ("threshold", limit)),
                  key=f"feature:{trig['feature']}", related=related)


def hits_for(rule: Rule, ctx: Context, options: Mapping[str, Any]) -> Iterable[Hit]:
    """Run the rule's trigger and return its hits."""
    if rule.check:
        fn = load_all().get(rule.check) or CHECKS.get(rule.check)
        if fn is None:
            raise KeyError(f"rule {rule.id}: unknown check {rule.check!r}")
        cctx = CheckContext(options=options, tokenizer=ctx.tokenizer,
                            features=ctx.features, probe=ctx.probe)
        return fn(ctx.examples, cctx)
    if "feature" in dict(rule.trigger):
        return _feature_hits(rule, ctx, options)
    return ()  # attribution triggers are evaluated by the predictor stage


def evaluate(rules: Sequence[Rule], config: Config, ctx: Context) -> tuple[list[Finding], list[Skipped]]:
    """All findings (sorted by path, line, rule id) and the skipped rules."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    max_lines = int(config.get("max-lines-shown"))
    for rule in rules:
        settings = config.rule(rule)
        if not settings.enabled:
            continue
        missing = [r for r in rule.requires if r not in ctx.available]
        if missing:
            why = "; ".join(ctx.missing_reason.get(m, f"needs {m}") for m in missing)
            skipped.append(Skipped(rule.id, why))
            continue
        for hit in hits_for(rule, ctx, settings.options):
            if not config.ignored_in(rule, hit.path):
                findings.append(to_finding(rule, hit, settings.severity, max_lines,
                                           hit.path in ctx.one_line_files))
    findings.sort(key=lambda f: (*f.sort_key(), f.fingerprint))
    return findings, skipped
