"""Input checks: problems the readers noticed while decoding records.

The readers attach :class:`~tuneahead_lint.types.Problem` records to each
:class:`~tuneahead_lint.types.Example`; each check here reports the problems
of one kind, so every reader problem maps to exactly one rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.types import Example, Hit


def _problems(examples: Sequence[Example], kind: str) -> Iterator[Hit]:
    for ex in examples:
        for prob in ex.problems:
            if prob.check == kind:
                yield Hit(ex.path, (ex.line,), (("reason", prob.detail),),
                          key=f"{kind}:{ex.raw_hash or ex.index}:{prob.detail}",
                          records=(ex.index + 1,))


def _register(kind: str) -> None:
    def fn(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
        return _problems(examples, kind)
    fn.__name__ = kind
    fn.__doc__ = f"Report reader problems of kind ``{kind}``."
    check(kind)(fn)


for _kind in ("invalid_json", "not_object", "invalid_utf8", "bom", "missing_field",
              "non_string"):
    _register(_kind)
