"""Turn check hits and feature values into findings, rule by rule."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneahead_lint.checks import CHECKS, STREAMS, CheckContext
from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.checks.stream import RecordCheck
from tuneahead_lint.config import Config
from tuneahead_lint.readers.scan import Scan
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import (
    Attribution, Example, Finding, Hit, ModelSkill, PredictOutcome, Refs, Severity, Skipped, text_hash,
)

if TYPE_CHECKING:  # annotations only: the stages' results, without importing the stages
    from tokenizers import Tokenizer

    from tuneahead_lint.features import FeatureResult
    from tuneahead_lint.probe.types import ProbeResult


@dataclass(frozen=True)
class Context:
    """Everything the rules may look at. ``examples`` are the records: a
    list, or a :class:`~tuneahead_lint.readers.RecordSource` that reads the
    files again on every iteration. ``available`` names the inputs that
    exist in this run (records, tokenizer, embeddings, base_model, probe,
    predictor); ``missing_reason`` says why an input is absent."""

    examples: Sequence[Example]
    available: frozenset[str]
    missing_reason: Mapping[str, str]
    tokenizer: Tokenizer | None = None
    features: FeatureResult | None = None
    probe: ProbeResult | None = None
    one_line_files: frozenset[str] = frozenset()  # several records share a line
    prediction: PredictOutcome | None = None  # when the predictor ran
    claimed: tuple[tuple[str, str], ...] = ()  # (pattern, direction) of the specific attribution rules


def one_line_files(examples: Iterable[Example]) -> frozenset[str]:
    """Files where line numbers do not identify records (e.g. a JSON array
    written on one line): findings there also name the record number."""
    scan = Scan()
    for ex in examples:
        scan.add(ex)
    return scan.one_line_files()


class _Fmt(string.Formatter):
    """str.format that renders floats compactly and tolerates missing keys."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key, f"<{key}>") if isinstance(key, str) else super().get_value(key, args, kwargs)

    def format_field(self, value: Any, spec: str) -> Any:
        if isinstance(value, float) and not spec:
            return f"{value:.4g}"
        return super().format_field(value, spec)


_FMT = _Fmt()


def render_message(template: str, evidence: Iterable[tuple[str, Any]]) -> str:
    """A rule's message template filled with a finding's evidence."""
    return _FMT.format(template, **dict(evidence))


def fingerprint(rule_id: str, path: str, key: str) -> str:
    """Content-based id of a finding: stable when lines move (SARIF
    ``partialFingerprints``, baselines). Uses the file name, not its
    directory, so a checkout in another folder gives the same value."""
    raw = f"{rule_id}\0{Path(path).name}\0{key}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


RECORD_CATEGORIES = ("input", "record")  # rules whose lines are the records at fault


def target_suffix(template: str, evidence: Iterable[tuple[str, Any]]) -> str:
    """`` [target NAME]`` when a hit is about a predicted target other than
    the gate's (evidence ``target``) and the message does not name it."""
    target = dict(evidence).get("target")
    return f" [target {target}]" if target and "{target}" not in template else ""


def to_finding(rule: Rule, hit: Hit, severity: Severity, max_lines: int,
               name_records: bool = False, record_hash: Mapping[tuple, str] | None = None) -> Finding:
    """The finding for one hit: every line it names (renderers cap what they
    show); ``max_lines`` caps only the record numbers in the message.
    ``record_hash`` maps (path, line) and (path, "#", record) to the
    record's content hash, for per-record fingerprints (baselines)."""
    evidence = tuple(sorted(hit.evidence))
    message = render_message(rule.message, evidence) + target_suffix(rule.message, evidence)
    if name_records and hit.records:
        shown = ", ".join(str(r) for r in hit.records[:max_lines])
        more = f" and {len(hit.records) - max_lines} more" if len(hit.records) > max_lines else ""
        message += f" [record {shown}{more}]"
    lines = tuple(dict.fromkeys(hit.lines))
    fp = fingerprint(rule.id, hit.path, hit.key or message)
    records = hit.records if name_records and len(hit.records) == len(hit.lines) else ()
    return Finding(
        rule_id=rule.id, rule_name=rule.name, severity=severity, message=message,
        path=hit.path, lines=lines, evidence=evidence, remedy=rule.remedy, fingerprint=fp,
        related=hit.related, lines_total=len(lines) + len(hit.related), records=records,
        record_fingerprints=(_record_fingerprints(fp, hit, lines, records, record_hash or {})
                             if rule.category in RECORD_CATEGORIES else ()),
    )


