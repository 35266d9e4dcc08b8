"""Issue 15: where the time of a cold full lint goes, in CPU seconds.

Runs ``lint`` in-process on one input with an empty feature cache (the
installed models under ``$TUNEAHEAD_CACHE/models`` are linked in, as after
``pip install``) and prints per-stage wall and CPU seconds (process CPU, all
threads): imports, each pipeline stage, and inside the features each
:meth:`Corpus.stage` (embed, static-embed, candidates, perplexity, ...).
CPU seconds are what to compare on a shared machine; wall seconds there
include waiting for the CPU.

``--threads 1`` runs torch and ONNX Runtime on one thread: on a shared
machine a second thread spin-waits for the first while it is descheduled,
which inflates the CPU seconds of a 2-thread run (measured: reference
perplexity of alpaca_5k_subset 62 CPU s on 2 threads at load 14, 26 on one),
so one thread measures the work itself.

``--warm`` uses ``$TUNEAHEAD_CACHE`` as it is (a warm run: feature cache filled).

``python benchmarks/profile_cold.py PATH [--out results.json] [--threads 1] [--warm] [--config K=V ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


class Clock:
    """Wall and CPU seconds per named stage."""

    def __init__(self) -> None:
        self.rows: dict[str, list[float]] = {}
        self.last = (time.perf_counter(), time.process_time())
        self.current = "start"

    def switch(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        row = self.rows.setdefault(self.current, [0.0, 0.0])
        row[0] += now[0] - self.last[0]
        row[1] += now[1] - self.last[1]
        self.last, self.current = now, name


def cold_cache() -> str:
    root = Path(os.environ.get("TUNEAHEAD_CACHE", Path.home() / ".cache" / "tuneahead-lint"))
    tmp = tempfile.mkdtemp(prefix="tuneahead-cold-")
    os.symlink(root / "models", Path(tmp) / "models")
    for f in root.glob("wordfreq-*.pickle"):
        shutil.copy(f, tmp)
    return tmp


def patch_corpus_stage(clock: Clock, feature_rows: dict[str, list[float]]) -> None:
    """Time every Corpus.stage in CPU seconds too (nested stages count once)."""
    from tuneahead_lint.features import corpus

    original = corpus.Corpus.stage

    @contextmanager
    def stage(self, name):  # noqa: ANN001
        t0, c0 = time.perf_counter(), time.process_time()
        with original(self, name):
            yield
        row = feature_rows.setdefault(name, [0.0, 0.0])
        row[0] += time.perf_counter() - t0
        row[1] += time.process_time() - c0

    corpus.Corpus.stage = stage


def one_thread() -> None:
    """torch and ONNX Runtime (every session) on one intra-op thread."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime
    import torch

    torch.set_num_threads(1)
    base = onnxruntime.SessionOptions

    class OneThread(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.intra_op_num_threads = 1
            self.inter_op_num_threads = 1

    onnxruntime.SessionOptions = OneThread


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--out")
    ap.add_argument("--threads", type=int, default=0, help="1: torch and ONNX Runtime on one thread")
    ap.add_argument("--config", nargs="*", default=[], help="config keys, e.g. semantic-sample=0")
    ap.add_argument("--warm", action="store_true", help="use $TUNEAHEAD_CACHE as it is (a warm run)")
    args = ap.parse_args(argv)
    cache = None if args.warm else cold_cache()
    if cache:
        os.environ["TUNEAHEAD_CACHE"] = cache
    clock = Clock()
    clock.switch("imports")
    if args.threads == 1:
        one_thread()
    from tuneahead_lint.config import Config
    from tuneahead_lint.pipeline import LintOptions, lint

    feature_rows: dict[str, list[float]] = {}
    patch_corpus_stage(clock, feature_rows)
    config = Config(None, {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.config)})
    clock.switch("config")
    report = lint([args.path], config, LintOptions(), on_stage=clock.switch)
    clock.switch("end")
    if cache:
        shutil.rmtree(cache, ignore_errors=True)
    out = {"path": args.path, "config": args.config, "threads": args.threads, "warm": args.warm,
           "stages": {k: [round(w, 2), round(c, 2)] for k, (w, c) in clock.rows.items()},
           "feature_stages": {k: [round(w, 2), round(c, 2)] for k, (w, c) in feature_rows.items()},
           "total": [round(sum(r[0] for r in clock.rows.values()), 2),
                     round(sum(r[1] for r in clock.rows.values()), 2)],
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
           "findings": len(report.findings),
           "score": report.prediction.score if report.prediction else None}
    print(json.dumps(out, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
