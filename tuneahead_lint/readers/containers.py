"""Split one input file into raw records, each with the line where it starts.

Containers:

* JSON Lines: one record per non-blank line. ``raw`` is the line without its
  ``\\n`` / ``\\r\\n`` terminator.
* JSON array: one record per element, found by an incremental, string- and
  escape-aware splitter that reads 1 MiB chunks, so memory is bounded by the
  largest element, not the file. ``line`` is the line of the element's first
  byte (its opening brace); ``raw`` is the element without surrounding
  whitespace.
* concatenated JSON values (a ``.json`` file whose first line opens a value
  that it does not close, e.g. one pretty-printed object): one record per
  top-level value.
* Parquet: one record per row (``line`` = 1-based row number), read with
  pyarrow ``iter_batches``; ``raw`` is the row as canonical JSON.

gzip is recognised by its magic bytes. A UTF-8 BOM is removed and reported on
the first record. Problems found at this level (truncated array, trailing
data, binary file, corrupt gzip/Parquet) become :class:`Piece` objects with
``decodable=False``: the reader never raises on file content.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from tuneahead_lint.types import Problem

CHUNK = 1 << 20
HEAD = 8192
BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
_WS = b" \t\r\n"
_NOT_DECODED: Any = object()

_STRUCT = re.compile(rb'[\[\]{}",]')
_NON_WS = re.compile(rb"[^ \t\r\n]")
_OPEN, _CLOSE, _QUOTE, _COMMA = frozenset(b"[{"), frozenset(b"]}"), ord('"'), ord(",")
_BACKSLASH = ord("\\")


@dataclass(frozen=True, slots=True)
class Piece:
    """One record's raw bytes (or a decoded Parquet row) and where it starts."""

    line: int
    offset: int  # byte offset of ``raw`` in the (decompressed) file
    raw: bytes
    column: int = 1  # 1-based byte column of the first byte; 0 = unknown
    value: Any = _NOT_DECODED
    problems: tuple[Problem, ...] = ()
    decodable: bool = True

    @property
    def decoded(self) -> bool:
        return self.value is not _NOT_DECODED


def _broken(line: int, offset: int, raw: bytes, check: str, detail: str) -> Piece:
    return Piece(line, offset, raw, problems=(Problem(check, detail),), decodable=False)


def pieces(path: str, handle: BinaryIO) -> Iterator[Piece]:
    """Raw records of the open binary file ``handle`` whose name is ``path``."""
    if path.lower().endswith(".parquet"):
        seen = yield from _any(parquet_rows(handle))
        if not seen:
            yield _broken(1, 0, b"", "empty_file", "no records: the Parquet file has no rows")
        return
    magic = handle.read(2)
    handle.seek(0)
    packed = magic == GZIP_MAGIC
    stream = SafeStream(gzip.GzipFile(fileobj=handle, mode="rb") if packed else handle)
    last = None
    for last in _text_pieces(stream, inner_name(path)):
        yield last
    if stream.error is not None:
        yield _broken(last.line if last else 1, stream.consumed, b"", "invalid_json",
                      f"{'gzip' if packed else 'file'} stream is corrupt or truncated "
                      f"after {stream.consumed} bytes: {stream.error}")
    elif last is None:
        what = ("the file is empty (0 bytes)" if stream.consumed == 0 else
                f"{stream.consumed} bytes of whitespace or an empty array")
        yield _broken(1, 0, b"", "empty_file", f"no records: {what}")


def _any(parts: Iterator[Piece]) -> Generator[Piece, None, bool]:
    """``parts`` as a generator that reports whether it yielded (its return value)."""
    seen = False
    for piece in parts:
        seen = True
        yield piece
    return seen


def inner_name(path: str) -> str:
    return path[:-3] if path.lower().endswith(".gz") else path


class SafeStream:
    """Chunks of a binary stream; a read error ends the stream and is kept."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.error: Exception | None = None
        self.consumed = 0

    def chunks(self) -> Iterator[bytes]:
        """``read1`` chunks, so that little is lost before a decompression error."""
        while True:
            try:
                data = self.raw.read1(CHUNK)
            except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
                self.error = exc
                return
            if not data:
                return
            self.consumed += len(data)
            yield data


def _text_pieces(stream: SafeStream, name: str) -> Iterator[Piece]:
    """Sniff binary content, BOM and container, then split."""
    chunks = stream.chunks()
    head = _head(chunks)
    nul = head.find(b"\0", 0, HEAD)
    if nul >= 0:
        yield _broken(1, 0, head[:HEAD], "invalid_utf8",
                      f"binary file: NUL byte at offset {nul} in the first 8 KiB "
                      "(not UTF-8 text; UTF-16/32 files must be re-saved as UTF-8); not read")
        return
    skip = len(BOM) if head.startswith(BOM) else 0
    chunks = itertools.chain([head[skip:]], chunks)
    mode = container_kind(head[skip:], name)
    if mode == "lines":
        parts = split_lines(chunks, skip)
    else:
        parts = split_values(chunks, skip, array=mode == "array")
    yield from _with_bom(parts) if skip else parts


def _head(chunks: Iterator[bytes]) -> bytes:
    """At least HEAD bytes from ``chunks`` (fewer only at end of input)."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= HEAD:
            break
    return head


