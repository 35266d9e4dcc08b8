"""Decide what ``fix`` does to each record, and why.

Remedies run in this order, each over the records the previous ones kept:

1. broken records (TA0xx: invalid JSON, missing fields ...): dropped
2. template markup (TA105): stripped from the fields that feed the turns
3. mojibake (TA115): repaired with ftfy in the fields that feed the turns
4. empty responses / prompts (TA101, TA102, also when stripping emptied them): dropped
5. content rules (TA114, TA113, TA108, TA109, TA107, TA110, TA111, TA112, TA116, TA204:
   secrets, PII, blobs, web markup, gibberish, off-language, language or script
   mismatch, refusals, looping responses: rep-3 >= 0.8, or over the lint's limit with
   a passage of >= 5 words repeated 3 times in a row): dropped, the first rule in that
   order named; with ``redact_pii`` PII is replaced by typed placeholders
6. exact duplicates (TA106, the same key as the check): every copy after the first dropped
7. conflicting answers (TA117, the whole group), truncated responses (TA118) and
   benchmark-contaminated records (TA119): dropped (see ``flagged.py``); then lexical
   near-duplicates (TA121, the rule's options): all but each cluster's kept (first)
   record dropped, with --fast too (after TA117, so that a conflicting pair that is
   also a near-copy goes whole, not the first half kept)
8. embedding outliers (TA202, local-density score above the limit), then
   mismatched pairs (TA207, only with ``mismatched``): dropped
9. near-duplicates (TA201, cosine >= threshold): all but each cluster's first kept record dropped

8 and 9 come from the dataset-feature stage (see ``semantic.py``); outliers go
first so that a tight cluster of junk is dropped whole, not kept as one
"representative".

"First" is input order (files in the order given, then record order; for
near-duplicates the feature stage's order: path, then line), so the record
kept is always the earliest one and the plan is deterministic. A record
gets one action, the last one that applies: a stripped record that is then
dropped is logged as dropped.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuneahead_lint.checks import CHECKS, CheckContext
from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.checks.record import normalise
from tuneahead_lint.fix.source import SourceFile
from tuneahead_lint.fix.state import DROP, REDACT, REPAIR, STRIP, Action, FixOptions, Key, State, place, rule_ref
from tuneahead_lint.fix.strip import leaks, markup, strip_record
from tuneahead_lint.ruleset.registry import Rule, RuleOptions, find_rule
from tuneahead_lint.types import Example, Hit, text_hash

# rules whose records fix drops, in this order (the first that flags a record is named)
CONTENT_RULES = ("secret", "pii", "encoded-blob", "markup-boilerplate", "gibberish", "off-language",
                 "language-mismatch", "script-mismatch", "refusal", "repetitive-responses")
# fix drops only clear loops: structured answers (truth tables, regexes, scores,
# HTML tables) repeat up to ~77% of their 3-grams in the shared sets, decoding loops 88-98%
DROP_AT_LEAST = {"repetitive-responses": {"max_repetition": 0.8, "max_repetition_code": 0.9}}
# ... or a prose response over the lint's limit that repeats one passage back to back this
# often: a loop after a sound opening dilutes rep-3 to 0.6-0.8; structured answers repeat
# 3-grams, not whole passages (see features.static.lexical.verbatim_loop)
LOOP_COPIES = 3


@dataclass(frozen=True)
class FixPlan:
    """What to write: per file, the records dropped and the new values of the
    changed ones. ``notes`` say what was skipped or could not be done."""

    files: tuple[SourceFile, ...]
    actions: tuple[Action, ...]
    values: Mapping[Key, Any]
    notes: tuple[str, ...] = ()
    semantic_source: str = ""

    def dropped(self, path: str) -> frozenset[int]:
        """0-based indexes of the records of ``path`` that are not written."""
        return frozenset(a.record - 1 for a in self.actions if a.path == path and a.action == DROP)

    def changed(self, path: str) -> dict[int, Any]:
        """0-based index -> new decoded value, for the records of ``path`` rewritten."""
        return {i: v for (p, i), v in self.values.items() if p == path}

    def counts(self) -> dict[str, int]:
        """'records', 'dropped', 'changed', 'written', and one count per action + reason."""
        records = sum(len(f.records) for f in self.files)
        dropped = sum(a.action == DROP for a in self.actions)
        out = {"records": records, "dropped": dropped, "changed": len(self.actions) - dropped,
               "written": records - dropped}
        for a in self.actions:
            out[f"{a.action} {a.reason}"] = out.get(f"{a.action} {a.reason}", 0) + 1
        return out


def plan_fix(files: Sequence[SourceFile], opts: FixOptions,
             rules: Sequence[Rule], progress: Any = None) -> FixPlan:
    """The :class:`FixPlan` for ``files`` (read by :func:`~.source.load`)."""
    load_all()
    state = State(files, opts, rules)
    for file in files:
        for r in file.records:
            if r.example.ok:
                state.alive[(r.example.path, r.example.index)] = r.example
    _broken(state)
    if opts.strip_templates:
        _strip(state)
    if opts.repair_mojibake:
        _repair(state)
    if opts.drop_empty:
        _empty(state)
    if opts.content:
        _drop_flagged(state, CONTENT_RULES, _hits)
    if opts.exact_dedup:
        _exact(state)
    if opts.drop_flagged:
        from tuneahead_lint.fix.flagged import FLAGGED_RULES, named_records

        _drop_flagged(state, FLAGGED_RULES, named_records)
    if opts.lexical_dedup:
        _lexical(state)
    source = ""
    if opts.semantic:
        from tuneahead_lint.fix.semantic import apply_semantic

        source = apply_semantic(state, progress)
    elif opts.fast and (opts.semantic_dedup or opts.outliers):
        state.notes.append("near-duplicates and outliers: skipped (--fast: no embeddings)")
    order = {f.path: i for i, f in enumerate(files)}
    actions = sorted(state.actions.values(), key=lambda a: (order[a.path], a.record))
    return FixPlan(tuple(files), tuple(actions), dict(state.values), tuple(state.notes), source)



def _broken(state: State) -> None:
    """Drop records the readers could not turn into turns (TA0xx, first rule wins)."""
    broken = [r.example for f in state.files for r in f.records if not r.example.ok]
    if not broken or not state.opts.drop_empty:
        if broken:
            state.notes.append(f"{len(broken)} broken record(s) kept (--keep-empty)")
        return
    named: set[Key] = set()
    for rule in state.rules:
        if rule.category != "input" or rule.check in (None, "bom"):  # a BOM breaks nothing
            continue
        for ex, hit in _hits(rule, broken):
            if (ex.path, ex.index) not in named:
                named.add((ex.path, ex.index))
                state.drop(ex, (rule.id, rule.name), finding_message(rule, hit))
    for ex in broken:
        if (ex.path, ex.index) not in named:
            detail = "; ".join(p.detail for p in ex.problems) or "unreadable record"
            state.drop(ex, rule_ref(state.rules, "invalid-json"), detail)


def _hits(rule: Rule, examples: Sequence[Example],
          options: Mapping[str, Any] | None = None) -> Iterator[tuple[Example, Hit]]:
    """(example, hit) for each hit of ``rule``'s check that names one record."""
    by_key = {(ex.path, ex.index): ex for ex in examples}
    ctx = CheckContext(options=rule.option_values(options))
    for hit in CHECKS[rule.check](examples, ctx):
        for rec in hit.records[:1]:
            if (ex := by_key.get((hit.path, rec - 1))) is not None:
                yield ex, hit