def _record_fingerprints(fp: str, hit: Hit, lines: tuple[int, ...], records: tuple[int, ...],
                         record_hash: Mapping[tuple, str]) -> tuple[str, ...]:
    """One content-based id per named line: the finding's fingerprint and
    the bytes of the record there (the line number itself is left out)."""
    if records:
        keys = [record_hash.get((hit.path, "#", r), f"#{r}") for r in records]
    else:
        keys = [record_hash.get((hit.path, n), f"line{n}") for n in lines]
    return tuple(hashlib.sha256(f"{fp}\0{k}".encode()).hexdigest()[:32] for k in keys)


def _feature_hits(rule: Rule, ctx: Context, options: Mapping[str, Any]) -> Iterable[Hit]:
    trig = dict(rule.trigger)
    values = dict(getattr(ctx.features, "values", ()) or ())
    measure = values.get(trig["feature"])
    if measure is None or not ctx.examples:
        return
    above, below = (options[k] if k in options else trig.get(k) for k in ("above", "below"))
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
        return fn(ctx.examples, _check_context(ctx, options))
    if "feature" in dict(rule.trigger):
        return _feature_hits(rule, ctx, options)
    return _attribution_hits(rule, ctx, options)


# Attribution triggers. ``attribution`` names features with fnmatch patterns
# separated by "|"; "*" alone is the catch-all for features that no other
# attribution rule names. Two names are reserved: ``predicted_score`` (the
# predicted score's margin to min-score, in points) and ``training_range``
# (features outside the predictor's training range). A feature pattern fires
# once per matching feature whose SHAP attribution is below ``-points``
# (rule option, else the trigger's ``below``) and, with the ``direction``
# option "above"/"below", only when the value is above/below the median of
# the successful training runs (the rule's remedy assumes that direction).
# The catch-all takes every feature that no other rule's pattern and
# direction cover.
RESERVED_ATTRIBUTIONS = ("predicted_score", "training_range")


def _matches(pattern: str, name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p.strip()) for p in pattern.split("|"))


def _direction_ok(direction: str, a: Attribution) -> bool:
    mid = a.success_median
    if direction == "any" or mid is None:
        return True
    return a.value > mid if direction == "above" else a.value < mid


def claimed_patterns(rules: Sequence[Rule], config: Config | None = None) -> tuple[tuple[str, str], ...]:
    """(pattern, direction) of every attribution rule except the catch-all
    and the reserved ones, enabled or not (a disabled rule silences its
    features rather than passing them to the catch-all)."""
    out = []
    for r in rules:
        pat = dict(r.trigger).get("attribution")
        if pat and pat != "*" and pat not in RESERVED_ATTRIBUTIONS:
            opts = config.rule(r).options if config is not None else r.option_values()
            out.append((pat, str(opts["direction"])))
    return tuple(sorted(out))


def _attribution_hits(rule: Rule, ctx: Context, options: Mapping[str, Any]) -> Iterable[Hit]:
    out = ctx.prediction
    trig = dict(rule.trigger)
    if out is None or "attribution" not in trig:
        return ()
    pattern = trig["attribution"]
    if pattern == "predicted_score":
        return _predicted_failure(out, trig, ctx)
    if pattern == "training_range":
        return _out_of_range(out, ctx)
    # the option's threshold and the messages are in points: a target in nats (the gate's too) has none
    hits = list(_feature_attribution_hits(pattern, out, ctx, options)) if out.detail.unit == "points" else []
    for t in out.targets:  # the other targets of a multi-target bundle, where the option's points apply
        if not t.gate and t.unit == "points":
            other = PredictOutcome(t.prediction, t.detail, out.refs)
            hits += _feature_attribution_hits(pattern, other, ctx, options, t.target)
    return hits


