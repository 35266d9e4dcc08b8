"""Read one input file for ``fix``, keeping each record's raw bytes and place.

The records come from the readers' own splitter (:func:`~tuneahead_lint.readers.
containers.pieces`) and decoder (:func:`~tuneahead_lint.readers.records.to_example`),
so ``fix`` sees exactly the examples ``lint`` sees. What the writer needs on top
is kept here: the container kind, whether the file was gzip-compressed, and the
decompressed text (the bytes between records: separators, indentation, blank lines).
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass

from tuneahead_lint.readers import InputError, path_problem, read
from tuneahead_lint.readers.containers import (BOM, GZIP_MAGIC, Piece, SafeStream, container_kind, inner_name,
                                               pieces)
from tuneahead_lint.readers.records import to_example
from tuneahead_lint.types import Example

PARQUET, LINES, ARRAY, STREAM = "parquet", "lines", "array", "stream"


@dataclass(frozen=True, slots=True)
class Record:
    """One record: the example ``lint`` sees and the piece it was cut from."""

    example: Example
    piece: Piece

    @property
    def element(self) -> bool:
        """True for a record that occupies bytes of the file (not a container
        note such as 'the array is not closed')."""
        return self.piece.decodable and bool(self.piece.raw)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file as ``fix`` needs it.

    ``text`` is the decompressed file (``b''`` for Parquet); every element's
    ``piece.raw`` is ``text[piece.offset:piece.offset + len(piece.raw)]``.
    ``blob`` is the file as stored (Parquet and the backup need it)."""

    path: str
    container: str  # PARQUET | LINES | ARRAY | STREAM
    gzipped: bool
    text: bytes
    blob: bytes
    records: tuple[Record, ...]

    @property
    def examples(self) -> tuple[Example, ...]:
        return tuple(r.example for r in self.records)


def load(path: str, fmt: str | None = None) -> SourceFile:
    """Read ``path`` into a :class:`SourceFile`.

    :raises InputError: the file cannot be read, or it is binary (not UTF-8
        text), which ``fix`` refuses to rewrite.
    """
    read(path, fmt)  # same existence / permission / format-name checks as lint
    problem = path_problem(path)
    if problem is not None:  # e.g. a FIFO found in a folder: opening it would block
        raise InputError(path, None, f"{problem}; not rewritten by fix")
    try:
        with open(path, "rb") as handle:
            blob = handle.read()
    except OSError as exc:
        raise InputError(path, None, exc.strerror or str(exc)) from exc
    parts = list(pieces(path, io.BytesIO(blob)))
    records = tuple(Record(to_example(path, i, p, fmt), p) for i, p in enumerate(parts))
    if path.lower().endswith(".parquet"):
        broken = [p.detail for r in records if not r.piece.decodable for p in r.example.problems
                  if p.check == "invalid_json"]
        if broken:  # lint reports it as TA001; rows after the damage are unknown
            raise InputError(path, None, f"{broken[0]}; not rewritten by fix")
        return SourceFile(path, PARQUET, False, b"", blob, records)
    gzipped = blob[:2] == GZIP_MAGIC
    text = _decompressed(blob) if gzipped else blob
    if any(p.check == "invalid_utf8" and "NUL byte" in p.detail
           for r in records if not r.piece.decodable for p in r.example.problems):
        raise InputError(path, None, "binary file (NUL bytes): not rewritten by fix")
    _check_offsets(path, text, records)
    return SourceFile(path, _kind(text, path), gzipped, text, blob, records)


def _decompressed(blob: bytes) -> bytes:
    """As much of a gzip stream as decompresses (a corrupt tail is reported
    by the readers as a broken record, and is not copied)."""
    return b"".join(SafeStream(gzip.GzipFile(fileobj=io.BytesIO(blob), mode="rb")).chunks())


def _kind(text: bytes, path: str) -> str:
    skip = len(BOM) if text.startswith(BOM) else 0
    return container_kind(text[skip:skip + 8192], inner_name(os.fspath(path)))


def _check_offsets(path: str, text: bytes, records: tuple[Record, ...]) -> None:
    """The writer copies bytes by offset: make sure the offsets are right."""
    for r in records:
        p = r.piece
        if r.element and text[p.offset:p.offset + len(p.raw)] != p.raw:
            raise InputError(path, p.line, "internal: record bytes do not match their offset; "
                                           "file not rewritten")
