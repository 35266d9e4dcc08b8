"""Byte-compare ``lint --fast --format json`` of two checkouts (issue 15).

Usage: python benchmarks/compare_fast_json.py BEFORE_SRC AFTER_SRC OUT_DIR [SET ...]

For each instruction set (folder names under ../shared/data/instruct; by
default four of them), runs the linter from BEFORE_SRC and from AFTER_SRC
(each a checkout, e.g. ``git archive`` of main unpacked in a folder) with the
data folder as working directory, so that paths in the reports are the same,
writes both reports to OUT_DIR and prints one line per set: same or the
first differing line. Exits 1 when any report differs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruct"
DEFAULT_SETS = ("alpaca_5k_subset", "dolly_hhrlhf_train_small", "oasst1_zh_sft_llamafactory",
                "hh_rlhf_harmless_base_test")


def report(src: str, name: str, out: Path) -> bytes:
    """The JSON report of set ``name`` linted with the code in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    subprocess.run([sys.executable, "-m", "tuneahead_lint", "lint", "--fast", "--format", "json",
                    "--fail-on", "never", "-o", str(out.resolve()), name], env=env, cwd=DATA, check=True)
    return out.read_bytes()


def first_difference(a: bytes, b: bytes) -> str:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), 1):
        if x != y:
            return f"line {n}: {x[:80]!r} != {y[:80]!r}"
    return f"lengths {len(a)} != {len(b)}"


def main(argv: list[str]) -> int:
    before, after, out = argv[0], argv[1], Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    differ = 0
    for name in argv[3:] or DEFAULT_SETS:
        a = report(before, name, out / f"{name}.before.json")
        b = report(after, name, out / f"{name}.after.json")
        same = a == b
        differ += not same
        print(f"{name}: {'same' if same else 'DIFFERENT ' + first_difference(a, b)} ({len(a)} bytes)", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
