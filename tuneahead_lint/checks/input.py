"""Input checks: problems the readers noticed while decoding records.

The readers attach :class:`~tuneahead_lint.types.Problem` records to each
:class:`~tuneahead_lint.types.Example`; each check here reports the problems
of one kind, so every reader problem maps to exactly one rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.types import Example, Hit


def _problems(examples: Sequence[Example], kinds: tuple[str, ...],
              undecoded_only: bool = False) -> Iterator[Hit]:
    kind = kinds[0]
    for ex in examples:
        if undecoded_only and ex.ok:
            continue
        for prob in ex.problems:
            if prob.check in kinds:
                yield Hit(ex.path, (ex.line,), (("reason", prob.detail),),
                          key=f"{kind}:{ex.raw_hash or ex.index}:{prob.detail}",
                          records=(ex.index + 1,))


def _register(name: str, kinds: tuple[str, ...], undecoded_only: bool = False) -> None:
    def fn(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
        return _problems(examples, kinds, undecoded_only)
    fn.__name__ = name
    fn.__doc__ = f"Report reader problems of kind {', '.join(kinds)}."
    check(name, per_record=True)(fn)


for _kind in ("invalid_json", "not_object", "invalid_utf8", "bom", "non_string", "duplicate_key",
              "unreadable", "empty_file"):
    _register(_kind, (_kind,))
# a transcript that is not Human/Assistant is as unusable as missing fields
_register("missing_field", ("missing_field", "unknown_format"))
# empty fields of decoded records are TA101/TA102's; here only records left
# with no turns at all (e.g. an empty `conversations` list)
_register("empty_record", ("empty_field",), undecoded_only=True)
