"""Read every instruction set under a data folder and print counts per set.

Usage: python benchmarks/read_all_sets.py [DATA_DIR]   (default: ../shared/data/instruct)

One row per set (top-level folder): files, records, unreadable records, the
majority format, every format seen, the problem checks seen, and seconds.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from tuneahead_lint.readers import discover, majority_format, read

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruct"


def read_set(folder: Path) -> tuple[int, int, int, Counter, Counter]:
    """(files, records, unreadable, format counts, problem counts) of one set."""
    files = discover([str(folder)])
    formats: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    records = unreadable = 0
    for path in files:
        for example in read(path):
            records += 1
            unreadable += not example.ok
            formats[example.format] += 1
            problems.update(p.check for p in example.problems)
    return len(files), records, unreadable, formats, problems


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else DEFAULT
    print(f"{'set':40} {'files':>5} {'records':>8} {'bad':>5} {'format':18} {'sec':>5}  details")
    total = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        start = time.perf_counter()
        files, records, bad, formats, problems = read_set(folder)
        total += records
        seconds = time.perf_counter() - start
        detail = f"formats={dict(formats)} problems={dict(sorted(problems.items()))}"
        print(f"{folder.name:40} {files:5} {records:8} {bad:5} "
              f"{majority_format(formats.elements()):18} {seconds:5.1f}  {detail}")
    print(f"total records: {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
