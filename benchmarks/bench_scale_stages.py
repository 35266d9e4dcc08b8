"""The full lint's cascade stages one by one on a large input, for inputs too
large to lint to the end here (issue 15, 1M records).

Usage: python benchmarks/bench_scale_stages.py OUT_JSON FILE.jsonl [--semantic-sample 1000] [--minilm-texts 2000]

In one process, as the full lint with ``semantic-sample`` runs them:
``read-corpus`` (the valid records streamed into a :class:`Corpus`, which
keeps their prompts, responses and places, as ``pipeline.lint`` does without the probe),
``static-embed`` (static vectors of every prompt and response),
``candidates`` (the cascade's near-duplicate candidate pairs, static and
MinHash, and its fallback decision) and ``minilm-rate``: MiniLM (fp32 ONNX,
no cache) on the prompts and responses of the first ``--minilm-texts`` / 2
records; ``minilm_extrapolated_cpu_s`` = the distinct texts MiniLM would
embed (every record's on the exact path, else the candidate share's) / that
rate per CPU second: an extrapolation, not a measurement. Per stage: wall and CPU seconds (this
process), the process's current and peak RSS after it (MB).
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

from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.features.embed.embedder import Embedder
from tuneahead_lint.readers import RecordSource, discover


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return -1


class Stages:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        row = {"stage": name, "wall_s": round(time.perf_counter() - wall, 1),
               "cpu_s": round(time.process_time() - cpu, 1), "rss_mb": _rss_mb(),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
               "load": round(os.getloadavg()[0], 1)}
        print(json.dumps(row), flush=True)
        self.rows.append(row)
        return out


def _distinct_texts(corpus: Corpus, share: float) -> int:
    """Distinct prompt and response texts of ``share`` of the records (all of
    them on the exact path): about what MiniLM embeds, each text once."""
    n = round(share * len(corpus))
    return len(set(corpus.prompts[:n]) | set(corpus.responses[:n]))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("file")
    ap.add_argument("--semantic-sample", type=int, default=1000)
    ap.add_argument("--minilm-texts", type=int, default=2000)
    args = ap.parse_args(argv)
    st = Stages()
    cfg = FeatureConfig(semantic_sample=args.semantic_sample, use_cache=False)
    # as pipeline.lint without the probe: the valid records streamed into the corpus, which keeps their texts
    corpus = st.run("read-corpus", lambda: Corpus((e for e in RecordSource(discover([args.file])) if e.ok), cfg))
    st.run("static-embed", lambda: corpus.static_vectors)
    cascade = st.run("candidates", lambda: corpus.cascade)
    share = corpus.stats.get("cascade", {}).get("candidate_share", 1.0)
    take = np.arange(min(len(corpus), args.minilm_texts // 2))
    texts = [corpus.prompts[r] for r in take] + [corpus.responses[r] for r in take]
    emb = Embedder(backend="onnx").load()
    st.run("minilm-rate", lambda: emb.encode(texts))
    minilm_texts = _distinct_texts(corpus, share if cascade else 1.0)
    rate = len(texts) / max(st.rows[-1]["cpu_s"], 1e-9)
    summary = {"file": Path(args.file).name, "records": len(corpus), "cascade": corpus.stats.get("cascade"),
               "minilm_texts": minilm_texts, "minilm_texts_per_cpu_s": round(rate, 1),
               "minilm_extrapolated_cpu_s": round(minilm_texts / rate), "stages": st.rows}
    print(json.dumps(summary), flush=True)
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