def finding_message(rule: Rule, hit: Hit) -> str:
    """The rule's message filled with the hit's evidence (as lint prints it)."""
    evidence = dict(hit.evidence)
    try:
        return string.Formatter().vformat(rule.message, (), evidence)
    except (KeyError, IndexError, ValueError):
        return ", ".join(f"{k}={v}" for k, v in hit.evidence)


def _strip(state: State) -> None:
    m = markup(state.opts.leak_patterns)
    rule = rule_ref(state.rules, "template-leak")
    files = {f.path: f for f in state.files}
    for key, ex in list(state.alive.items()):
        marker = leaks(ex.turns, m)
        if marker is None:
            continue
        piece = files[ex.path].records[ex.index].piece
        value = piece.value if piece.decoded else json.loads(piece.raw)
        done = strip_record(value, state.opts.input_format or ex.format, m)
        if done is None:
            state.notes.append(f"{ex.path}:{ex.line}: template markup {marker!r} left in place "
                               "(it cannot be removed without changing the record's turns)")
            continue
        markers = sorted({f.group(0).strip() for t in ex.turns for f in m.rx.finditer(t.content)})
        state.values[key], turns = done
        state.alive[key] = replace(ex, turns=turns)
        state.actions[key] = Action(ex.path, ex.line, ex.index + 1, STRIP, *rule,
                                    "removed " + ", ".join(repr(m) for m in markers))


