"""Issue 15: where the cascade costs more than the exact path it replaces.

For each set: the share of records in a near-duplicate candidate pair or the
seeded sample (what ``cascade_max_share`` is compared with), and the warm
feature CPU seconds (feature cache filled, reference perplexity skipped) of
the exact path (``semantic_sample=0``) and of the cascade forced on
(``cascade_max_share=2``), with the MiniLM texts each needs. A cold run adds
the MiniLM cost of those texts (per-text CPU from ``issue15_speed.md``).

``TUNEAHEAD_CACHE=/tmp/predict-cache python benchmarks/bench_cascade_fallback.py SET... [--out F]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from features_table import load_examples  # noqa: E402
from bench_cascade import set_paths  # noqa: E402

MINILM_CPU_PER_TEXT = 50.1 / 5500  # 1 thread, issue15_speed.md section 1


def warm_run(examples, cfg) -> tuple[float, dict]:
    from tuneahead_lint.features import compute_features

    compute_features(examples, cfg)  # fills the static and candidate caches
    start = time.process_time()
    res = compute_features(examples, cfg)
    return time.process_time() - start, dict(res.stats)


def texts(stats: dict) -> int:
    emb = stats.get("embedding", {})
    return int(emb.get("distinct", 0))


def measure(name: str, cfg) -> dict:
    examples = [e for e in load_examples(set_paths(name)) if e.ok]
    exact_s, exact = warm_run(examples, replace(cfg, semantic_sample=0))
    casc_s, casc = warm_run(examples, replace(cfg, cascade_max_share=2.0))
    row = {"set": name, "records": len(examples), "candidate_share": casc["cascade"]["candidate_share"],
           "warm_cpu_s": [round(exact_s, 2), round(casc_s, 2)], "minilm_texts": [texts(exact), texts(casc)]}
    row["cold_cpu_s_est"] = [round(s + MINILM_CPU_PER_TEXT * t, 1) for s, t in zip(row["warm_cpu_s"], row["minilm_texts"])]
    return row


def main(argv: list[str] | None = None) -> int:
    from tuneahead_lint.features import FeatureConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    cfg = FeatureConfig(cache_dir=os.environ.get("TUNEAHEAD_CACHE"), skip=frozenset({"base_model"}))
    rows = []
    for name in args.sets:
        rows.append(measure(name, cfg))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
