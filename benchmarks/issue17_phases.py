"""CPU seconds per phase of K runs one by one vs as one group (issue 17).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/issue17_phases.py --runs 4 --steps 4 \\
        -o benchmarks/results/issue17_phases.json

The embedded SmolLM2-135M on CPU, one torch thread, float32; K runs of the
tiny-all recipes (fixture data, batch 2, 128 tokens, different learning
rates and seeds). Phases: training (``finetune`` per run on the worker's
peft model vs ``grouptrain.train_group``), benchmark scoring (ARC-Easy
items: ``evaluate`` per run vs ``evaluate_fanned``), held-out NLL
(``response_nll`` per run vs ``fanned_nll``). Process CPU time
(``time.process_time``) as well as wall time: the helper machine is shared,
so wall time is contended and CPU time is the comparable number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "meta"


class Clock:
    def __init__(self) -> None:
        self.out: dict[str, dict[str, float]] = {}

    def __call__(self, name: str):
        return _Span(self, name)


class _Span:
    def __init__(self, clock: Clock, name: str) -> None:
        self.clock, self.name = clock, name

    def __enter__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def __exit__(self, *_) -> None:
        d = self.clock.out.setdefault(self.name, {"cpu_s": 0.0, "wall_s": 0.0})
        d["cpu_s"] += time.process_time() - self.cpu
        d["wall_s"] += time.perf_counter() - self.wall


def specs(k: int, steps: int):
    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL
    from tuneahead_lint.meta.finetune import HParams
    from tuneahead_lint.meta.presets import PRESETS
    from tuneahead_lint.meta.spec import SuiteSpec

    hp = HParams(lr=1e-3, batch_size=2, max_len=128, max_steps=steps)
    base = PRESETS["tiny-all"].specs(DEFAULT_BASE_MODEL, SuiteSpec(("arc_easy",), 16))[:k]
    return [replace(s, hp=replace(hp, lr=hp.lr * (1 + j)), seed=j) for j, s in enumerate(base)]


def one_by_one(runs, items, held, clock: Clock) -> None:
    from tuneahead_lint.meta import runner
    from tuneahead_lint.meta.evalsuite import evaluate
    from tuneahead_lint.meta.finetune import finetune
    from tuneahead_lint.meta.indomain import response_nll

    for s, ex in runs:
        model, tok = runner.worker_model(s.base_model, "cpu")
        lora = runner.fresh_lora(s.hp, s.seed, "cpu")
        with clock("train"):
            finetune(model, tok, ex, s.hp, s.seed, "cpu", lora_model=lora, stats_steps=1)
        with clock("score"):
            evaluate(lora, tok, items, "cpu")
        with clock("heldout"):
            response_nll(lora, held, "cpu", tok.pad_token_id)


def grouped(runs, items, held, clock: Clock) -> None:
    from tuneahead_lint.meta import grouprun
    from tuneahead_lint.meta.evalsuite import evaluate_fanned
    from tuneahead_lint.meta.finetune import run_batches
    from tuneahead_lint.meta.grouptrain import GroupRun, train_group
    from tuneahead_lint.meta.indomain import fanned_nll

    model, tok = grouprun.group_model(runs[0][0].base_model, "cpu")
    multi = grouprun.group_multi(model, runs[0][0], len(runs))
    group = []
    for j, (s, ex) in enumerate(runs):
        multi.reset(j, s.seed, "cpu")
        group.append(GroupRun(j, run_batches(tok, ex, s.hp, s.seed)[1], s.hp, None, 1))
    slots = list(range(len(runs)))
    with clock("train"):
        train_group(multi, group, "cpu", tok.pad_token_id)
    with clock("score"):
        evaluate_fanned(model, tok, items, "cpu", multi.fan(slots))
    with clock("heldout"):
        fanned_nll(model, held, "cpu", tok.pad_token_id, multi.fan(slots))
    multi.layout.set([], [])


def main() -> None:
    import torch

    from tuneahead_lint.meta import grouprun, runner
    from tuneahead_lint.meta.indomain import encode_heldout
    from tuneahead_lint.meta.variants import build_variant

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    torch.set_num_threads(1)
    ss = specs(a.runs, a.steps)
    runs = [(s, build_variant(s.recipe, str(FIX / "instruct"), s.plan())) for s in ss]
    items = runner.load_suite(str(FIX / "eval"), ss[0].suite)
    _, tok = runner.worker_model(ss[0].base_model, "cpu")
    grouprun.group_model(ss[0].base_model, "cpu")
    held = encode_heldout(tok, "alpaca", str(FIX / "instruct"), 4, 128)
    res = {}
    for name, fn in (("one_by_one", one_by_one), ("grouped", grouped)):
        clock = Clock()
        fn(runs, items, held, clock)
        res[name] = clock.out
    res["setup"] = {"runs": a.runs, "steps": a.steps, "batch": 2, "max_len": 128, "arc_items": 16,
                    "heldout_records": 4, "load": open("/proc/loadavg").read().split()[:3]}
    text = json.dumps(res, indent=1, sort_keys=True)
    print(text)
    if a.output:
        Path(a.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