def _empty(state: State) -> None:
    for name in ("empty-response", "empty-prompt"):
        rule = find_rule(name, tuple(state.rules))
        if rule is None or rule.check is None:
            continue
        for ex, hit in _hits(rule, list(state.alive.values())):
            if (ex.path, ex.index) in state.alive:
                state.drop(ex, (rule.id, rule.name), finding_message(rule, hit))


def duplicate_key(ex: Example) -> str:
    """The TA106 key: every turn's role and normalised content (see
    :func:`~tuneahead_lint.checks.record.exact_duplicate`)."""
    return text_hash(*(f"{t.role}\x1f{normalise(t.content)}" for t in ex.turns))


def _exact(state: State) -> None:
    rule = rule_ref(state.rules, "exact-duplicate")
    first: dict[str, Example] = {}
    for ex in list(state.alive.values()):
        key = duplicate_key(ex)
        if key in first:
            state.drop(ex, rule, f"duplicate of {place(first[key], ex)}")
        else:
            first[key] = ex


def _lexical(state: State) -> None:
    """TA121: drop every record of a cluster except the kept one (its first)."""
    rule = _enabled(state, "lexical-near-duplicates")
    if rule is None:
        return
    options = rule.option_values(dict(state.opts.rule_options).get(rule.id, {}))
    alive = list(state.alive.values())
    by_number = {(ex.path, ex.index + 1): ex for ex in alive}
    by_line = {(ex.path, ex.line): ex for ex in alive}
    for hit in CHECKS[rule.check](alive, CheckContext(options=options)):
        named = [by_number[(hit.path, r)] for r in hit.records] + [by_line[ref] for ref in hit.related]
        for ex in named[1:]:
            state.drop(ex, (rule.id, rule.name), f"near-duplicate of {place(named[0], ex)} "
                                                 f"(word 3-gram Jaccard >= {dict(hit.evidence)['jaccard']})")


def _enabled(state: State, name: str) -> Rule | None:
    rule = find_rule(name, tuple(state.rules))
    return rule if rule is not None and rule.check and rule.id not in state.opts.disabled else None


def _value(state: State, ex: Example) -> Any:
    """The record's current decoded value (after earlier changes)."""
    key = (ex.path, ex.index)
    if key in state.values:
        return state.values[key]
    piece = {f.path: f for f in state.files}[ex.path].records[ex.index].piece
    return piece.value if piece.decoded else json.loads(piece.raw)


def _rewrite(state: State, ex: Example, fn: Callable[[str], str]) -> Example | None:
    """Apply ``fn`` to every string of the record; its new turns, or None if
    they did not change (the record is then left alone)."""
    from tuneahead_lint.fix.strip import map_strings
    from tuneahead_lint.readers.formats import convert

    value = map_strings(_value(state, ex), fn)
    turns = convert(value, state.opts.input_format or ex.format).turns
    if turns == ex.turns or [t.role for t in turns] != [t.role for t in ex.turns]:
        return None
    key = (ex.path, ex.index)
    state.values[key] = value
    state.alive[key] = replace(ex, turns=turns)
    return state.alive[key]


