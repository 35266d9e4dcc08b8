"""Drop the records that record rules flag and no edit can repair.

* TA117 conflicting-answers: **every** record of the group is dropped. Fix
  cannot tell which answer is right, and keeping the first would keep a
  wrong answer half of the time while hiding the contradiction; the removal
  log names the whole group so a person can restore the right one.
* TA118 truncated-response: dropped (the missing text cannot be recovered).
* TA119 benchmark-contamination: dropped (training on test items inflates
  every score measured on that benchmark).

The checks run with the rule's options (defaults, then ``FixOptions.rule_options``)
over the records still kept after the record-level remedies before them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuneahead_lint.checks import CHECKS, CheckContext
from tuneahead_lint.ruleset.registry import Rule, find_rule
from tuneahead_lint.types import Example, Hit

if TYPE_CHECKING:
    from tuneahead_lint.fix.plan import _State

# Gibberish (TA107) and the other content rules are dropped by the content step
# (``fix --content``), which also runs before the semantic remedies.
FLAGGED_RULES = ("conflicting-answers", "truncated-response", "benchmark-contamination")


def apply_flagged(state: _State) -> None:
    """Drop every record a rule of :data:`FLAGGED_RULES` names."""
    from tuneahead_lint.fix.plan import finding_message

    for name in FLAGGED_RULES:
        rule = find_rule(name, tuple(state.rules))
        if rule is None or rule.check is None or rule.id in state.opts.disabled:
            continue
        options = {**rule.defaults(), **dict(state.opts.rule_options).get(rule.id, {})}
        for ex, hit in named_records(rule, list(state.alive.values()), options):
            if (ex.path, ex.index) in state.alive:
                state.drop(ex, (rule.id, rule.name), finding_message(rule, hit))


def named_records(rule: Rule, examples: Sequence[Example],
                  options: Mapping[str, Any]) -> Iterator[tuple[Example, Hit]]:
    """(example, hit) for every record a hit names: its record numbers in
    its own file and its related (path, line) places in other files."""
    by_number = {(ex.path, ex.index + 1): ex for ex in examples}
    by_line: dict[tuple[str, int], list[Example]] = {}
    for ex in examples:
        by_line.setdefault((ex.path, ex.line), []).append(ex)
    for hit in CHECKS[rule.check](examples, CheckContext(options=options)):
        for rec in hit.records:
            if (ex := by_number.get((hit.path, rec))) is not None:
                yield ex, hit
        for ref in hit.related:
            for ex in by_line.get(ref, ()):
                yield ex, hit
