"""Checks that see the records one at a time (issue 15: memory bounded by
what a rule keeps, not by the file).

A :class:`RecordCheck` is fed every record in file order, once or twice:

* ``passes == 1``: :meth:`~RecordCheck.record` for each record, then
  :meth:`~RecordCheck.finish`;
* ``passes == 2``: :meth:`~RecordCheck.observe` for each record (the check
  gathers a set statistic: a file's language, its terminal-punctuation habit,
  which prompts repeat), then :meth:`~RecordCheck.record` for each record of
  a second read of the same files, then :meth:`~RecordCheck.finish`.

The check keeps hashes, counters and small per-record summaries, never the
records. The sequence form of every streamed check (``CHECKS[name]``, used by
``fix`` and the tests) is :func:`run_over` on a list, so both forms give the
same hits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from tuneahead_lint.types import Example, Hit

CHUNK = 1024  # records a per-record check sees at a time (tokenizer and n-gram batches)


class RecordCheck(Protocol):
    """One check's state over a stream of records."""

    passes: int

    def observe(self, ex: Example) -> None: ...

    def record(self, ex: Example) -> Iterable[Hit]: ...

    def finish(self) -> Iterable[Hit]: ...


class OnePass:
    """Base of single-pass checks: nothing to observe, nothing left at the end."""

    passes = 1

    def observe(self, ex: Example) -> None:
        return None

    def finish(self) -> Iterable[Hit]:
        return ()


class Chunked(OnePass):
    """A per-record check function (hits of a record depend on that record
    alone) run on chunks of :data:`CHUNK` records: the same hits, in the same
    order, as one call over the whole list."""

    def __init__(self, fn: Callable[[Sequence[Example], object], Iterable[Hit]], ctx: object) -> None:
        self.fn, self.ctx = fn, ctx
        self.buffer: list[Example] = []

    def record(self, ex: Example) -> Iterable[Hit]:
        self.buffer.append(ex)
        return self._flush() if len(self.buffer) >= CHUNK else ()

    def finish(self) -> Iterable[Hit]:
        return self._flush()

    def _flush(self) -> list[Hit]:
        chunk, self.buffer = self.buffer, []
        return list(self.fn(chunk, self.ctx)) if chunk else []


def run_over(check: RecordCheck, examples: Iterable[Example]) -> Iterator[Hit]:
    """All hits of ``check`` over ``examples`` (a list, or anything that
    reads the records again on each ``iter``)."""
    if check.passes == 2:
        for ex in examples:
            check.observe(ex)
    for ex in examples:
        yield from check.record(ex)
    yield from check.finish()
