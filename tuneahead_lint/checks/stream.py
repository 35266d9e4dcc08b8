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

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from tuneahead_lint.types import Example, Hit, text_hash

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


class FeatureIndexed(OnePass):
    """A feature check as a stream: while the records pass it keeps the
    record numbers of the places the features name (``refs``), then turns
    the features into hits with them (``hits(index, ctx)``)."""

    def __init__(self, ctx: Any, refs: Callable[[Any], Iterable[tuple[str, int]]],
                 hits: Callable[[dict, Any], Iterable[Hit]]) -> None:
        self.ctx, self.hits = ctx, hits
        self.wanted = set(refs(ctx.features)) if ctx.features is not None else set()
        self.index: dict[tuple[str, int, str], list[int]] = {}

    def record(self, e: Example) -> Iterable[Hit]:
        if e.ok and (e.path, e.line) in self.wanted:
            self.index.setdefault((e.path, e.line, text_hash(e.prompt, e.response)), []).append(e.index + 1)
        return ()

    def finish(self) -> Iterable[Hit]:
        return self.hits(self.index, self.ctx) if self.ctx.features is not None else ()


class DigestLog:
    """16-byte digests appended in record order (16 bytes a record, no
    per-record Python object): which digests repeat, the most common one,
    the digest of the i-th record."""

    SIZE = 16

    def __init__(self) -> None:
        self.buf = bytearray()

    def add(self, digest: bytes) -> None:
        self.buf += digest

    def __len__(self) -> int:
        return len(self.buf) // self.SIZE

    def at(self, i: int) -> bytes:
        return bytes(self.buf[i * self.SIZE:(i + 1) * self.SIZE])

    def _unique(self) -> tuple[Any, Any, Any]:
        import numpy as np

        rows = np.frombuffer(bytes(self.buf), dtype=f"V{self.SIZE}")
        return np.unique(rows, return_index=True, return_counts=True)

    def repeated(self) -> set[bytes]:
        """Digests that occur more than once."""
        if not self.buf:
            return set()
        values, _, counts = self._unique()
        return {v.tobytes() for v in values[counts > 1]}

    def most_common(self) -> tuple[bytes, int] | None:
        """The most frequent digest and its count; a tie goes to the digest
        seen first (as ``Counter.most_common(1)``)."""
        if not self.buf:
            return None
        import numpy as np

        values, first, counts = self._unique()
        best = np.flatnonzero(counts == counts.max())
        i = best[np.argmin(first[best])]
        return values[i].tobytes(), int(counts[i])


def digest(text: str) -> bytes:
    """16-byte blake2b digest of ``text`` (keys of :class:`DigestLog`)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DigestLog.SIZE).digest()


def run_over(check: RecordCheck, examples: Iterable[Example]) -> Iterator[Hit]:
    """All hits of ``check`` over ``examples`` (a list, or anything that
    reads the records again on each ``iter``)."""
    if check.passes == 2:
        for ex in examples:
            check.observe(ex)
    for ex in examples:
        yield from check.record(ex)
    yield from check.finish()
