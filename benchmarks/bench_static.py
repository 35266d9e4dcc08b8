"""Static-feature speed against the targets of issue 3.

Measures, each in a fresh subprocess (imports and model loads included):

* ``cold``: alpaca_5000 with an empty feature cache (target <= 60 s).
  "Cold" means no cached embeddings, token counts, perplexities or wordfreq
  table; the one-time model install (GGUF dequantized to safetensors, ONNX
  export and int8 quantization of the embedder, all under
  ``<cache>/models``) is present, as after any earlier run on the machine.
  ``--install`` also times a first-ever run (empty ``TUNEAHEAD_CACHE``).
* ``warm``: the same again, everything cached (target <= 5 s), through
  ``compute_features`` and through the command line (``cli_warm``: the whole
  ``tuneahead-lint lint`` process, predictor included);
* ``compare_int8``: the cold run again with the fp32 ONNX embedder: largest
  difference of every feature, and whether clusters and outliers agree;
* ``backends``: embedding throughput on 1,000 alpaca texts for each speed-up
  (torch, ONNX fp32 / int8 at 8,192 and 1,024 padded tokens per batch) and
  the cosine of each to torch;
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
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT.parent / "shared" / "data" / "instruct" / "alpaca_5k_subset" / "alpaca_5000.json"
RESULTS = ROOT / "benchmarks" / "results"


def _child(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=False, env={**os.environ, **(env or {})})
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = round(time.perf_counter() - start, 2)
    return result


_LINT = """
import json, os, resource, time
t0 = time.perf_counter()
from tuneahead_lint.readers import read
from tuneahead_lint.features import FeatureConfig, compute_features
examples = list(read({path!r}))
res = compute_features(examples, FeatureConfig(cache_dir={cache!r}, **{params!r}))
print(json.dumps({{"seconds": round(time.perf_counter() - t0, 2),
  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "load_after": os.getloadavg()[0],
  "timings": {{k: round(v, 2) for k, v in res.timings}},
  "stats": dict(res.stats), "samples": dict(res.samples),
  "near_dup_ratio": res.value("near_dup_ratio"), "reference_ppl_mean": res.value("reference_ppl_mean"),
  "values": {{k: m.value for k, m in res.values}},
  "clusters": sorted([[list(r) for r in c.members] for c in res.clusters]),
  "outliers": sorted([list(o.ref) for o in res.outliers])}}))
"""

_BACKENDS = """
import json, time, numpy as np
from tuneahead_lint.readers import read
from tuneahead_lint.features.embed.embedder import Embedder
ex = [e for e in read({path!r})][:500]
texts = [e.prompt for e in ex] + [e.response for e in ex]
out, ref = {{}}, None
for name, backend, batch in [("torch_128", "torch", None),
                             ("onnx_fp32_b8192", "onnx", 8192), ("onnx_fp32_b1024", "onnx", 1024),
                             ("onnx_int8_b8192", "onnx-int8", 8192), ("onnx_int8_b1024", "onnx-int8", 1024)]:
    emb = Embedder(backend=backend, batch_tokens=batch).load()
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


def _load() -> float:
    return os.getloadavg()[0]


def _cache_root(tmp: str, name: str, models: bool = True) -> str:
    """A fresh ``TUNEAHEAD_CACHE`` under ``tmp``; ``models``: with the
    installed model cache (dequantized base model, ONNX embedder) linked in."""
    from tuneahead_lint.basemodel import cache_root

    root = Path(tmp) / name
    root.mkdir()
    if models:
        (root / "models").symlink_to(cache_root() / "models")
    return str(root)


def _lint(tmp: str, name: str, params: dict | None = None, models: bool = True, root: str | None = None) -> dict:
    root = root or _cache_root(tmp, name, models)
    before = _load()
    out = _child(_LINT.format(path=str(ALPACA), cache=root, params=params or {}), env={"TUNEAHEAD_CACHE": root})
    out["load_before"] = before
    return out


def _cli(root: str) -> dict:
    """The whole command line on alpaca_5000 (report to /dev/null)."""
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "tuneahead-lint"), "lint", "--format", "json",
                           "--fail-on", "never", "-o", os.devnull, str(ALPACA)],
                          cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "TUNEAHEAD_CACHE": root})
    return {"process_seconds": round(time.perf_counter() - start, 2), "exit_code": proc.returncode,
            "stderr_tail": proc.stderr[-300:], "load_after": _load()}


def _compare(a: dict, b: dict) -> dict:
    """Feature differences between two runs (b minus a)."""
    diffs = {}
    for k, va in a["values"].items():
        vb = b["values"][k]
        if va is None or vb is None or (isinstance(va, float) and math.isnan(va)):
            diffs[k] = {"a": va, "b": vb}
            continue
        diffs[k] = {"a": va, "b": vb, "abs": abs(vb - va), "rel": abs(vb - va) / max(abs(va), 1e-12)}
    return {"features": diffs,
            "max_rel_diff": max((d.get("rel", 0.0) for d in diffs.values()), default=0.0),
            "clusters_equal": a["clusters"] == b["clusters"],
            "clusters": [len(a["clusters"]), len(b["clusters"])],
            "outliers_equal": a["outliers"] == b["outliers"],
            "outliers": [len(a["outliers"]), len(b["outliers"])],
            "outliers_shared": len({tuple(o) for o in a["outliers"]} & {tuple(o) for o in b["outliers"]})}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip", nargs="*", default=[], choices=["cold", "compare", "backends", "50k"])
    ap.add_argument("--install", action="store_true", help="also time a first-ever run (model install)")
    args = ap.parse_args(argv)
    results: dict = {"cpus": os.cpu_count(), "load_before": _load(),
                     "targets": {"cold_s": 60, "warm_s": 5}}
    tmp = tempfile.mkdtemp(prefix="ta-bench-")
    try:
        if args.install:
            results["install"] = _lint(tmp, "install", models=False)
        if "cold" not in args.skip:
            root = _cache_root(tmp, "cold")
            results["cold"] = _lint(tmp, "cold", root=root)
            results["warm"] = _lint(tmp, "cold", root=root)
            results["cli_warm"] = _cli(root)
            emb = results["cold"]["stats"]["embedding"]
            results["cold"]["encode_texts_per_s"] = round(emb["encoded"] / results["cold"]["timings"]["embed"], 1)
            if "compare" not in args.skip:
                fp32 = _lint(tmp, "fp32", {"embed_backend": "onnx"})
                fp32["encode_texts_per_s"] = round(fp32["stats"]["embedding"]["encoded"] / fp32["timings"]["embed"], 1)
                results["cold_fp32"] = {k: v for k, v in fp32.items() if k not in ("values", "clusters", "outliers")}
                results["compare_int8"] = _compare(fp32, results["cold"])
            for run in ("cold", "warm"):
                for k in ("clusters", "outliers"):
                    results[run][k] = len(results[run][k])
        if "50k" not in args.skip:
            # the cold run's cache holds the real vectors that the 50k copies perturb
            cache = str(Path(tmp) / "cold") if (Path(tmp) / "cold").exists() else _cache_root(tmp, "50k")
            results["50k"] = _child(_FIFTY_K.format(path=str(ALPACA), cache=cache), env={"TUNEAHEAD_CACHE": cache})
            if "cold" in results:
                rate = results["cold"]["encode_texts_per_s"]
                results["50k"]["encoder_seconds_extrapolated"] = round(100_000 / rate, 1)
        if "backends" not in args.skip:
            results["backends"] = _child(_BACKENDS.format(path=str(ALPACA)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
