"""Drop the records that record rules flag and no edit can repair.

* TA117 conflicting-answers: **every** record of the group is dropped. Fix
  cannot tell which answer is right, and keeping the first would keep a
  wrong answer half of the time while hiding the contradiction; the removal
  log names the whole group so a person can restore the right one.
* TA118 truncated-response: dropped (the missing text cannot be recovered).
* TA119 benchmark-contamination: dropped (training on test items inflates
  every score measured on that benchmark).

``fix.plan`` drops them in the same loop as the content rules: each check runs
with the rule's options (defaults, then ``FixOptions.rule_options``) over the
records still kept after the remedies before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tuneahead_lint.checks import CHECKS, CheckContext
from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Example, Hit

# Gibberish (TA107) and the other content rules are dropped by the content step
# (``fix --content``), which also runs before the semantic remedies.
FLAGGED_RULES = ("conflicting-answers", "truncated-response", "benchmark-contamination")


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