def _feature_attribution_hits(pattern: str, out: PredictOutcome, ctx: Context, options: Mapping[str, Any],
                              target: str | None = None) -> list[Hit]:
    """One hit per feature of ``pattern`` that costs more than ``points``."""
    limit = -abs(float(options["points"]))
    hits = []
    for a in out.detail.attributions:
        if pattern == "*":
            mine = not any(_matches(p, a.feature) and _direction_ok(d, a) for p, d in ctx.claimed)
        else:
            mine = _matches(pattern, a.feature) and _direction_ok(str(options["direction"]), a)
        if mine and a.points < limit:
            hits.append(_attribution_hit(a, limit, out, ctx, target))
    return hits


def _where(refs: Refs, ctx: Context) -> tuple[str, tuple[int, ...], Refs]:
    """Path, lines and related lines for dataset-level evidence."""
    if not refs:
        return (ctx.examples[0].path if ctx.examples else ""), (), ()
    path = refs[0][0]
    return path, tuple(n for p, n in refs if p == path), tuple(r for r in refs if r[0] != path)


def _span(a: Attribution) -> str:
    if a.success_low is None or a.success_high is None:
        return "none"
    if a.success_low == a.success_high:
        return f"{a.success_low:.4g}"
    mid = f", median {a.success_median:.4g}" if a.success_median is not None else ""
    return f"{a.success_low:.4g} to {a.success_high:.4g}{mid}"


def _attribution_hit(a: Attribution, limit: float, out: PredictOutcome, ctx: Context,
                     target: str | None = None) -> Hit:
    """The gate target's hit as ever; another target's names it (evidence
    ``target``, message suffix, fingerprint key)."""
    path, lines, related = _where(out.refs.get(a.feature, ()), ctx)
    evidence = (("feature", a.feature), ("value", a.value), ("points", a.points),
                ("points_lost", -a.points), ("threshold", -limit),
                ("success_range", _span(a)),
                ("score", out.prediction.score), ("skill", skill_evidence(out.detail.model_skill)))
    evidence += (("target", target),) if target else ()
    key = f"attribution:{a.feature}" if target is None else f"attribution:{target}:{a.feature}"
    return Hit(path, lines, evidence, key=key, related=related)


def _predicted_failure(out: PredictOutcome, trig: Mapping[str, Any], ctx: Context) -> Iterable[Hit]:
    p, d = out.prediction, out.detail
    if p.verdict != "no-go" or d.threshold is None:
        return ()
    margin = (p.high - d.threshold) * d.points_per_unit
    if margin >= float(trig["below"]):
        return ()
    path, _, _ = _where((), ctx)
    base = "n/a" if p.base_score is None else f"{p.base_score:.4g}"
    interval = f"{p.low:.4g}-{p.high:.4g}" if p.high - p.low < float("inf") else "unbounded"
    name = "min-score" if d.threshold_source == "min-score" else "the base model's score"
    evidence = (("score", p.score), ("interval", interval), ("threshold", d.threshold),
                ("threshold_name", name), ("below", -margin), ("unit", d.unit), ("base_score", base),
                ("model", p.model), ("skill", skill_evidence(d.model_skill)))
    return (Hit(path, (), evidence, key="prediction:no-go"),)


def skill_evidence(cv: ModelSkill | None) -> str:
    """The model card's grouped-CV skill in words, for a finding that
    states a predicted number: ``+0.57 ± 0.14`` or why not to rely on it."""
    if cv is None or cv.skill is None:
        return "never measured: do not rely on the prediction"
    se = "n/a" if cv.skill_se is None else f"{cv.skill_se:.2f}"
    weak = ", not above its standard error: do not rely on the prediction" if cv.no_skill else ""
    return f"{cv.skill:+.2f} ± {se}{weak}"


def _out_of_range(out: PredictOutcome, ctx: Context) -> Iterable[Hit]:
    """One finding when the distance guard finds the dataset far from the
    training runs, naming the features that differ most."""
    g = out.detail.guard
    if g is None or not g.far:
        return ()
    shown = ", ".join(f"{f} ({d:+.1f} SD)" for f, d in g.nearest_features) or "-"
    refs = tuple(r for f, _ in g.nearest_features for r in out.refs.get(f, ())[:2])
    path, lines, related = _where(refs, ctx)
    evidence = (("ratio", round(g.ratio, 2)), ("features", shown))
    return (Hit(path, lines, evidence, key="ood:" + ",".join(f for f, _ in g.nearest_features),
                related=related),)


