"""Run the record-level content rules (TA107-TA116) with ``--fast`` over every
set in ../shared/data/instruct and count findings per rule and set; with
``--synthetic``, also measure TA107's recall on random-character texts.

    python benchmarks/issue16_rules_over_shared.py [--show TA113] [--synthetic]

Results (and the hand-read verdicts) are in
benchmarks/results/issue16_rules_over_shared.md.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "instruct"
RULES = [f"TA{n}" for n in range(107, 117)]


def lint(folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "tuneahead_lint", "--fast", "--format", "json",
                          "--select", ",".join(RULES), str(folder)],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    return json.loads(out.stdout)


def counts(show: str | None) -> None:
    print("| set | records | " + " | ".join(RULES) + " |")
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        report = lint(folder)
        found = Counter(f["rule_id"] for f in report["findings"])
        print(f"| {folder.name} | {report['summary']['records']} | "
              + " | ".join(str(found[r]) for r in RULES) + " |")
        for f in report["findings"]:
            if f["rule_id"] == show:
                print(f"    {Path(f['path']).name}:{f['lines'][0]} {f['message'][:160]}")


def synthetic(n: int = 200, seed: int = 0) -> None:
    """TA107 recall on random strings of 25-300 characters of five kinds."""
    from tuneahead_lint.checks.text import gibberish_reason
    from tuneahead_lint.ruleset.registry import find_rule

    rng = random.Random(seed)
    opts = find_rule("TA107").defaults()
    kinds = {
        "printable": string.ascii_letters + string.digits + string.punctuation,
        "printable+spaces": string.ascii_letters + string.digits + string.punctuation + "   ",
        "alphanumeric": string.ascii_letters + string.digits,
    }
    for name, chars in kinds.items():
        hits = sum(gibberish_reason("".join(rng.choice(chars) for _ in range(rng.randint(25, 300))), opts)
                   is not None for _ in range(n))
        print(f"{name}: {hits}/{n}")
    words = (" ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
                      for _ in range(rng.randint(4, 50))) for _ in range(n))
    print(f"random lower-case words: {sum(gibberish_reason(w, opts) is not None for w in words)}/{n}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--show", help="print the findings of this rule")
    ap.add_argument("--synthetic", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.synthetic:
        synthetic()
    else:
        counts(args.show)
