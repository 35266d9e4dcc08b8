"""Issue 15, the semantic cascade: does it keep the meaning of the full
MiniLM computation on the 14 instruction sets?

For every set of ``../shared/data/instruct`` this computes the dataset
features twice, exactly (``semantic_sample=0``: MiniLM on every record, as
before) and with the cascade (defaults), and writes
``benchmarks/results/issue15_cascade.{json,md}``:

* near-duplicate recall: exact all-pairs MiniLM pairs at cosine >= 0.95
  found by the cascade (static candidates, exact MiniLM among them);
* sampled vs full: io similarity, output diversity and the centroid outlier
  ratios, with the standard error the cascade states;
* the predictor's score on both feature vectors (points = score x 100);
* TA207 candidates (default margin and z) and TA202 outliers found both ways;
* MiniLM records embedded by the cascade (its cost) against the full count.

MiniLM vectors come from the feature cache (``TUNEAHEAD_CACHE``; run it with
a cache that holds the 14 sets, e.g. /tmp/predict-cache, or it embeds them).
``--timing`` also runs a cold ``lint`` (empty feature cache beside the
cache's ``models/``) on the sets named by ``--only`` under /usr/bin/time.
Run from the repo root:
``TUNEAHEAD_CACHE=/tmp/predict-cache python benchmarks/bench_cascade.py [--only NAME ...] [--timing]``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features_table import DATA, SETS, load_examples  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLED = ("io_semantic_similarity", "output_semantic_diversity",
           "embedding_outlier_ratio", "embedding_outlier_ratio_robust")
_SE = re.compile(r"SE ([0-9.]+)")


def set_paths(name: str) -> list[Path]:
    return [Path(p) for pat in SETS[name] for p in sorted(glob.glob(str(DATA / name / pat)))]


def run_features(examples, cfg):
    """(corpus, values dict, outliers, mismatches) of one configuration."""
    from tuneahead_lint.features import FEATURES, _evidence, _mismatches, _run
    from tuneahead_lint.features.corpus import Corpus

    corpus = Corpus(examples, cfg)
    start = time.perf_counter()
    values = {f.name: _run(f, corpus) for f in FEATURES}
    _, outliers = _evidence(corpus, cfg)
    mismatches = _mismatches(corpus, cfg)
    return corpus, values, outliers, mismatches, time.perf_counter() - start


def pair_set(corpus) -> set[tuple[int, int]]:
    rows = corpus.dup_rows
    p = corpus.pairs
    return set(zip(rows[p.i].tolist(), rows[p.j].tolist()))


def ta207(mismatches) -> set:
    """Records TA207 reports with its default options."""
    from tuneahead_lint.checks.consistency import misplaced
    from tuneahead_lint.ruleset.registry import find_rule

    opts = find_rule("TA207").defaults()
    return {m.ref for m in mismatches if misplaced(m, float(opts["min_margin"]), float(opts["z"]),
                                                    float(opts["pmi_margin"]), float(opts["min_gap"]))}


def ta202(outliers) -> set:
    return {o.ref for o in outliers if o.robust_z > 3.0}


def predicted(values) -> float:
    from tuneahead_lint.predict.stage import predict_stage

    out = predict_stage(tuple(values.items()), model=None, probe=False, min_score=None)
    return out.prediction.score


def compare(name: str, base_cfg) -> dict:
    examples = [e for e in load_examples(set_paths(name)) if e.ok]
    full_c, full_v, full_o, full_m, full_s = run_features(examples, replace(base_cfg, semantic_sample=0))
    casc_c, casc_v, casc_o, casc_m, casc_s = run_features(examples, base_cfg)
    truth, found = pair_set(full_c), pair_set(casc_c)
    row = {"set": name, "records": len(full_c), "cascade": casc_c.cascade,
           "minilm_records": casc_c.stats.get("embedding", {}).get("records", 0),
           "minilm_texts": [full_c.stats.get("embedding", {}).get("encoded", 0) + full_c.stats.get("embedding", {}).get("cached", 0),
                            casc_c.stats.get("embedding", {}).get("encoded", 0) + casc_c.stats.get("embedding", {}).get("cached", 0)],
           "candidates": casc_c.stats.get("candidates", {}),
           "dup_candidates": len(casc_c.dup_rows), "exact_pairs": len(truth),
           "recall": round(len(truth & found) / len(truth), 4) if truth else 1.0,
           "near_dup_ratio": [full_v["near_dup_ratio"].value, casc_v["near_dup_ratio"].value],
           "seconds_features_warm": [round(full_s, 2), round(casc_s, 2)]}
    for feat in SAMPLED:
        se = _SE.search(casc_v[feat].detail)
        row[feat] = {"full": full_v[feat].value, "sampled": casc_v[feat].value,
                     "se": float(se.group(1)) if se else 0.0}
    row["score"] = [predicted(full_v), predicted(casc_v)]
    t_full, t_casc = ta207(full_m), ta207(casc_m)
    row["ta207"] = {"full": len(t_full), "cascade": len(t_casc), "both": len(t_full & t_casc)}
    o_full, o_casc = ta202(full_o), ta202(casc_o)
    row["ta202"] = {"full": len(o_full), "cascade": len(o_casc), "both": len(o_full & o_casc),
                    "scored": len(casc_c.outlier_rows)}
    return row


def cold_lint(name: str) -> dict:
    """One cold lint (feature cache empty, models installed) under /usr/bin/time."""
    root = Path(os.environ.get("TUNEAHEAD_CACHE", Path.home() / ".cache" / "tuneahead-lint"))
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(root / "models", Path(tmp) / "models")
        for f in root.glob("wordfreq-*.pickle"):
            shutil.copy(f, tmp)
        env = {**os.environ, "TUNEAHEAD_CACHE": tmp}
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "tuneahead_lint", "lint",
               str(DATA / name), "--format", "json", "--fail-on", "never"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    field = {k: v for k, v in re.findall(r"\t(.+?): (.+)", proc.stderr)}
    return {"set": name, "wall_s": round(wall, 1), "cpu_s": round(float(field["User time (seconds)"])
            + float(field["System time (seconds)"]), 1),
            "peak_mb": round(int(field["Maximum resident set size (kbytes)"]) / 1024), "rc": proc.returncode}


def markdown(rows: list[dict]) -> str:
    out = ["| set | n | MiniLM records (cascade) | dup candidates | exact pairs | recall |"
           " near-dup full | near-dup cascade | score full | score cascade | Δ points |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = 100 * (r["score"][1] - r["score"][0])
        out.append(f"| {r['set']} | {r['records']} | {r['minilm_records']} | {r['dup_candidates']} | "
                   f"{r['exact_pairs']} | {r['recall']:.4f} | {r['near_dup_ratio'][0]:.4f} | "
                   f"{r['near_dup_ratio'][1]:.4f} | {r['score'][0]:.4f} | {r['score'][1]:.4f} | {d:+.3f} |")
    out += ["", "| set | feature | full | sampled | SE | |diff|/SE |", "|---|---|---|---|---|---|"]
    for r in rows:
        for feat in SAMPLED:
            f = r[feat]
            ratio = abs(f["sampled"] - f["full"]) / f["se"] if f["se"] else 0.0
            out.append(f"| {r['set']} | {feat} | {f['full']:.4f} | {f['sampled']:.4f} | {f['se']:.4f} | "
                       f"{ratio:.2f} |")
    out += ["", "| set | TA207 full | TA207 cascade | both | TA202 full | TA202 cascade | both | TA202 scored |",
            "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        a, b = r["ta207"], r["ta202"]
        out.append(f"| {r['set']} | {a['full']} | {a['cascade']} | {a['both']} | {b['full']} | "
                   f"{b['cascade']} | {b['both']} | {b['scored']} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    from tuneahead_lint.features import FeatureConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--tag", default="cascade")
    ap.add_argument("--config", default="{}", help="FeatureConfig fields as JSON (default: the defaults)")
    args = ap.parse_args(argv)
    names = args.only or list(SETS)
    if args.timing:
        rows = [cold_lint(n) for n in names]
        print(json.dumps(rows, indent=1))
        (RESULTS / f"issue15_{args.tag}_timing.json").write_text(json.dumps(rows, indent=1) + "\n")
        return 0
    cfg = FeatureConfig(**json.loads(args.config))
    rows = []
    for name in names:
        rows.append(compare(name, cfg))
        print(json.dumps(rows[-1]), flush=True)
    (RESULTS / f"issue15_{args.tag}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (RESULTS / f"issue15_{args.tag}.md").write_text(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
