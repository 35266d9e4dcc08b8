"""Near-duplicate search over 1M synthetic-but-realistic 384-d embeddings.

Realistic: every synthetic vector is a mixture of real all-MiniLM-L6-v2
record vectors of shared instruction sets (``--sets``, default all 14; up to
1,000 seeded records each, read from the feature cache, embedded on a miss) plus noise, so it lives where real instruction data
lives; about 1% of rows are planted near-duplicates (copies with cosine
0.96-0.995 to their source, in groups of 2-4).

Measures the approximate (IVF) search and clustering time, peak memory, the
recall against exact search on a seeded sample of 2,000 query rows, and the
recall of the planted pairs. Target: <= 10 minutes, recall >= 0.95.
Prints JSON and writes benchmarks/results/bench_dedup_1m.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features_table import RESULTS, SETS, _sample, dataset_paths, load_examples  # noqa: E402

from tuneahead_lint.features import FeatureConfig  # noqa: E402
from tuneahead_lint.features.corpus import Corpus  # noqa: E402
from tuneahead_lint.features.embed.index import clusters_from_pairs, pair_recall, similar_pairs  # noqa: E402

def real_vectors(sets: list[str], per_set: int, backend: str = "onnx") -> np.ndarray:
    """Record vectors of real data: the same seeded samples of the shared
    sets that ``features_table.py --max-records`` embeds (cache hits after it).
    fp32 ONNX by default: the vectors only seed the synthetic distribution,
    and the fp32 ones are in the cache from the feature table runs."""
    cfg = FeatureConfig(embed_backend=backend)
    return np.vstack([Corpus(_sample(load_examples(dataset_paths(s)), per_set), cfg).vectors.record
                      for s in sets])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthesize(real: np.ndarray, n: int, dup_share: float, seed: int) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """n rows: real mixtures plus noise, then planted near-duplicate groups.
    Returns float32 unit rows and the planted (source, copy) pairs."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, real.shape[1]), np.float32)
    block = 100_000
    for s in range(0, n, block):
        m = min(block, n - s)
        a, b = real[rng.integers(len(real), size=m)], real[rng.integers(len(real), size=m)]
        w = rng.uniform(0.0, 0.45, size=(m, 1))
        noise = rng.normal(scale=0.03, size=a.shape)
        x[s:s + m] = _unit((1 - w) * a + w * b + noise)
    planted: set[tuple[int, int]] = set()
    copies = int(n * dup_share)
    targets = rng.choice(n, size=copies, replace=False)
    sources = rng.choice(np.setdiff1d(np.arange(n), targets), size=copies // 3 + 1, replace=False)
    for k, t in enumerate(targets):
        src = int(sources[k % len(sources)])
        scale = rng.uniform(0.004, 0.01)
        x[t] = _unit(x[src:src + 1] + rng.normal(scale=scale, size=(1, x.shape[1])))[0]
        planted.add((min(src, int(t)), max(src, int(t))))
    return x, planted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--assign", type=int, default=2, help="inverted lists per vector")
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--per-set", type=int, default=1000, help="real records per shared set")
    ap.add_argument("--sets", nargs="*", default=list(SETS), help="shared sets giving real vectors")
    ap.add_argument("--embed-backend", default="onnx", help="embedder backend for the real vectors")
    args = ap.parse_args(argv)
    out: dict = {"n": args.n, "threshold": args.threshold, "cpus": os.cpu_count(),
                 "load_before": os.getloadavg()[0], "target_seconds": 600, "target_recall": 0.95}
    t = time.perf_counter()
    real = real_vectors(args.sets, args.per_set, args.embed_backend)
    x, planted = synthesize(real, args.n, 0.01, seed=0)
    out.update(real_vectors=len(real), real_sets=args.sets, build_seconds=round(time.perf_counter() - t, 1))
    del real
    t = time.perf_counter()
    pairs = similar_pairs(x, args.threshold, exact_max=50_000, assign=args.assign)
    out["search_seconds"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    clusters = clusters_from_pairs(x, pairs, args.threshold)
    out["cluster_seconds"] = round(time.perf_counter() - t, 1)
    out["dedup_seconds"] = round(out["search_seconds"] + out["cluster_seconds"], 1)
    t = time.perf_counter()
    recall, exact_pairs, queries = pair_recall(x, pairs, args.threshold, queries=2000)
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    planted_true = {p for p in planted if float(x[p[0]] @ x[p[1]]) >= args.threshold}
    out.update(method=pairs.method, pairs=int(len(pairs.i)), clusters=len(clusters),
               clustered_records=sum(len(c.members) for c in clusters),
               recall_sample=round(recall, 4), recall_exact_pairs=exact_pairs, recall_queries=queries,
               recall_planted=round(len(found & planted_true) / max(len(planted_true), 1), 4),
               planted_pairs=len(planted_true), recall_seconds=round(time.perf_counter() - t, 1),
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
               load_after=os.getloadavg()[0])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_dedup_1m.json").write_text(json.dumps(out, indent=1, sort_keys=True))
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
