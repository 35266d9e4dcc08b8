"""Static-feature speed against the targets of issue 3.

Measures, each in a fresh subprocess (imports and model loads included):

* ``cold``: alpaca_5000 with an empty feature cache (target <= 60 s);
* ``warm``: the same again, everything cached (target <= 5 s);
* ``backends``: embedding throughput on 1,000 alpaca texts for each speed-up
  (no truncation / 128 tokens, torch / ONNX fp32 / ONNX int8) and int8's
  cosine to fp32;
* ``50k``: 50,000 records (alpaca x 10, each copy's text perturbed) with
  perturbed real embeddings pre-loaded in the cache, so it times everything
  after the encoder (search, clusters, outliers, lexical features) and its
  peak memory; the encoder cost is extrapolated from the cold throughput.

Prints JSON and writes benchmarks/results/bench_static.json. Run from the
repo root: ``.venv/bin/python benchmarks/bench_static.py [--skip 50k ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT.parent / "shared" / "data" / "instruct" / "alpaca_5k_subset" / "alpaca_5000.json"
RESULTS = ROOT / "benchmarks" / "results"


def _child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=False)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = round(time.perf_counter() - start, 2)
    return result


_LINT = """
import json, resource, time
t0 = time.perf_counter()
from tuneahead_lint.readers import read
from tuneahead_lint.features import FeatureConfig, compute_features
examples = list(read({path!r}))
res = compute_features(examples, FeatureConfig(cache_dir={cache!r}))
print(json.dumps({{"seconds": round(time.perf_counter() - t0, 2),
  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
  "timings": {{k: round(v, 2) for k, v in res.timings}},
  "stats": dict(res.stats), "samples": dict(res.samples),
  "near_dup_ratio": res.value("near_dup_ratio"), "reference_ppl_mean": res.value("reference_ppl_mean")}}))
"""

_BACKENDS = """
import json, time, numpy as np
from tuneahead_lint.readers import read
from tuneahead_lint.features.embed.embedder import Embedder
ex = [e for e in read({path!r})][:500]
texts = [e.prompt for e in ex] + [e.response for e in ex]
out, ref = {{}}, None
for name, backend, max_tokens in [("torch_256", "torch", 256), ("torch_128", "torch", 128),
                                  ("onnx_fp32_128", "onnx", 128), ("onnx_int8_128", "onnx-int8", 128)]:
    emb = Embedder(backend=backend, max_tokens=max_tokens).load()
    emb.encode(texts[:32])  # warm-up
    t = time.perf_counter(); vec = emb.encode(texts); dt = time.perf_counter() - t
    out[name] = {{"texts_per_s": round(len(texts) / dt, 1)}}
    if name == "torch_128":
        ref = vec
    elif ref is not None:
        cos = np.einsum("ij,ij->i", vec, ref)
        out[name].update(cos_to_torch_mean=round(float(cos.mean()), 5), cos_to_torch_min=round(float(cos.min()), 5))
print(json.dumps(out))
"""

_FIFTY_K = """
import json, resource, time, numpy as np
from tuneahead_lint.readers import read
from tuneahead_lint.types import Example, Turn
from tuneahead_lint.cache import VectorCache, namespace, text_key
from tuneahead_lint.features import FeatureConfig, compute_features
from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.features.embed.embedder import Embedder
base = [e for e in read({path!r}) if e.ok]
cfg = FeatureConfig(cache_dir={cache!r}, skip=frozenset({{"base_model"}}))
vec = Corpus(base, cfg).vectors  # warm from the cold run
rng = np.random.default_rng(0)
emb = Embedder()
store = VectorCache(cfg.cache_path(), namespace("embedding", emb.get_params()))
examples, items = [], []
for k in range(10):
    for i, e in enumerate(base):
        p, r = (e.prompt, e.response) if k == 0 else (e.prompt + " " + "#" * k, e.response + " " + "~" * k)
        examples.append(Example("x.jsonl", len(examples) + 1, len(examples), "alpaca",
                                (Turn("user", p), Turn("assistant", r))))
        if k:
            for text, v in ((p, vec.prompt[i]), (r, vec.response[i])):
                noisy = v + rng.normal(scale=0.004 * k, size=v.shape)  # k<=3: near-dups
                items.append((text_key(text), noisy / np.linalg.norm(noisy)))
store.put_many(items)
store.close()
t0 = time.perf_counter()
res = compute_features(examples, cfg)
print(json.dumps({{"records": len(examples), "seconds_after_encoder": round(time.perf_counter() - t0, 2),
  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
  "timings": {{k: round(v, 2) for k, v in res.timings}}, "stats": dict(res.stats),
  "near_dup_ratio": res.value("near_dup_ratio"), "clusters": len(res.clusters)}}))
"""


def _load() -> str:
    return os.popen("cat /proc/loadavg").read().split()[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip", nargs="*", default=[], choices=["cold", "backends", "50k"])
    args = ap.parse_args(argv)
    results: dict = {"cpus": os.cpu_count(), "load_before": _load(),
                     "targets": {"cold_s": 60, "warm_s": 5}}
    with tempfile.TemporaryDirectory(prefix="ta-bench-") as cache:
        if "cold" not in args.skip:
            results["cold"] = _child(_LINT.format(path=str(ALPACA), cache=cache))
            results["warm"] = _child(_LINT.format(path=str(ALPACA), cache=cache))
            emb = results["cold"]["stats"]["embedding"]
            results["cold"]["encode_texts_per_s"] = round(emb["encoded"] / results["cold"]["timings"]["embed"], 1)
        if "50k" not in args.skip:
            results["50k"] = _child(_FIFTY_K.format(path=str(ALPACA), cache=cache))
            if "cold" in results:
                rate = results["cold"]["encode_texts_per_s"]
                results["50k"]["encoder_seconds_extrapolated"] = round(100_000 / rate, 1)
    if "backends" not in args.skip:
        results["backends"] = _child(_BACKENDS.format(path=str(ALPACA)))
    results["load_after"] = _load()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "bench_static.json"
    if args.skip and path.exists():  # a partial run updates the parts it measured
        results = {**json.loads(path.read_text()), **results}
    path.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
