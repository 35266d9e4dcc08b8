"""Ground truth for `tuneahead-lint fix`: fine-tune before and after the fix.

The same LoRA fine-tune and benchmark scoring as `meta build`
(`meta.finetune.finetune`, `meta.evalsuite.evaluate`, the gpu-lease
hyperparameters) run on data FILES instead of recipes: the dirty set at the
planned learning rate, and the fixed set at the planned rate and at the rates
`fix` chooses among (x1, x1/2, x1/4). Each (file, lr) is run with several
training seeds; the target is the meta-dataset's (mean change from the base
model over ARC-Easy and PIQA).

    python benchmarks/gpu_fix_case.py --eval-dir ../shared/data/eval \\
        --run benchmarks/fix_case/dirty.jsonl:3e-3 --run benchmarks/fix_case/fixed.jsonl:3e-3 \\
        --run benchmarks/fix_case/fixed.jsonl:1.5e-3 --run benchmarks/fix_case/fixed.jsonl:7.5e-4 \\
        --run benchmarks/fix_case/dirty.jsonl:7.5e-4 --run benchmarks/fix_case/oracle.jsonl:3e-3 \\
        --seeds 0 1 -o benchmarks/results/fix_case_gpu.json

Writes one JSON object: base scores, and per run the file, lr, seed, fit
numbers, per-benchmark scores and the target. Results are written after every
run, so a run cut off by a time limit keeps what finished.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", required=True, help="FILE:LR (repeatable)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--eval-dir", required=True)
    ap.add_argument("--benchmarks", default="arc_easy,arc_challenge,piqa,winogrande")
    ap.add_argument("--eval-items", type=int, default=1000)
    ap.add_argument("--base-model", default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--max-steps", type=int, default=0, help="cap on optimizer steps (smoke tests)")
    ap.add_argument("--deadline", type=float, default=0, help="stop starting runs after N seconds")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)

    import torch

    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL, default_device, load_causal_lm
    from tuneahead_lint.meta.evalsuite import evaluate
    from tuneahead_lint.meta.finetune import finetune
    from tuneahead_lint.meta.presets import _LEASE_HP, TARGET_BENCHMARKS
    from tuneahead_lint.meta.runner import device_label, eval_batch_tokens, load_suite
    from tuneahead_lint.meta.spec import SuiteSpec
    from tuneahead_lint.readers import discover, read

    t_start = time.monotonic()
    device = args.device or default_device()
    base = args.base_model or DEFAULT_BASE_MODEL
    suite = SuiteSpec(tuple(args.benchmarks.split(",")), args.eval_items)
    items = load_suite(str(Path(args.eval_dir).resolve()), suite)
    batch_tokens = eval_batch_tokens(device)

    def scores_of(model, tok) -> dict[str, float]:
        return {b: s.score for b, s in evaluate(model, tok, items, device, batch_tokens=batch_tokens).items()}

    model, tok = load_causal_lm(base, device)
    base_scores = scores_of(model, tok)
    del model
    out = {"base_model": base, "device": device_label(device, torch.get_num_threads()),
           "suite": suite.to_dict(), "target_benchmarks": list(TARGET_BENCHMARKS), "hparams": asdict(_LEASE_HP),
           "base_scores": base_scores, "runs": []}
    print(f"base: {base_scores}", flush=True)
    data = {}
    for spec in args.run:
        path = spec.rsplit(":", 1)[0]
        data[path] = [ex for f in discover([path]) for ex in read(f) if ex.ok]
    for seed in args.seeds:  # every file at seed 0 first: a cut-off run keeps one of each
        for spec in args.run:
            path, lr = spec.rsplit(":", 1)
            examples = data[path]
            if args.deadline and time.monotonic() - t_start > args.deadline:
                print("deadline reached", flush=True)
                break
            hp = replace(_LEASE_HP, lr=float(lr), max_steps=args.max_steps)
            model, tok = load_causal_lm(base, device)
            peft_model, fit = finetune(model, tok, examples, hp, seed, device)
            sc = scores_of(peft_model, tok)
            del peft_model, model
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            target = sum(sc[b] - base_scores[b] for b in TARGET_BENCHMARKS) / len(TARGET_BENCHMARKS)
            row = {"file": Path(path).name, "lr": float(lr), "seed": seed, "records": fit.records,
                   "steps": fit.steps, "loss_first": fit.loss_first, "loss_last": fit.loss_last,
                   "diverged": fit.diverged, "train_s": round(fit.train_s, 2), "scores": sc,
                   "target": target}
            out["runs"].append(row)
            print(json.dumps(row), flush=True)
            Path(args.output).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    Path(args.output).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