def _with_bom(parts: Iterable[Piece]) -> Iterator[Piece]:
    note = Problem("bom", "file starts with a UTF-8 byte order mark (BOM)")
    for i, piece in enumerate(parts):
        yield replace(piece, problems=(note, *piece.problems)) if i == 0 else piece


def container_kind(head: bytes, name: str) -> str:
    """'lines', 'array' or 'stream' from the file name and its first bytes."""
    if name.lower().endswith((".jsonl", ".ndjson")):
        return "lines"
    first = _NON_WS.search(head)
    if first is None:
        return "lines"
    if head[first.start()] == ord("["):
        return "array"
    end = head.find(b"\n", first.start())
    if head[first.start()] == ord("{") and end >= 0 and _opens_value(head[first.start():end]):
        return "stream"
    return "lines"


def _opens_value(line: bytes) -> bool:
    """True if ``line`` leaves a bracket or string open (a pretty-printed value)."""
    depth, pos = 0, 0
    while (m := _STRUCT.search(line, pos)) is not None:
        c, pos = line[m.start()], m.end()
        if c == _QUOTE:
            pos = string_end(line, pos)
            if pos < 0:
                return True
        elif c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
    return depth > 0


def string_end(data: bytes | bytearray, pos: int) -> int:
    """Index just after the quote closing the string whose body starts at or
    before ``pos`` (its opening quote must be in ``data``); -1 if not in ``data``."""
    while (quote := data.find(b'"', pos)) >= 0:
        pos = quote + 1
        start = quote
        while start > 0 and data[start - 1] == _BACKSLASH:
            start -= 1
        if (quote - start) % 2 == 0:
            return pos
    return -1


def split_lines(chunks: Iterable[bytes], offset: int = 0) -> Iterator[Piece]:
    """JSON Lines: one piece per non-blank line, any line length."""
    line, tail = 1, []
    for chunk in chunks:
        lines = chunk.split(b"\n")
        if len(lines) == 1:
            tail.append(chunk)
            continue
        tail.append(lines[0])
        lines[0] = b"".join(tail)
        tail = [lines.pop()]
        for raw in lines:
            if raw.strip(_WS):
                yield Piece(line, offset, raw[:-1] if raw.endswith(b"\r") else raw)
            line, offset = line + 1, offset + len(raw) + 1
    raw = b"".join(tail)
    if raw.strip(_WS):
        yield Piece(line, offset, raw[:-1] if raw.endswith(b"\r") else raw)


class _Buffer:
    """Input still needed by the splitter, refilled chunk by chunk, with line
    accounting: ``line`` is the line number at ``data[line_pos]``."""

    def __init__(self, chunks: Iterable[bytes], offset: int) -> None:
        self.chunks = iter(chunks)
        self.data = bytearray()
        self.base = self.origin = offset  # file offsets of data[0] and of line 1
        self.line, self.line_pos = 1, 0

    def line_at(self, pos: int) -> int:
        """Line number of ``data[pos]``; ``pos`` must not go backwards."""
        pos = max(pos, self.line_pos)
        self.line += self.data.count(b"\n", self.line_pos, pos)
        self.line_pos = pos
        return self.line

    def column_at(self, pos: int) -> int:
        nl = self.data.rfind(b"\n", 0, pos)
        return pos - nl if nl >= 0 or self.base == self.origin else 0

    def refill(self, keep: int) -> bool:
        """Drop ``data[:keep]`` and append the next chunk; False at end of input."""
        chunk = next(self.chunks, None)
        if chunk is None:
            return False
        self.line_at(keep)
        del self.data[:keep]
        self.base += keep
        self.line_pos -= keep
        self.data += chunk
        return True


def split_values(chunks: Iterable[bytes], offset: int = 0, array: bool = True) -> Iterator[Piece]:
    """Elements of a JSON array (``array``) or concatenated top-level values."""
    return _ValueSplitter(_Buffer(chunks, offset), array).run()


