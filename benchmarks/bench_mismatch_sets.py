"""TA207 over the shared instruction sets (issue 16): per set, the records its
partner test names and those its local fit gap would name at several limits,
with the features computed as the full lint computes them (cascade above 2,000
records; the base model skipped).

    PYTHONPATH=$PWD python benchmarks/bench_mismatch_sets.py OUT.json /work/shared/data/instruct/*

Prints one markdown row per set and writes every candidate (line, record, gap,
own cosine, partner test, prompt and response heads) to OUT.json for reading
by hand (benchmarks/results/issue16_mismatch_s21.md).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuneahead_lint import features  # noqa: E402
from tuneahead_lint.checks.consistency import partnered  # noqa: E402
from tuneahead_lint.readers import discover, read  # noqa: E402
from tuneahead_lint.ruleset.registry import find_rule  # noqa: E402
from tuneahead_lint.types import text_hash  # noqa: E402

LIMITS = (0.16, 0.18, 0.2, 0.25)
SHOWN = 0.2  # the limit of the last column (either test)


def candidates(path: str) -> dict:
    """TA207's candidates of one set, with the local fit gap on (min_gap 0.1)."""
    examples = [e for p in discover([path]) for e in read(p)]
    start = time.process_time()
    cfg = features.FeatureConfig(skip=frozenset({"base_model"}), mismatch_min_gap=0.1)
    result = features.compute_features(examples, cfg)
    opts = find_rule("TA207").defaults()
    by_key = {text_hash(e.prompt, e.response): e for e in examples if e.ok}
    rows = []
    for m in result.mismatches:
        e = by_key.get(m.content_key)
        rows.append({"line": m.ref[1], "record": e.index + 1 if e else None, "gap": m.local_gap, "own": m.own,
                     "partnered": partnered(m, float(opts["min_margin"]), float(opts["z"])),
                     "prompt": e.prompt[:400] if e else "", "response": e.response[:400] if e else ""})
    return {"records": sum(e.ok for e in examples), "cpu_s": round(time.process_time() - start, 1),
            "cascade": dict(result.stats).get("cascade"), "mismatches": rows}


def row(name: str, v: dict) -> str:
    gaps = [m["gap"] for m in v["mismatches"] if not math.isnan(m["gap"])]
    counts = [sum(g >= t for g in gaps) for t in LIMITS]
    either = sum(m["partnered"] or (not math.isnan(m["gap"]) and m["gap"] >= SHOWN) for m in v["mismatches"])
    cascade = v["cascade"] or {}
    mode = "no" if not cascade else ("fallback (all)" if cascade.get("fallback") else "yes")
    cells = [f"{v['records']:,}", mode, str(sum(m["partnered"] for m in v["mismatches"])), *map(str, counts), str(either)]
    return f"| {name} | " + " | ".join(cells) + " |"


def main(argv: list[str]) -> int:
    out, paths = Path(argv[0]), argv[1:]
    print("| set | records | cascade | partner test | " + " | ".join(f"gap >= {t}" for t in LIMITS)
          + f" | TA207 at min_gap {SHOWN} |")
    print("|---|" + "---|" * (4 + len(LIMITS)))
    data = {}
    for path in paths:
        name = Path(path).name
        data[name] = candidates(path)
        print(row(name, data[name]), flush=True)
        out.write_text(json.dumps(data, indent=1, allow_nan=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
