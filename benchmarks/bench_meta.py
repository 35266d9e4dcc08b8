"""Time one meta-dataset run, phase by phase, on this machine.

    .venv/bin/python benchmarks/bench_meta.py                       # CPU, cpu-small settings
    .venv/bin/python benchmarks/bench_meta.py --device cuda --records 2000 --batch-size 8 \\
        --max-len 512 --items 1000 --benchmarks arc_easy,piqa,mmlu   # one gpu-full-sized run
    .venv/bin/python benchmarks/bench_meta.py --store data/meta/cpu-small.sqlite  # timings of a build

Phases: build the variant, load the base model, fine-tune (s/step), score
each benchmark (items/s, with and without shared-prefix scoring), and the
whole run extrapolated from them. ``--store`` instead summarises the
per-run times recorded by ``meta build`` (median per device).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _from_store(path: str) -> None:
    from tuneahead_lint.meta.store import Store

    with Store(path) as st:
        rows = st.query("SELECT device, build_s, train_s, eval_s, total_s, steps FROM runs")
        fs = st.query("SELECT kind, seconds FROM feature_sets WHERE status='ok'")
    by_dev: dict[str, list] = {}
    for r in rows:
        by_dev.setdefault(r["device"], []).append(r)
    print(f"{'device':<28} {'runs':>4} {'train s':>8} {'s/step':>7} {'eval s':>7} {'total s':>8}")
    for dev, rs in by_dev.items():
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        per_step = statistics.median(r["train_s"] / r["steps"] for r in rs)
        print(f"{dev:<28} {len(rs):>4} {med('train_s'):>8.1f} {per_step:>7.2f} {med('eval_s'):>7.1f} "
              f"{med('total_s'):>8.1f}")
    for kind in ("static", "probe"):
        secs = [r["seconds"] for r in fs if r["kind"] == kind]
        if secs:
            print(f"{kind} features: median {statistics.median(secs):.1f}s over {len(secs)} runs")
    with Store(path) as st:
        names = [r[0] for r in st.query("SELECT DISTINCT name FROM metrics WHERE name LIKE '%\\_s' ESCAPE '\\'")]
        for name in sorted(names):
            vals = [r[0] for r in st.query("SELECT value FROM metrics WHERE name=?", (name,)) if r[0] is not None]
            print(f"{name}: median {statistics.median(vals):.2f}s over {len(vals)} runs")
        # a run trained in a group started with its group (its total_s is its share of the group's time)
        t = st.query("SELECT MIN(finished_at - COALESCE(m.value, total_s)) AS a, MAX(finished_at) AS b, "
                     "COUNT(*) AS n FROM runs LEFT JOIN metrics m ON m.run_id = runs.run_id "
                     "AND m.name = 'group_wall_s'")[0]
        if t["n"]:
            print(f"{t['n']} runs from the first run's start to the last run's end: {t['b'] - t['a']:.0f}s, "
                  f"{60 * t['n'] / (t['b'] - t['a']):.2f} runs/min")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="summarise a meta-dataset's recorded times instead")
    ap.add_argument("--base-model")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--records", type=int, default=64)
    ap.add_argument("--steps", type=int, default=4, help="steps to time (the run's steps are extrapolated)")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--benchmarks", default="arc_easy,piqa")
    ap.add_argument("--data-dir")
    ap.add_argument("--eval-dir")
    a = ap.parse_args()
    if a.store:
        _from_store(a.store)
        return
    import torch

    from tuneahead_lint.basemodel import default_device, load_causal_lm
    from tuneahead_lint.meta.evalsuite import continuation_logprobs, default_eval_dir, load_benchmark
    from tuneahead_lint.meta.finetune import HParams, finetune
    from tuneahead_lint.meta.variants import Recipe, build_variant, default_data_dir

    torch.set_num_threads(a.threads)
    device = a.device or default_device()
    t = time.perf_counter()
    ex = build_variant(Recipe((("alpaca", 1.0),), a.records), a.data_dir or default_data_dir())
    print(f"device {device}, {a.threads} CPU thread(s)")
    print(f"build variant ({a.records} records): {time.perf_counter() - t:.2f}s")
    t = time.perf_counter()
    model, tok = load_causal_lm(a.base_model, device)
    print(f"load base model: {time.perf_counter() - t:.2f}s")
    hp = HParams(lr=1e-3, batch_size=a.batch_size, max_len=a.max_len, max_steps=a.steps)
    peft_model, fit = finetune(model, tok, ex, hp, 0, device)
    per_step = fit.train_s / fit.steps
    full_steps = HParams(batch_size=a.batch_size).steps(a.records)
    print(f"fine-tune: {per_step:.2f} s/step at batch {a.batch_size} x <= {a.max_len} tokens "
          f"-> {full_steps} steps (1 epoch of {a.records}) = {per_step * full_steps:.0f}s")
    eval_total = 0.0
    for name in a.benchmarks.split(","):
        items = load_benchmark(name, a.eval_dir or default_eval_dir(), a.items)
        for share in (False, True):
            if device.startswith("cuda") and share:
                continue
            t = time.perf_counter()
            continuation_logprobs(peft_model, tok, items, device, share_prefix=share)
            dt = time.perf_counter() - t
            print(f"score {name:<14} {len(items):>5} items, shared prefix {str(share):<5}: "
                  f"{dt:6.1f}s ({len(items) / dt:6.1f} items/s)")
        eval_total += dt
    print(f"one run (train + eval of these items): {per_step * full_steps + eval_total:.0f}s")


if __name__ == "__main__":
    main()