class _ValueSplitter:
    """Incremental, string/escape-aware splitter over a :class:`_Buffer`.

    Array mode cuts at commas directly inside the outer array, so a malformed
    element stays one (unparsable) record; stream mode cuts where a top-level
    bracketed value closes."""

    def __init__(self, buf: _Buffer, array: bool) -> None:
        self.buf, self.array = buf, array
        self.pos = self.start = self.depth = 0  # start: where the current element region begins
        self.in_string = False
        self.commas = 0

    def run(self) -> Iterator[Piece]:
        if self.array:
            self._enter_array()
        while True:
            kind, at = self._next_event()
            if kind == "comma":
                yield self._element(at, "empty array element (extra comma)")
                self.commas += 1
            elif kind == "end":
                yield self._element(at)
            elif kind == "close":
                if self.buf.data[self.start:at].strip(_WS) or self.commas:
                    yield self._element(at, "trailing comma before the closing ]")
                yield from self._after_close()
                return
            else:
                yield from self._at_eof()
                return

    def _enter_array(self) -> None:
        while (m := _NON_WS.search(self.buf.data, self.pos)) is None:
            self.pos = len(self.buf.data)
            if not self._refill(self.pos):
                return
        self.pos = self.start = m.end()  # just after the '['

    def _refill(self, keep: int) -> bool:
        if not self.buf.refill(keep):
            return False
        self.pos -= keep
        self.start -= keep
        return True

    def _next_event(self) -> tuple[str, int]:
        data = self.buf.data
        while True:
            if self.in_string and not self._skip_string():
                if not self._refill(self.start):
                    return "eof", -1
                data = self.buf.data
                continue
            m = _STRUCT.search(data, self.pos)
            if m is None:
                self.pos = len(data)
                if not self._refill(self.start):
                    return "eof", -1
                data = self.buf.data
                continue
            self.pos = m.end()
            event = self._token(data[m.start()], m.start())
            if event is not None:
                return event

    def _skip_string(self) -> bool:
        data = self.buf.data
        end = string_end(data, self.pos)
        if end < 0:  # the backslashes before a later quote stay in the buffer
            self.pos = len(data)
            return False
        self.pos, self.in_string = end, False
        return True

    def _token(self, c: int, at: int) -> tuple[str, int] | None:
        if c == _QUOTE:
            self.in_string = True
        elif c in _OPEN:
            self.depth += 1
        elif c in _CLOSE:
            if self.depth > 0:
                self.depth -= 1
                if not self.array and self.depth == 0:
                    return "end", at + 1
            elif self.array and c == ord("]"):
                return "close", at
        elif c == _COMMA and self.array and self.depth == 0:
            return "comma", at
        return None

    def _element(self, end: int, empty: str = "") -> Piece:
        """The piece for ``data[start:end]``; ``empty`` names an empty one."""
        buf, data = self.buf, self.buf.data
        m = _NON_WS.search(data, self.start, end)
        self.start = end + 1 if self.array else end
        if m is None:
            return _broken(buf.line_at(end), buf.base + end, b"", "invalid_json", empty)
        first = m.start()
        raw = bytes(data[first:end]).rstrip(_WS)
        return Piece(buf.line_at(first), buf.base + first, raw, buf.column_at(first))

    def _after_close(self) -> Iterator[Piece]:
        while (m := _NON_WS.search(self.buf.data, self.pos)) is None:
            self.pos = len(self.buf.data)
            if not self._refill(self.pos):
                return
        buf, at = self.buf, m.start()
        yield _broken(buf.line_at(at), buf.base + at, bytes(buf.data[at:at + 80]), "invalid_json",
                      "unexpected data after the closing ] of the array")

    def _at_eof(self) -> Iterator[Piece]:
        data, buf = self.buf.data, self.buf
        m = _NON_WS.search(data, self.start)
        if self.in_string or self.depth > 0:
            first = m.start() if m else self.start
            what = "a string" if self.in_string else f"{self.depth} unclosed bracket(s)"
            closing = "; the array is never closed" if self.array else ""
            yield _broken(buf.line_at(first), buf.base + first, bytes(data[first:]), "invalid_json",
                          f"truncated: the file ends inside this record ({what} still open){closing}")
            return
        if m is not None:
            self.pos = len(data)
            yield self._element(len(data))
        if self.array:
            end = max(len(data.rstrip(_WS)) - 1, 0)
            yield _broken(buf.line_at(end), buf.base + end, b"", "invalid_json",
                          "the array is not closed: the file ends without ']'")


def parquet_rows(handle: BinaryIO) -> Iterator[Piece]:
    """One piece per Parquet row, ``value`` already decoded (a dict)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = 0
    try:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024):
            for rec in batch.to_pylist():
                row += 1
                yield Piece(row, row - 1, canonical_bytes(rec), 0, rec)
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield _broken(row + 1 if row else 1, row, b"", "invalid_json",
                      f"not a readable Parquet file (after {row} rows): {exc}")


def canonical_bytes(value: Any) -> bytes:
    """Stable JSON bytes for an already-decoded record (used for its hash)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
    return text.encode("utf-8", "surrogatepass")
