"""Issue 16, base-model record checks: TA207's PMI gap and TA118's end-of-turn
probability on a planted set, swept over their thresholds.

    PYTHONPATH=$PWD python benchmarks/issue16_pmi_eos.py score SET_DIR OUT.json \\
        [--pmi-candidates 256] [--end-candidates 100000]
    PYTHONPATH=$PWD python benchmarks/issue16_pmi_eos.py sweep OUT.json [OUT2.json ...]
    PYTHONPATH=$PWD python benchmarks/issue16_pmi_eos.py cost PATH... --pmi-candidates 16 --end-candidates 32

``score`` runs the feature stage (embeddings, base model; cache in
$TUNEAHEAD_CACHE) with the given caps and TA118's text heuristics, and writes
per scored record: class, PMI gap, end-of-turn log p, the heuristics' reason.
``cost`` runs the feature stage on PATHS with the given caps and prints the CPU
seconds spent in the base-model pair scoring (the stage TA207/TA118 add; cold
when $TUNEAHEAD_CACHE holds no pair scores) and in the whole stage. ``sweep`` prints recall of the planted mismatched pairs / truncated responses
and clean records flagged at several thresholds. Results:
benchmarks/results/issue16_pmi_eos.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def score(folder: Path, out: Path, pmi: int, ends: int) -> None:
    import tuneahead_lint.checks.consistency  # noqa: F401  (registers the checks)
    from tuneahead_lint.checks import CHECKS, CheckContext
    from tuneahead_lint.features import FeatureConfig, compute_features
    from tuneahead_lint.readers import read
    from tuneahead_lint.ruleset.registry import find_rule

    truth = json.loads((folder / "truth.json").read_text())
    cls = {row["line"]: row["class"] for row in truth["lines"]}
    examples = [e for e in read(str(folder / "planted.jsonl")) if e.ok]
    start, cpu = time.perf_counter(), time.process_time()
    result = compute_features(examples, FeatureConfig(pmi_candidates=pmi, end_candidates=ends))
    timing = {"wall_s": round(time.perf_counter() - start, 1), "cpu_s": round(time.process_time() - cpu, 1),
              "stages": dict(result.timings), "pair_scores": dict(result.stats).get("pair_scores")}
    opts = find_rule("TA118").defaults()
    reasons = {h.lines[0]: dict(h.evidence)["reason"]
               for h in CHECKS["truncated_response"](examples, CheckContext(options=opts))}
    rows = {}
    for m in result.mismatches:
        rows.setdefault(m.ref[1], {})["gap"] = None if math.isnan(m.pmi_gap) else m.pmi_gap
    for e in result.endings:
        rows.setdefault(e.ref[1], {})["end"] = e.end_logp
    for line, share in _shares(examples, pmi).items():
        if line in rows and rows[line].get("gap") is not None:
            rows[line]["share"] = share
    for line, reason in reasons.items():
        rows.setdefault(line, {})["reason"] = reason
    for line, row in rows.items():
        row["class"] = cls.get(line, "?")
    out.write_text(json.dumps({"set": str(folder), "timing": timing,
                               "plants": {c: sum(1 for v in cls.values() if v == c)
                                          for c in ("mismatched_pair", "truncated", "clean")},
                               "rows": {str(k): v for k, v in sorted(rows.items())}}, indent=1))


def _shares(examples, pmi: int) -> dict[int, float]:  # noqa: ANN001
    """line -> random share of the PMI candidates (their order under a cap)."""
    from tuneahead_lint.features import FeatureConfig
    from tuneahead_lint.features.corpus import Corpus

    corpus = Corpus(examples, FeatureConfig(pmi_candidates=pmi))
    rows, share = corpus.pair_scores[0], corpus.random_share
    return {corpus.refs[int(r)][1]: round(float(v), 4) for r, v in zip(rows, share) if v > 0}


def cost(paths: list[str], pmi: int, ends: int) -> None:
    import tuneahead_lint.features.pmi as pmi_mod
    from tuneahead_lint.features import FeatureConfig, compute_features
    from tuneahead_lint.readers import read

    spent = {"cpu_s": 0.0, "wall_s": 0.0}
    inner = pmi_mod.pair_scores

    def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent["cpu_s"] += time.process_time() - cpu
            spent["wall_s"] += time.perf_counter() - wall

    pmi_mod.pair_scores = timed
    examples = [e for p in paths for e in read(p) if e.ok]
    cpu, wall = time.process_time(), time.perf_counter()
    result = compute_features(examples, FeatureConfig(pmi_candidates=pmi, end_candidates=ends))
    print(json.dumps({"records": len(examples), "pmi_candidates": pmi, "end_candidates": ends,
                      "pair_scores": {k: round(v, 1) for k, v in spent.items()},
                      "features": {"cpu_s": round(time.process_time() - cpu, 1),
                                   "wall_s": round(time.perf_counter() - wall, 1)},
                      "stats": dict(result.stats).get("pair_scores"),
                      "flags_pmi_gap_le_-0.05": sum(1 for m in result.mismatches if m.pmi_gap <= -0.05),
                      "endings": len(result.endings)}, indent=1))


def sweep(paths: list[Path]) -> None:
    from tuneahead_lint.checks.consistency import judged_by_model

    for path in paths:
        data = json.loads(path.read_text())
        rows, plants = data["rows"].values(), data["plants"]
        print(f"\n{data['set']}: {data['timing']}")
        print("| PMI gap <= | mismatched found | clean flagged |\n|---|---|---|")
        for margin in (0.0, 0.02, 0.05, 0.1, 0.2):
            hit = [r for r in rows if r.get("gap") is not None and r["gap"] <= -margin]
            print(f"| -{margin} | {_n(hit, 'mismatched_pair')}/{plants['mismatched_pair']} | "
                  f"{_n(hit, 'clean')}/{plants['clean']} |")
        print("\n| cap (most random first) | mismatched found | clean flagged |\n|---|---|---|")
        scored = sorted((r for r in rows if r.get("gap") is not None), key=lambda r: -r.get("share", 0))
        for cap in (8, 16, 32, 64, 128, len(scored)):
            hit = [r for r in scored[:cap] if r["gap"] <= -0.05]
            print(f"| {cap} | {_n(hit, 'mismatched_pair')} | {_n(hit, 'clean')} |")
        print("\n| max_end_logp | min_end_logp | truncated found | clean flagged | added | vetoed |\n|---|---|---|---|---|---|")
        for hi in (-6.0, -8.0, -10.0, -12.0, -15.0):
            for lo in (-0.5, -1.0, -2.0, None):
                got = [r for r in rows if _judged(r, hi, lo, judged_by_model)]
                added = [r for r in got if not r.get("reason")]
                vetoed = [r for r in rows if r.get("reason") and r not in got]
                print(f"| {hi} | {lo} | {_n(got, 'truncated')}/{plants['truncated']} | "
                      f"{_n(got, 'clean')}/{plants['clean']} | {_n(added, 'truncated')} T, {_n(added, 'clean')} C | "
                      f"{_n(vetoed, 'truncated')} T, {_n(vetoed, 'clean')} C |")


def _judged(row: dict, hi: float, lo: float | None, judge) -> bool:  # noqa: ANN001
    end = row.get("end")
    return bool(judge(row.get("reason", ""), end, hi, lo if lo is not None else math.inf))


def _n(rows: list[dict], cls: str) -> int:
    return sum(1 for r in rows if r["class"] == cls)


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score")
    s.add_argument("folder", type=Path)
    s.add_argument("out", type=Path)
    s.add_argument("--pmi-candidates", type=int, default=256)
    s.add_argument("--end-candidates", type=int, default=100000)
    c = sub.add_parser("cost")
    c.add_argument("paths", nargs="+")
    c.add_argument("--pmi-candidates", type=int, default=16)
    c.add_argument("--end-candidates", type=int, default=32)
    w = sub.add_parser("sweep")
    w.add_argument("paths", type=Path, nargs="+")
    args = ap.parse_args()
    if args.cmd == "score":
        score(args.folder, args.out, args.pmi_candidates, args.end_candidates)
    elif args.cmd == "cost":
        cost(args.paths, args.pmi_candidates, args.end_candidates)
    else:
        sweep(args.paths)


if __name__ == "__main__":
    main()
