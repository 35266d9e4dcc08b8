"""Scaling of the Ray path (issue 15): the stages ``--ray-address`` sends to
the cluster, in this process and on a local Ray cluster of 1 and 2 workers.

Usage: python benchmarks/bench_ray_scale.py OUT_JSON PATH [--minilm-records 1000] [--workers 1 2]

Stages, each timed (wall seconds, after a warm-up block that loads the
models in every worker) and compared with the in-process result
(``same``: byte-identical arrays):

* ``static``: static vectors of every prompt and response of FILE;
* ``ivf``: the IVF nearest-other search over the static record vectors
  (forced on: ``exact_max=0``);
* ``exact``: the exact nearest-other search over the same vectors;
* ``minilm``: MiniLM (fp32 ONNX) vectors of the prompts and responses of the
  first ``--minilm-records`` records, no cache.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from tuneahead_lint.features.embed.blocks import RayMap, local_map
from tuneahead_lint.features.embed.embedder import Embedder, encode_on
from tuneahead_lint.features.embed.neighbours import nearest_other
from tuneahead_lint.features.embed.static import static_encode, unit
from tuneahead_lint.readers import discover, read


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - start, 1)


def stages(mapper, prompts: list[str], responses: list[str], minilm: int) -> dict[str, tuple[np.ndarray, float]]:
    """Each stage's result and seconds with ``mapper``."""
    emb = Embedder(backend="onnx")
    encode_on(mapper, emb, prompts[:8])  # warm-up: models loaded where the blocks run
    static_encode(prompts[:8], 128, mapper)
    out = {}
    out["static"] = _timed(lambda: static_encode(prompts + responses, 128, mapper))
    n = len(prompts)
    x = unit(out["static"][0][:n] + out["static"][0][n:])
    out["ivf"] = _timed(lambda: nearest_other(x, exact_max=0, mapper=mapper))
    out["exact"] = _timed(lambda: nearest_other(x, exact_max=len(x), mapper=mapper))
    texts = prompts[:minilm] + responses[:minilm]
    out["minilm"] = _timed(lambda: encode_on(mapper, emb, texts))
    return out


def _ray_stages(workers: int, *args) -> dict[str, tuple[np.ndarray, float]]:
    import ray

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        return stages(RayMap("auto"), *args)
    finally:
        ray.shutdown()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("file")
    ap.add_argument("--minilm-records", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    os.environ.setdefault("RAY_worker_niceness", "0")  # as --ray-address local: workers not niced
    valid = [e for p in discover([args.file]) for e in read(p) if e.ok]
    data = ([e.prompt for e in valid], [e.response for e in valid], args.minilm_records)
    local = stages(local_map, *data)
    rows = [{"runner": "in-process", "records": len(valid), "load": round(os.getloadavg()[0], 1),
             **{k: s for k, (_, s) in local.items()}}]
    print(json.dumps(rows[-1]), flush=True)
    for workers in args.workers:
        got = _ray_stages(workers, *data)
        rows.append({"runner": f"ray, {workers} worker(s)", "records": len(valid),
                     "load": round(os.getloadavg()[0], 1), **{k: s for k, (_, s) in got.items()},
                     "same": {k: bool(np.array_equal(v, local[k][0])) for k, (v, _) in got.items()}})
        print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