@dataclass(frozen=True)
class Evaluation:
    """What the rules stage provides: the findings (sorted by path, line,
    rule id), the skipped rules and the :class:`Scan` of the records."""

    findings: list[Finding]
    skipped: list[Skipped]
    scan: Scan


def evaluate(rules: Sequence[Rule], config: Config, ctx: Context) -> tuple[list[Finding], list[Skipped]]:
    """All findings (sorted by path, line, rule id) and the skipped rules."""
    result = run_rules(rules, config, ctx)
    return result.findings, result.skipped


def run_rules(rules: Sequence[Rule], config: Config, ctx: Context) -> Evaluation:
    """Evaluate ``rules``: the record checks stream over ``ctx.examples``
    together (one pass, a second when a check needs a set statistic first),
    the other triggers run on their own."""
    max_lines = int(config.get("max-lines-shown"))
    ctx = dataclasses.replace(ctx, claimed=claimed_patterns(rules, config))
    active, skipped = _active(rules, config, ctx)
    load_all()
    running = frozenset(rule.name for rule, _ in active)
    streams = {rule.id: STREAMS[rule.check](_check_context(ctx, settings.options, running))
               for rule, settings in active if rule.check in STREAMS}
    scan, streamed = stream_records(ctx.examples, streams)
    hits: list[tuple[Rule, Hit, Any]] = []
    for rule, settings in active:
        found = streamed[rule.id] if rule.id in streamed else hits_for(rule, ctx, settings.options)
        hits += [(rule, hit, settings.severity) for hit in found if not config.ignored_in(rule, hit.path)]
    hashes = scan.record_hashes(_record_places(hits))
    shared = ctx.one_line_files | scan.one_line_files()
    findings = [to_finding(rule, hit, severity, max_lines, hit.path in shared, hashes)
                for rule, hit, severity in hits]
    findings.sort(key=lambda f: (*f.sort_key(), f.fingerprint))
    return Evaluation(findings, skipped, scan)


def _active(rules: Sequence[Rule], config: Config, ctx: Context) -> tuple[list[tuple[Rule, Any]], list[Skipped]]:
    """(rule, settings) of the enabled rules whose inputs exist, and the skipped ones."""
    active, skipped = [], []
    for rule in rules:
        settings = config.rule(rule)
        if not settings.enabled:
            continue
        missing = [r for r in rule.requires if r not in ctx.available]
        if missing:
            skipped.append(Skipped(rule.id, "; ".join(ctx.missing_reason.get(m, f"needs {m}") for m in missing)))
        else:
            active.append((rule, settings))
    return active, skipped


def _check_context(ctx: Context, options: Mapping[str, Any], running: frozenset[str] = frozenset()) -> CheckContext:
    return CheckContext(options=options, tokenizer=ctx.tokenizer, features=ctx.features, probe=ctx.probe,
                        rules=running)


def stream_records(examples: Iterable[Example], checks: Mapping[str, RecordCheck]) -> tuple[Scan, dict[str, list[Hit]]]:
    """Feed every record to the :class:`Scan` and to ``checks`` (by rule id):
    one pass, and a second over ``examples`` again for the two-pass checks.
    Returns the scan and each check's hits."""
    scan = Scan(getattr(examples, "files", ()))
    out: dict[str, list[Hit]] = {rule_id: [] for rule_id in checks}
    first = [(out[i], c) for i, c in checks.items() if c.passes == 1]
    observe = [c.observe for c in checks.values() if c.passes == 2]
    for ex in examples:
        scan.add(ex)
        for fn in observe:
            fn(ex)
        for hits, c in first:
            hits.extend(c.record(ex))
    second = [(out[i], c) for i, c in checks.items() if c.passes == 2]
    for ex in examples if second else ():
        for hits, c in second:
            hits.extend(c.record(ex))
    for rule_id, c in checks.items():
        out[rule_id].extend(c.finish())
    return scan, out


def _record_places(hits: Sequence[tuple[Rule, Hit, Severity]]) -> set[tuple]:
    """(path, line) and (path, "#", record) keys that record-rule hits name."""
    places: set[tuple] = set()
    for rule, hit, _ in hits:
        if rule.category in RECORD_CATEGORIES:
            places.update((hit.path, n) for n in hit.lines)
            places.update((hit.path, "#", r) for r in hit.records)
    return places
