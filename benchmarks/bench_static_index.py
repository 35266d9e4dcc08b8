"""Recall and time of the approximate (IVF) static candidate search against
the exact one (issue 15).

Usage: python benchmarks/bench_static_index.py OUT_JSON [--nprobe 4 8 16] [--sets ...] [--file F.jsonl ...]

For every set of ../shared/data/instruct (default: all 14) and every
``--file``: static record vectors of the valid records, the exact nearest
other row (:func:`nearest_other` with the IVF off) and the IVF one (forced
on with ``exact_max=0``) for each ``--nprobe``; then the near-duplicate
candidates of the first cascade (main 2f6fe4b's rule:
share 0.2, cosine 0.9) from each. Reported per input and nprobe:
``candidate_recall`` = |IVF candidates & exact candidates| / |exact|,
``close_recall`` = the same for rows whose exact nearest cosine is >= 0.9,
``top1_equal`` = share of rows whose IVF value equals the exact one (1e-6),
and the seconds of each search. A ``FILE.planted.json`` beside a file
(``make_scale_inputs.py``) adds ``planted_recall``: planted pairs with both
rows among the candidates.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_stream_inputs import DEFAULT  # noqa: E402

from tuneahead_lint.features import FeatureConfig  # noqa: E402
from tuneahead_lint.features.corpus import Corpus  # noqa: E402
from tuneahead_lint.features.embed.neighbours import nearest_other, search_method  # noqa: E402
from tuneahead_lint.readers import discover, read  # noqa: E402

CFG = FeatureConfig()


def corpus(paths: list[str]) -> Corpus:
    return Corpus([e for p in discover(paths) for e in read(p) if e.ok], CFG)


SHARE, COSINE = 0.2, 0.9  # the candidate rule of main before the speed merge (2f6fe4b)


def candidates(top: np.ndarray) -> np.ndarray:
    """Rows whose nearest static cosine is >= COSINE or among the closest SHARE."""
    keep = top >= COSINE
    keep[np.argsort(-top, kind="stable")[:math.ceil(SHARE * len(top))]] = True
    return np.flatnonzero(keep)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(len(np.intersect1d(found, truth)) / len(truth)) if len(truth) else 1.0


def planted_recall(planted: Path, rows: np.ndarray) -> float | None:
    if not planted.exists():
        return None
    pairs = np.array(json.loads(planted.read_text()), np.int64) - 1  # lines -> rows (one file, all valid)
    keep = np.zeros(max(int(pairs.max()) + 1, int(rows.max()) + 1), bool)
    keep[rows] = True
    return float(np.mean(keep[pairs[:, 0]] & keep[pairs[:, 1]]))


def measure(name: str, paths: list[str], nprobes: list[int], planted: Path | None) -> list[dict]:
    c = corpus(paths)
    t = time.perf_counter()
    x = c.static_vectors.record
    embed_s = time.perf_counter() - t
    t = time.perf_counter()
    exact = nearest_other(x, exact_max=len(x))
    exact_s = time.perf_counter() - t
    truth, close = candidates(exact), np.flatnonzero(exact >= COSINE)
    rows = []
    for nprobe in nprobes:
        t = time.perf_counter()
        approx = nearest_other(x, exact_max=0, nprobe=nprobe, seed=0)
        ivf_s = time.perf_counter() - t
        found = candidates(approx)
        row = {"input": name, "records": len(x), "method": search_method(len(x), 0, nprobe),
               "static_embed_s": round(embed_s, 1), "exact_s": round(exact_s, 1), "ivf_s": round(ivf_s, 1),
               "exact_candidates": len(truth), "ivf_candidates": len(found),
               "candidate_recall": round(_recall(found, truth), 4), "close_rows": len(close),
               "close_recall": round(_recall(found, close), 4),
               "top1_equal": round(float(np.mean(np.abs(approx - exact) < 1e-6)), 4)}
        if planted is not None:
            row["planted_recall_exact"] = planted_recall(planted, truth)
            row["planted_recall_ivf"] = planted_recall(planted, found)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8])
    ap.add_argument("--sets", nargs="*", default=sorted(p.name for p in DEFAULT.iterdir()))
    ap.add_argument("--file", nargs="*", default=[])
    args = ap.parse_args(argv)
    rows = []
    for name in args.sets:
        rows += measure(name, [str(DEFAULT / name)], args.nprobe, None)
    for f in args.file:
        rows += measure(Path(f).name, [f], args.nprobe, Path(f).with_suffix(".planted.json"))
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
