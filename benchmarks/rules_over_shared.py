"""Run selected rules over every set in ../shared/data/instruct and count flags.

    PYTHONPATH=$PWD python benchmarks/rules_over_shared.py TA117,TA118 [--full] [--out DIR] [--config TOML]

Writes one JSON report per set to --out (default /tmp/rules_over_shared) and
prints a table: set, records, flags per rule, seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruct"


def run(set_dir: Path, rules: str, full: bool, out: Path, config: str = "") -> tuple[dict, float]:
    dest = out / f"{set_dir.name}.json"
    cmd = [sys.executable, "-m", "tuneahead_lint", "--format", "json", "--select", rules,
           "--fail-on", "never", "-o", str(dest), str(set_dir)]
    if not full:
        cmd.insert(3, "--fast")
    if config:
        cmd[3:3] = ["--config", config]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return json.loads(dest.read_text()), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rules")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--out", default="/tmp/rules_over_shared")
    ap.add_argument("--sets", default="")
    ap.add_argument("--config", default="", help="config file (rule options, e.g. TA207 pmi_candidates)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ids = args.rules.split(",")
    print("| set | records | " + " | ".join(ids) + " | s |")
    print("|---|---|" + "---|" * len(ids) + "---|")
    chosen = set(args.sets.split(",")) if args.sets else None
    for d in sorted(p for p in SHARED.iterdir() if p.is_dir()):
        if chosen and d.name not in chosen:
            continue
        rep, secs = run(d, args.rules, args.full, out, args.config)
        counts = Counter()
        for f in rep["findings"]:
            counts[f["rule_id"]] += max(1, f.get("lines_total") or 1) if f["rule_id"] == "TA117" else 1
        n = rep["summary"]["records"]
        print(f"| {d.name} | {n} | " + " | ".join(str(counts[i]) for i in ids) + f" | {secs:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
