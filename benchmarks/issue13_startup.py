"""Warm full lint of alpaca_5k_subset: wall and CPU time, and what start-up imports.

Runs ``tuneahead-lint --format json -o /dev/null SET`` from two source trees
(before/after), once to warm the feature cache, then ``--runs`` timed runs;
then once under ``python -X importtime`` to list the heavy modules loaded.

    python benchmarks/issue13_startup.py --before /tmp/before --after . \
        > benchmarks/results/issue13_startup.md
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = "/work/shared/data/instruct/alpaca_5k_subset"
HEAVY = ("lightgbm", "shap", "sklearn", "scipy", "pandas", "numba", "torch", "transformers",
         "sentence_transformers", "onnxruntime", "faiss", "wordfreq", "numpy", "rich", "jsonschema")


def lint(tree: Path, extra: tuple[str, ...] = ()) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s of the child, process) of one lint."""
    cmd = [sys.executable, *extra, "-m", "tuneahead_lint", "--format", "json", "-o", os.devnull, DATA]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)},
                          cwd=tree, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def imports(tree: Path) -> dict[str, float]:
    """Cumulative import seconds of the heavy top-level modules."""
    _, _, proc = lint(tree, ("-X", "importtime"))
    out = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (x.strip() for x in line[len("import time:"):].split("|"))
            if name in HEAVY:
                out[name] = int(cumulative) / 1e6
    return out


def section(label: str, tree: Path, runs: int) -> list[str]:
    lint(tree)  # warm the cache
    timed = [lint(tree)[:2] for _ in range(runs)]
    load = os.getloadavg()[0]
    mods = imports(tree)
    rows = [f"## {label} (`{tree}`)", "",
            "| run | wall s | CPU s (user+sys) |", "|---:|---:|---:|"]
    rows += [f"| {i + 1} | {w:.1f} | {c:.1f} |" for i, (w, c) in enumerate(timed)]
    rows += ["", f"load average after the runs: {load:.1f} (2 cores, shared with other jobs)", "",
             "`-X importtime`, cumulative seconds: " + (", ".join(
                 f"{k} {v:.2f}" for k, v in sorted(mods.items(), key=lambda kv: -kv[1])) or "none"), ""]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out = ["# Issue 13: warm full lint of alpaca_5k_subset (start-up)", "",
           f"`tuneahead-lint --format json -o /dev/null {DATA}`, cache warm (one untimed run first); "
           "`benchmarks/issue13_startup.py`. Wall times on a contended machine: compare CPU seconds.", ""]
    out += section("before", args.before.resolve(), args.runs)
    out += section("after", args.after.resolve(), args.runs)
    print("\n".join(out))


if __name__ == "__main__":
    main()
