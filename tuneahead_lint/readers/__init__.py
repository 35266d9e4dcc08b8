"""Input readers: find data files and stream their records as :class:`Example`.

Public API (used by the pipeline)::

    discover(paths) -> list[str]            files to read, sorted, deduplicated
    read(path, fmt=None) -> Records         iterator of Example, one per record
    FORMATS                                 record format names (see formats.py)

Containers (JSON Lines, JSON array, Parquet, gzip) are in ``containers.py``;
record formats in ``formats.py``; JSON decoding in ``records.py``. Problems in
the data never raise: they are :class:`~tuneahead_lint.types.Problem` objects
on the example (``invalid_json``, ``not_object``, ``invalid_utf8``, ``bom``,
``missing_field``, ``empty_field``, ``non_string``, ``unknown_format``).
:class:`InputError` is raised only for paths that cannot be read at all.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from tuneahead_lint.errors import InputError
from tuneahead_lint.readers.containers import pieces
from tuneahead_lint.readers.formats import FORMATS, UNKNOWN
from tuneahead_lint.readers.records import to_example
from tuneahead_lint.readers.scan import FILE_NOTES, is_file_note
from tuneahead_lint.types import Example, FileSummary, Problem

__all__ = ["DATA_SUFFIXES", "FILE_NOTES", "FORMATS", "InputError", "RecordSource", "Records", "UNKNOWN",
           "UnknownFormat", "discover", "is_file_note", "majority_format", "path_problem", "read"]

DATA_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".parquet")


class UnknownFormat(InputError, ValueError):
    """``--input-format`` (or ``format`` in the config) names no known format."""

    def __init__(self, fmt: str) -> None:
        super().__init__("--input-format", None, f"unknown format {fmt!r}; expected one of "
                         + ", ".join(FORMATS))


def discover(paths: Sequence[str]) -> list[str]:
    """Files to read: each file as given, each directory searched recursively
    for ``DATA_SUFFIXES`` (hidden files and directories skipped).

    :returns: normalised paths, sorted, each real file once.
    :raises InputError: a path does not exist, or a directory holds no data file.
    """
    found: dict[str, str] = {}
    for path in paths:
        for file in _expand(path):
            found.setdefault(os.path.realpath(file), os.path.normpath(file))
    return sorted(set(found.values()))


def _expand(path: str) -> list[str]:
    """Files under ``path``. A named path that cannot be read is an error; an
    unreadable entry inside a folder is listed (``read`` reports it)."""
    problem = path_problem(path) if os.path.lexists(path) else "no such file or directory"
    if problem is not None:
        raise InputError(path, None, problem)
    if os.path.isfile(path):
        return [path]
    errors: list[OSError] = []
    files = [os.path.join(root, name)
             for root, dirs, names in os.walk(path, onerror=errors.append)
             if not _prune_hidden(dirs)
             for name in names if name.lower().endswith(DATA_SUFFIXES) and not name.startswith(".")]
    files += [os.fsdecode(e.filename) for e in errors if e.filename is not None]
    if not files:
        raise InputError(path, None, "directory has no data files (" + ", ".join(
            "*" + s for s in DATA_SUFFIXES) + ")")
    return files


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be read as a data file, or None when it can."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if os.path.islink(path):
            return f"broken symlink to {os.readlink(path)!r}"
        return exc.strerror or str(exc)
    if stat.S_ISDIR(mode):
        return None if os.access(path, os.R_OK | os.X_OK) else "folder not readable: permission denied"
    if not stat.S_ISREG(mode):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
        return f"not a regular file ({kind}); only regular files are read"
    return None if os.access(path, os.R_OK) else "permission denied"


def _prune_hidden(dirs: list[str]) -> bool:
    """Drop hidden directories from an os.walk listing in place (returns False)."""
    dirs[:] = [d for d in dirs if not d.startswith(".")]
    return False


def read(path: str, fmt: str | None = None) -> Records:
    """Stream the records of one file as :class:`Example` objects, in file order.

    A path that exists but cannot be read (no permission, symlink loop,
    broken link, FIFO or device, unreadable folder) gives one example with an
    ``unreadable`` problem: :func:`discover` lists such entries of a folder.

    :param fmt: a name from ``FORMATS`` to use for every record instead of
        per-record detection.
    :raises InputError: the file is missing or a readable directory (at the
        call; an open that still fails raises on the first ``next``), or
        ``fmt`` is not in ``FORMATS``.
    """
    if fmt is not None and fmt not in FORMATS:
        raise UnknownFormat(fmt)
    problem = path_problem(path) if os.path.lexists(path) else "no such file"
    if problem is None and os.path.isdir(path):
        raise InputError(path, None, "is a directory")
    if problem == "no such file":
        raise InputError(path, None, problem)
    if problem is not None:
        return Records(path, iter([_unreadable(path, problem)]))
    return Records(path, _examples(path, fmt))


def _unreadable(path: str, problem: str) -> Example:
    return Example(path, 1, 0, UNKNOWN, (), (Problem("unreadable", problem),), "")


def _examples(path: str, fmt: str | None) -> Iterator[Example]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by ``with`` below
    except OSError as exc:
        raise InputError(path, None, exc.strerror or str(exc)) from exc
    with handle:
        for index, piece in enumerate(pieces(path, handle)):
            yield to_example(path, index, piece, fmt)


class Records(Iterator[Example]):
    """Iterator over one file's examples that counts formats as it goes;
    after the last example ``format`` is the file's majority format."""

    def __init__(self, path: str, examples: Iterator[Example]) -> None:
        self.path = path
        self._examples = examples
        self.formats: Counter[str] = Counter()
        self.records = self.unreadable = 0

    def __next__(self) -> Example:
        example = next(self._examples)
        if is_file_note(example):
            return example
        self.records += 1
        self.unreadable += not example.ok
        self.formats[example.format] += 1
        return example

    def close(self) -> None:
        """Close the file early (when not iterating to the end)."""
        self._examples.close()  # type: ignore[attr-defined]

    @property
    def format(self) -> str:
        return majority_format(self.formats.elements())

    def summary(self) -> FileSummary:
        """Counts so far as a :class:`FileSummary`."""
        return FileSummary(self.path, self.format, self.records, self.unreadable)


class RecordSource:
    """The records of ``files`` in order, read from disk again on every
    ``iter``: what the record checks stream over (nothing is held). Also a
    minimal sequence (``bool``, ``[i]``, ``len`` each read the files) for
    the checks that look at the first record."""

    def __init__(self, files: Sequence[str], fmt: str | None = None) -> None:
        if fmt is not None and fmt not in FORMATS:
            raise UnknownFormat(fmt)
        self.files, self.fmt = tuple(files), fmt

    def __iter__(self) -> Iterator[Example]:
        for path in self.files:
            yield from read(path, self.fmt)

    def __getitem__(self, i: int) -> Example:
        found = next(itertools.islice(iter(self), i, None), None) if i >= 0 else None
        if found is None:
            raise IndexError(i)
        return found

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self)


def majority_format(formats: Iterable[str]) -> str:
    """The most common known format (ties: earlier in ``FORMATS``); 'unknown' if none."""
    counts = Counter(f for f in formats if f != UNKNOWN)
    if not counts:
        return UNKNOWN
    return max(counts, key=lambda f: (counts[f], -FORMATS.index(f)))
