"""Line counts of the default text report on every set in ../shared/data/instruct.

Issue 13 asks for a report of at most 150 lines by default. This script runs
``tuneahead-lint --no-color [--fast] SET`` from a source tree (``--tree``,
default: this checkout) and records the number of lines each report has:

    python benchmarks/issue13_linecounts.py --tree /tmp/before --label before --out before.json
    python benchmarks/issue13_linecounts.py --label after --out after.json --full-sets a,b
    python benchmarks/issue13_linecounts.py --markdown before.json after.json \
        > benchmarks/results/issue13_linecounts.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("TUNEAHEAD_INSTRUCT", "/work/shared/data/instruct"))


def count_lines(tree: Path, dataset: Path, fast: bool) -> dict:
    """Run the linter on ``dataset`` and count the lines of its text report."""
    cmd = [sys.executable, "-m", "tuneahead_lint", "--no-color", *(["--fast"] if fast else []), str(dataset)]
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "100"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree, check=False)
    return {"lines": len(proc.stdout.splitlines()), "exit": proc.returncode,
            "seconds": round(time.perf_counter() - start, 1)}


def measure(tree: Path, label: str, full: set[str] | None) -> dict:
    """Counts for every set: ``{set: {"fast": {...}, "full": {...}}}``; the
    full lint only for the sets in ``full`` (``None``: every set)."""
    out: dict = {"label": label, "sets": {}}
    for dataset in sorted(p for p in DATA.iterdir() if p.is_dir()):
        row = {"fast": count_lines(tree, dataset, fast=True)}
        if full is None or dataset.name in full:
            row["full"] = count_lines(tree, dataset, fast=False)
        out["sets"][dataset.name] = row
        print(dataset.name, row, file=sys.stderr, flush=True)
    return out


def markdown(before: dict, after: dict) -> str:
    """A before/after table of the line counts."""
    rows = ["# Issue 13: lines of the default text report, before and after", "",
            f"`tuneahead-lint --no-color [--fast] SET` on every set in {DATA}; "
            "`benchmarks/issue13_linecounts.py` (columns: lines of stdout; exit code).", "",
            "| set | --fast before | --fast after | full before | full after |",
            "|---|---:|---:|---:|---:|"]
    for name, row in sorted(after["sets"].items()):
        old = before["sets"].get(name, {})
        cells = [_cell(old.get("fast")), _cell(row.get("fast")), _cell(old.get("full")), _cell(row.get("full"))]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    worst = max(r[k]["lines"] for r in after["sets"].values() for k in r)
    rows += ["", f"Largest report after: {worst} lines (goal: at most 150). n/a: the full lint was not "
             "run on that set (a cold full lint took 4 to 16 minutes on the shared 2-core machine)."]
    return "\n".join(rows) + "\n"


def _cell(run: dict | None) -> str:
    return "n/a" if not run else f"{run['lines']:,} (exit {run['exit']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--full", action="store_true", help="also run the full lint (embeddings, predictor)")
    parser.add_argument("--full-sets", help="comma-separated sets to run the full lint on (default with --full: all)")
    parser.add_argument("--markdown", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.markdown:
        before, after = (json.loads(p.read_text()) for p in args.markdown)
        sys.stdout.write(markdown(before, after))
        return
    full = set(args.full_sets.split(",")) if args.full_sets else None if args.full else set()
    result = json.dumps(measure(args.tree.resolve(), args.label, full), indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(result + "\n")
    else:
        print(result)


if __name__ == "__main__":
    main()
