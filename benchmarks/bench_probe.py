"""Probe benchmark: wall time on this machine, and the probe's dynamic and
contrast features on several shared instruction sets and their noisy variants.

Noisy variant: half of the usable records (seeded choice) get another chosen
record's response (a cyclic shift among them, so every chosen record changes).
Both variants share the seed, so the probe trains on the same record indices.

    .venv/bin/python benchmarks/bench_probe.py                     # features, 4 sets
    .venv/bin/python benchmarks/bench_probe.py --timing-steps 100  # + one 100-step run

``TUNEAHEAD_INSTRUCT_DIR`` overrides where the sets are read
(default ../shared/data/instruct).

Writes ``benchmarks/results/probe_features.json``, ``probe_features.md`` and
(with ``--timing-steps``) ``probe_timing.json``. Probe results are cached, so
an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "instruct"
OUT = ROOT / "benchmarks" / "results"
SETS = {
    "alpaca_5k": "alpaca_5k_subset/alpaca_5000.json",
    "code_alpaca_2k": "code_alpaca_2k/code_alpaca_2k.json",
    "gsm8k_train": "gsm8k_train/train.jsonl",
    "dolly_hhrlhf": "dolly_hhrlhf_train_small/dolly_hhrlhf_train_small.jsonl",
    "gpteacher_roleplay": "gpteacher_roleplay/roleplay-simple-deduped-roleplay-instruct.json",
    "lima": "lima_llamafactory/lima.json",
}
DEFAULT_SETS = ("alpaca_5k", "code_alpaca_2k", "gsm8k_train", "dolly_hhrlhf")
FULL_EPOCHS = 3  # the "full fine-tune" the probe's cost is compared with


def load_set(name: str, limit: int) -> list:
    from tuneahead_lint.probe.data import usable
    from tuneahead_lint.readers import read

    recs = usable(list(read(str(Path(os.environ.get("TUNEAHEAD_INSTRUCT_DIR", DATA)) / SETS[name]))))
    return recs[:limit] if limit else recs


def noisy(examples: list, seed: int) -> list:
    """Half of the records (seeded) get the next chosen record's response.

    The generator is seeded with a string, not with ``seed`` itself: the probe
    orders records with ``random.Random(seed).shuffle``, which draws the same
    numbers as ``random.Random(seed).sample`` and would put exactly the
    untouched half first (the probe would then never see a shuffled record)."""
    picked = sorted(random.Random(f"noisy:{seed}").sample(range(len(examples)), len(examples) // 2))
    out = list(examples)
    for k, i in enumerate(picked):
        donor = examples[picked[(k + 1) % len(picked)]]
        out[i] = _with_response(examples[i], donor.response)
    return out


def _with_response(ex, text: str):
    from tuneahead_lint.types import Turn

    turns = list(ex.turns)
    last = max(i for i, t in enumerate(turns) if t.role == "assistant")
    turns[last] = Turn("assistant", text)
    return dataclasses.replace(ex, turns=tuple(turns))


def _probe(examples, cfg) -> dict:
    from tuneahead_lint.probe import run_probe

    r = run_probe(examples, cfg)
    return {"values": {n: m.value for n, m in r.values},
            "details": {n: m.detail for n, m in r.values if m.detail},
            "losses": list(r.losses), "grad_norms": list(r.grad_norms),
            "steps_run": r.steps_run, "device": r.device, "wall_s": r.wall_s,
            "timings": dict(r.timings), "cached": r.cached}


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "cpu": _cpu_name(), "loadavg_start": os.getloadavg()[0],
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def features(args, cfg) -> dict:
    """Probe every (set, variant); ``--runs`` restricts to some (for running
    several processes side by side: each fills the shared probe cache)."""
    runs = {}
    for name in args.sets:
        clean = load_set(name, args.records)
        for variant, data in (("clean", clean), ("noisy", noisy(clean, args.seed))):
            if args.runs and f"{name}/{variant}" not in args.runs:
                continue
            t0 = time.perf_counter()
            runs[f"{name}/{variant}"] = res = _probe(data, cfg)
            res["records"] = len(data)
            print(f"{name}/{variant}: {time.perf_counter() - t0:.0f} s "
                  f"(cached={res['cached']}, load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    return runs


def timing(args, cfg) -> dict:
    data = load_set("alpaca_5k", 0)
    tcfg = dataclasses.replace(cfg, steps=args.timing_steps, use_cache=False)
    cpu0, load0 = time.process_time(), os.getloadavg()[0]
    res = _probe(data, tcfg)
    cpu_s = time.process_time() - cpu0
    full_steps = FULL_EPOCHS * math.ceil(len(data) / cfg.batch_size)
    full_s = full_steps * res["timings"]["step_mean_s"]
    return {"set": "alpaca_5k", "records": len(data), "config": tcfg.params(),
            "steps": res["steps_run"], "wall_s": res["wall_s"], "timings": res["timings"],
            "full_finetune": {"epochs": FULL_EPOCHS, "steps": full_steps, "est_s": full_s},
            "probe_fraction_of_full": res["wall_s"] / full_s,
            "cpu_s": cpu_s, "loadavg_start": load0, "loadavg_end": os.getloadavg()[0]}


SHOWN = ("probe_initial_loss", "probe_loss_decay_rate", "probe_loss_variance",
         "probe_grad_norm_mean", "probe_grad_norm_var", "probe_grad_consistency",
         "probe_grad_sparsity", "probe_param_change_norm", "probe_flatness", "probe_forgetting",
         "probe_activation_sparsity", "contrast_margin_mean", "contrast_margin_truncated",
         "contrast_margin_swapped", "contrast_margin_looped", "contrast_margin_wrong_language",
         "contrast_margin_format_broken", "contrast_win_rate")


def markdown(runs: dict, sets: list[str]) -> str:
    head = "| feature | " + " | ".join(f"{s} clean | {s} noisy | Δ" for s in sets) + " |"
    rule = "|---|" + "---:|---:|---:|" * len(sets)
    rows = [head, rule]
    for f in SHOWN:
        cells = []
        for s in sets:
            c, n = runs[f"{s}/clean"]["values"][f], runs[f"{s}/noisy"]["values"][f]
            cells += [f"{c:.4g}", f"{n:.4g}", f"{n - c:+.3g}"]
        rows.append(f"| `{f}` | " + " | ".join(cells) + " |")
    walls = [f"{runs[f'{s}/{v}']['wall_s']:.0f}" for s in sets for v in ("clean", "noisy")]
    rows.append("| wall s (clean, noisy) | " + " | ".join(
        f"{walls[2 * i]} | {walls[2 * i + 1]} | " for i in range(len(sets))) + "|")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), choices=sorted(SETS))
    ap.add_argument("--records", type=int, default=2000, help="records per set (0: all)")
    ap.add_argument("--steps", type=int, default=None, help="probe steps [device default]")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--contrast-pairs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--device", default=None)
    ap.add_argument("--timing-steps", type=int, default=0, help="also time one N-step run")
    ap.add_argument("--skip-features", action="store_true")
    ap.add_argument("--tag", default="", help="suffix of the result files (e.g. gpu)")
    ap.add_argument("--runs", nargs="+", default=None,
                    help="only these SET/VARIANT runs, no table (fill the cache in parallel)")
    args = ap.parse_args(argv)

    import torch

    from tuneahead_lint.probe import ProbeConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = ProbeConfig(steps=args.steps, max_len=args.max_len, batch_size=args.batch_size,
                      contrast_pairs=args.contrast_pairs, seed=args.seed, device=args.device,
                      progress=sys.stderr.isatty()).resolved()
    OUT.mkdir(parents=True, exist_ok=True)
    sfx = f"_{args.tag}" if args.tag else ""
    info = {"machine": machine(), "config": cfg.params()}
    if not args.skip_features:
        runs = features(args, cfg)
        if args.runs:
            return 0
        info["machine"]["loadavg_end"] = os.getloadavg()[0]
        (OUT / f"probe_features{sfx}.json").write_text(
            json.dumps({**info, "runs": runs}, indent=1, sort_keys=True) + "\n")
        (OUT / f"probe_features{sfx}.md").write_text(markdown(runs, args.sets))
        print(markdown(runs, args.sets))
    if args.timing_steps:
        t = timing(args, cfg)
        (OUT / f"probe_timing{sfx}.json").write_text(
            json.dumps({**info, **t}, indent=1, sort_keys=True) + "\n")
        print(json.dumps(t, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
