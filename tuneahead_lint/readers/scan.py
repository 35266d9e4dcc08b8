"""What one pass over the records leaves for the report, in compact arrays:
the file summaries, the dataset summary (lengths), the files where records
share a line, and each record's content digest (for per-record
fingerprints). About 50 bytes a record; no text is kept."""

from __future__ import annotations

import statistics
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tuneahead_lint.types import Example, FileSummary, Summary, text_hash

FILE_NOTES = frozenset({"empty_file", "unreadable"})


def is_file_note(example: Example) -> bool:
    """True for the stand-in example of a file with no records or that could
    not be read (it carries the problem; it is not counted as a record)."""
    return not example.ok and bool(example.problems) and all(
        p.check in FILE_NOTES for p in example.problems)


@dataclass
class _File:
    """One file's counts and, per example in read order, line, index and digest."""

    formats: Counter[str] = field(default_factory=Counter)
    records: int = 0
    unreadable: int = 0
    lines: array = field(default_factory=lambda: array("q"))
    indexes: array = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)


class Scan:
    """Feed every example once with :meth:`add`, in read order."""

    def __init__(self, paths: Sequence[str] = ()) -> None:
        self.files: dict[str, _File] = {p: _File() for p in paths}
        self.first_path: str | None = None
        self.formats: Counter[str] = Counter()
        self.lengths = {name: array("q") for name in ("prompt", "response", "turns")}

    def add(self, ex: Example) -> None:
        if self.first_path is None:
            self.first_path = ex.path
        f = self.files.setdefault(ex.path, _File())
        f.lines.append(ex.line)
        f.indexes.append(ex.index)
        f.digests += bytes.fromhex(ex.raw_hash or text_hash(*(p for t in ex.turns for p in (t.role, t.content))))
        if not is_file_note(ex):
            f.records += 1
            f.unreadable += not ex.ok
        if ex.ok:
            f.formats[ex.format] += 1
            self.formats[ex.format] += 1
            for name, n in (("prompt", len(ex.prompt)), ("response", len(ex.response)), ("turns", len(ex.turns))):
                self.lengths[name].append(n)

    def file_summaries(self) -> list[FileSummary]:
        return [FileSummary(path, f.formats.most_common(1)[0][0] if f.formats else "unknown",
                            f.records, f.unreadable) for path, f in self.files.items()]

    def summary(self) -> Summary:
        stats: list[tuple[str, float]] = []
        for part in ("prompt", "response"):
            stats += _stats(f"{part}_chars", self.lengths[part])
        stats += _stats("turns", self.lengths["turns"])
        files = self.file_summaries()
        return Summary(tuple(files), sum(f.records for f in files), tuple(sorted(self.formats.items())),
                       tuple(stats))

    def one_line_files(self) -> frozenset[str]:
        """Files where line numbers do not identify records (e.g. a JSON
        array written on one line): findings there also name the record number."""
        return frozenset(path for path, f in self.files.items() if len(set(f.lines)) < len(f.lines))

    def record_hashes(self, wanted: Iterable[tuple]) -> dict[tuple, str]:
        """(path, line) and (path, "#", record number) -> content hash of
        the record there (the first record of a shared line), for ``wanted``."""
        wanted = set(wanted)
        out: dict[tuple, str] = {}
        for path in sorted({key[0] for key in wanted}):
            f = self.files.get(path)
            for i, (line, index) in enumerate(zip(f.lines, f.indexes) if f else ()):
                by_line, by_record = (path, line), (path, "#", index + 1)
                if by_line in wanted or by_record in wanted:
                    key = f.digests[32 * i:32 * i + 32].hex()
                    out.setdefault(by_line, key)
                    out[by_record] = key
        return out


def _stats(name: str, values: array) -> list[tuple[str, float]]:
    """Mean, median (upper) and max of ``values`` as summary pairs."""
    if not values:
        return []
    lens = sorted(values)
    return [(f"{name}_mean", statistics.fmean(lens)), (f"{name}_p50", float(lens[len(lens) // 2])),
            (f"{name}_max", float(lens[-1]))]
