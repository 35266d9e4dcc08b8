"""Write the fixed files: untouched records byte for byte, atomically.

* JSON Lines: every kept line is copied with its own terminator; blank lines
  and a BOM are copied as they were; a dropped record takes its line with it.
* JSON array / concatenated values: the bytes before the first element and
  after the last are kept; kept elements are joined with the separator that
  followed them in the input (the file's most common separator where that one
  was broken, e.g. a double comma).
* gzip: the new text is compressed again (mtime 0, so the bytes are stable).
* Parquet: the kept rows are written with the input's schema (metadata
  included) and compression codec.

Changed records are re-serialised by :func:`~.strip.dumps_like`.
"""

from __future__ import annotations

import filecmp
import gzip
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tuneahead_lint.atomic import copy_atomic, fsync_dir, real_target, write_atomic
from tuneahead_lint.errors import OutputError
from tuneahead_lint.fix.source import ARRAY, LINES, PARQUET, Record, SourceFile
from tuneahead_lint.fix.strip import dumps_like

_WS = b" \t\r\n"


def render(file: SourceFile, drop: frozenset[int], changed: Mapping[int, Any]) -> bytes:
    """The new content of ``file``: records in ``drop`` (0-based) left out,
    those in ``changed`` written from their new value."""
    if file.container == PARQUET:
        return _parquet(file, drop, changed)
    text = _lines(file, drop, changed) if file.container == LINES else _values(file, drop, changed)
    return gzip.compress(text, mtime=0) if file.gzipped else text


def _new_raw(record: Record, changed: Mapping[int, Any]) -> bytes:
    value = changed.get(record.example.index)
    return record.piece.raw if value is None else dumps_like(value, record.piece.raw)


def _lines(file: SourceFile, drop: frozenset[int], changed: Mapping[int, Any]) -> bytes:
    text, out, pos = file.text, [], 0
    for r in file.records:
        if not r.element:
            continue
        start, end = r.piece.offset, r.piece.offset + len(r.piece.raw)
        newline = text.find(b"\n", end)
        stop = len(text) if newline < 0 else newline + 1
        out.append(text[pos:start])
        if r.example.index not in drop:
            out.append(_new_raw(r, changed) + text[end:stop])
        pos = stop
    out.append(text[pos:])
    return b"".join(out)


def _values(file: SourceFile, drop: frozenset[int], changed: Mapping[int, Any]) -> bytes:
    array = file.container == ARRAY
    elements = [r for r in file.records if r.element]
    if not elements:  # nothing decodable: keep it all, or nothing of it
        return file.text if not drop else (b"[]\n" if array else b"")
    spans = [(r.piece.offset, r.piece.offset + len(r.piece.raw)) for r in elements]
    gaps = [file.text[a[1]:b[0]] for a, b in zip(spans, spans[1:])]
    clean = [g for g in gaps if _clean_gap(g, array)]
    sep = Counter(clean).most_common(1)[0][0] if clean else (b", " if array else b"\n")
    tail = file.text[spans[-1][1]:]
    if not _clean_tail(tail, array):
        tail = (b"\n]\n" if b"\n" in sep else b"]\n") if array else b"\n"
    kept = [i for i, r in enumerate(elements) if r.example.index not in drop]
    out = [file.text[:spans[0][0]]]
    for n, i in enumerate(kept):
        out.append(_new_raw(elements[i], changed))
        if n + 1 < len(kept):
            out.append(gaps[i] if i < len(gaps) and _clean_gap(gaps[i], array) else sep)
    out.append(tail)
    return b"".join(out)


def _clean_gap(gap: bytes, array: bool) -> bool:
    return gap.strip(_WS) == (b"," if array else b"")


def _clean_tail(tail: bytes, array: bool) -> bool:
    return tail.strip(_WS) == (b"]" if array else b"")


