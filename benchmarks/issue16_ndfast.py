"""TA121 lexical-near-duplicates over the 14 ../shared/data/instruct sets:
clusters and records flagged per set, and the flagged pairs to read by hand.

    PYTHONPATH=$PWD python benchmarks/issue16_ndfast.py                 # counts (rule defaults)
    PYTHONPATH=$PWD python benchmarks/issue16_ndfast.py --read 12       # + 12 pairs per set
    PYTHONPATH=$PWD python benchmarks/issue16_ndfast.py --min-jaccard 0.5 --min-response-jaccard 0 --sweep

Each set's folder is one dataset (as a lint of the folder sees it). ``--sweep``
counts, from one permissive run, the records flagged at stricter thresholds
(the Jaccard and response Jaccard of each member to its kept record).
Results and hand verdicts: benchmarks/results/issue16_ndfast_s21.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "instruct"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/instruct")

from tuneahead_lint.checks import CheckContext  # noqa: E402
from tuneahead_lint.checks.neardup import LexicalNearDuplicates  # noqa: E402
from tuneahead_lint.checks.stream import run_over  # noqa: E402
from tuneahead_lint.readers import discover, read  # noqa: E402
from tuneahead_lint.ruleset.registry import find_rule  # noqa: E402

GRID = [(0.6, 0.5), (0.7, 0.0), (0.7, 0.5), (0.7, 0.6), (0.8, 0.5), (0.8, 0.7)]


def records(folder: Path) -> list:
    return [ex for path in discover([str(folder)]) for ex in read(path)]


def pairs(examples: list, options: dict) -> list[tuple[object, object, float, float]]:
    """(kept, near-copy, Jaccard, response Jaccard) of every near-copy a TA121 finding names."""
    by_number = {(ex.path, ex.index + 1): ex for ex in examples if ex.ok}
    by_line = {(ex.path, ex.line): ex for ex in examples if ex.ok}
    check = LexicalNearDuplicates(CheckContext(options=options))
    hits = list(run_over(check, examples))
    scores = {(m.path, m.index + 1): (t, r) for _, members in check._clusters() for m, t, r in members}
    out = []
    for hit in hits:
        kept, *copies = [by_number[(hit.path, n)] for n in hit.records] + [by_line[r] for r in hit.related]
        out += [(kept, ex, *scores[(ex.path, ex.index + 1)]) for ex in copies]
    return out


def _short(text: str, n: int = 150) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[:n - 3] + "..."


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-jaccard", type=float)
    ap.add_argument("--min-response-jaccard", type=float)
    ap.add_argument("--read", type=int, default=0)
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--only")
    args = ap.parse_args(argv)
    options = find_rule("TA121").defaults()
    if args.min_jaccard is not None:
        options["min_jaccard"] = args.min_jaccard
    if args.min_response_jaccard is not None:
        options["min_response_jaccard"] = args.min_response_jaccard
    print(f"options: {options}")
    head = "| set | records | clusters | records flagged (near-copies) | share | CPU s |"
    if args.sweep:
        head += " " + " | ".join(f"J>={j} R>={r}" for j, r in GRID) + " |"
    print(head)
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        if args.only and args.only not in folder.name:
            continue
        examples = records(folder)
        start = time.process_time()
        found = pairs(examples, options)
        cpu = time.process_time() - start
        n = sum(ex.ok for ex in examples)
        clusters = len({(a.path, a.index) for a, *_ in found})
        row = f"| {folder.name} | {n} | {clusters} | {len(found)} | {len(found) / n:.2%} | {cpu:.2f} |"
        if args.sweep:
            row += " " + " | ".join(str(sum(t >= j and r2 >= r for *_, t, r2 in found)) for j, r in GRID) + " |"
        print(row, flush=True)
        for a, b, t, r in random.Random(21).sample(found, min(args.read, len(found))):
            print(f"    J={t:.2f} R={r:.2f} {Path(a.path).name}:{a.line} ~ :{b.line}")
            print(f"      A prompt: {_short(a.prompt)}\n      A resp:   {_short(a.response)}")
            print(f"      B prompt: {_short(b.prompt)}\n      B resp:   {_short(b.response)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