def _repair(state: State) -> None:
    """TA115: ftfy's encoding repair on the strings that show mojibake."""
    from ftfy import fix_encoding

    from tuneahead_lint.checks.text import mojibake

    rule = _enabled(state, "mojibake")
    if rule is None:
        return
    for ex, hit in list(_hits(rule, list(state.alive.values()))):
        evidence = dict(hit.evidence)
        if _rewrite(state, ex, lambda s: fix_encoding(s) if mojibake(s) else s) is not None:
            state.actions[(ex.path, ex.index)] = Action(
                ex.path, ex.line, ex.index + 1, REPAIR, rule.id, rule.name,
                f"{evidence['text']!r} -> {evidence['repair']!r}")


def _drop_flagged(state: State, names: Sequence[str],
                  records_of: Callable[..., Iterator[tuple[Example, Hit]]]) -> None:
    """Drop the records the rules ``names`` flag, the first rule in that order
    named (PII redacted instead with ``redact_pii``); ``records_of(rule,
    examples, options)`` says which records a rule's hits name."""
    for name in names:
        rule = _enabled(state, name)
        if rule is None:
            continue
        configured = dict(state.opts.rule_options).get(rule.id, {})
        alive = list(state.alive.values())
        found = list(records_of(rule, alive, _drop_options(rule, configured)))
        if rule.name in DROP_AT_LEAST:
            found += _loops(rule, alive, configured, found)
        for ex, hit in found:
            if (ex.path, ex.index) not in state.alive:
                continue
            if name == "pii" and state.opts.redact_pii and _redact(state, ex, rule, rule.option_values(configured)):
                continue
            state.drop(ex, (rule.id, rule.name), finding_message(rule, hit))


def _drop_options(rule: Rule, options: Mapping[str, Any]) -> RuleOptions:
    """The rule's options for dropping: configured ones, raised to the floors of
    :data:`DROP_AT_LEAST` (the lint may warn earlier than fix drops)."""
    merged = rule.option_values(options)
    floors = {key: max(float(merged[key]), floor) for key, floor in DROP_AT_LEAST.get(rule.name, {}).items()}
    return rule.option_values({**options, **floors})


def _loops(rule: Rule, examples: Sequence[Example], options: Mapping[str, Any],
           found: Sequence[tuple[Example, Hit]]) -> list[tuple[Example, Hit]]:
    """The records ``rule`` flags at the lint's own options (under the floors,
    not in ``found``) whose prose response loops: one passage :data:`LOOP_COPIES`
    times in a row."""
    from tuneahead_lint.checks.textutil import is_code
    from tuneahead_lint.features.corpus import WORD
    from tuneahead_lint.features.static.lexical import verbatim_loop

    taken = {(ex.path, ex.index) for ex, _ in found}
    return [(ex, hit) for ex, hit in _hits(rule, examples, options)
            if (ex.path, ex.index) not in taken and not is_code(ex.response)
            and verbatim_loop(WORD.findall(ex.response.lower()))[1] >= LOOP_COPIES]


def _redact(state: State, ex: Example, rule: Rule, options: Mapping[str, Any]) -> bool:
    """Replace the record's PII by typed placeholders; False if that failed."""
    from tuneahead_lint.checks.pii import find_pii, redact

    kinds = tuple(options["kinds"])
    found = sorted({f.kind for t in ex.turns for f in find_pii(t.content, kinds)})
    if _rewrite(state, ex, lambda s: redact(s, kinds)) is None:
        return False
    state.actions[(ex.path, ex.index)] = Action(ex.path, ex.line, ex.index + 1, REDACT, rule.id, rule.name,
                                                "replaced " + ", ".join(found) + " with placeholders")
    return True