def _parquet(file: SourceFile, drop: frozenset[int], changed: Mapping[int, Any]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(io.BytesIO(file.blob))
    table = source.read()
    keep = [i for i in range(table.num_rows) if i not in drop]
    if changed:
        rows = table.to_pylist()
        table = pa.Table.from_pylist([changed.get(i, rows[i]) for i in keep], schema=table.schema)
    else:
        table = table.take(pa.array(keep, type=pa.int64()))
    meta = source.metadata
    codec = (meta.row_group(0).column(0).compression.lower()
             if meta.num_row_groups and meta.num_columns else "snappy")
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=codec)
    return buf.getvalue()


def destinations(paths: Sequence[str], output: str | None, in_place: bool) -> dict[str, str]:
    """Input path -> output path.

    One input: ``output`` is the file to write, or an existing directory to
    write ``basename`` into. Several inputs: ``output`` must be a directory
    (existing, or a path ending in '/'); files are written under it at their
    path relative to the inputs' common folder. ``in_place``: each input is
    its own destination. Raises :class:`OutputError`.
    """
    if in_place:
        return {p: p for p in paths}
    if output is None:
        raise OutputError("say where to write: -o/--output FILE, --in-place or --dry-run")
    as_dir = os.path.isdir(output) or output.endswith(("/", os.sep))
    if len(paths) > 1 and not as_dir:
        raise OutputError(f"{len(paths)} input files: -o/--output must be a directory "
                          f"(got {output!r}; an existing folder, or a path ending in '/')")
    if not as_dir:
        dest = {paths[0]: output}
    else:
        root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
        dest = {p: os.path.join(output, os.path.relpath(os.path.abspath(p), root)) for p in paths}
    _refuse_overwrite(dest)
    return dest


def _refuse_overwrite(dest: Mapping[str, str]) -> None:
    inputs = {os.path.realpath(p) for p in dest}
    for src, out in dest.items():
        if os.path.realpath(out) in inputs:
            raise OutputError(f"{out}: is an input file; fix never overwrites its input "
                              "(use --in-place, which keeps a .bak backup)")
        if src.lower().endswith(".parquet") != out.lower().endswith(".parquet"):
            raise OutputError(f"{out}: the output keeps the input's format, so it must "
                              f"{'' if src.lower().endswith('.parquet') else 'not '}end in .parquet")


def write_bytes_atomic(path: str, data: bytes, like: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically (:func:`~tuneahead_lint.atomic.write_atomic`),
    creating its folder; with ``like``, copy that file's permission bits first."""
    target = real_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target.parent}: cannot create folder: {exc.strerror or exc}") from None
    write_atomic(path, data, like=like)


def backup_path(path: str) -> str:
    return path + ".bak"


def backup_blocks(path: str) -> bool:
    """True when ``path``'s backup exists and holds something other than
    ``path`` itself (a backup equal to the input is left by an interrupted
    run and may be reused)."""
    bak = backup_path(path)
    if not os.path.lexists(bak):
        return False
    try:
        return not filecmp.cmp(path, bak, shallow=False)
    except OSError:
        return True


def replace_in_place(path: str, data: bytes) -> str:
    """Keep ``path`` as ``path.bak`` (refused if a different backup exists),
    then replace the real file behind ``path`` atomically with ``data``.
    Returns the backup's path. Interrupted at any step, ``path`` holds the old
    or the new bytes and the backup is whole or absent."""
    bak = backup_path(path)
    if backup_blocks(path):
        raise OutputError(f"{bak}: backup already exists; remove it or write with -o instead")
    if not os.path.lexists(bak):
        _backup(path, bak)
    write_atomic(path, data, like=path)
    return bak


def _backup(path: str, bak: str) -> None:
    """A hard link to the current file (atomic); a whole copy where links fail."""
    try:
        os.link(real_target(path), bak)
        fsync_dir(real_target(bak).parent)
    except OSError:
        copy_atomic(path, bak)
