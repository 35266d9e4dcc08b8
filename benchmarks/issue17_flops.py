"""FLOPs and tokens of one gpu-v2 run, per phase, one by one vs in groups of K.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/issue17_flops.py --runs 48 --group 48 \\
        -o benchmarks/results/issue17_flops.json

FLOPs per token come from ``torch.utils.flop_counter.FlopCounterMode`` over
the real SmolLM2-135M architecture instantiated on the ``meta`` device (shapes
only: exact counts, no compute): one group training step (forward, loss on
every target token, backward through the frozen base into the LoRA weights)
and one forward of the decoder, at 64/128/256 tokens. Token counts come from
the real data: the first ``--runs`` runs of the gpu-v2 preset are built
(``build_variant``, timed: CPU work per run) and encoded; their padded
training tokens are counted one by one (each step padded to its own batch)
and in groups of ``--group`` runs as ``meta build --group-size`` forms them
(each step in length bands, each band padded to its longest row); the full ARC-Easy and PIQA suites as the scorer sees
them (shared contexts once); 200 held-out records per source; the probe's
contrast, forgetting and flatness items. The GPU estimate in
``benchmarks/results/issue17_batch.md`` is FLOPs / an assumed sustained rate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def flops_per_token(config, lengths=(64, 128, 256), rows: int = 8) -> dict:
    """Training-step and forward FLOPs per (padded) token on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModelForCausalLM

    from tuneahead_lint.meta.grouptrain import run_losses
    from tuneahead_lint.meta.multilora import MultiLora

    torch.fx.experimental._config.meta_nonzero_assume_all_nonzero = True  # meta shapes: every label a target

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    multi = MultiLora(model, 1, 16, 32, ("q_proj", "k_proj", "v_proj", "o_proj"))
    body, head = model.get_decoder(), model.get_output_embeddings()
    out = {}
    for n in lengths:
        ids = torch.zeros((rows, n), dtype=torch.long, device="meta")
        batch = {"input_ids": ids, "attention_mask": None, "labels": ids}  # no mask: meta tensors have no values
        train = {}
        multi.layout.set([0], [rows])
        with FlopCounterMode(display=False) as fc:  # every token a target (nonzero on meta: all)
            run_losses(body, head, batch, torch.zeros(rows, dtype=torch.long, device="meta"), 1).sum().backward()
        train["all"] = fc.get_total_flops()
        multi.zero_grad()
        with FlopCounterMode(display=False) as fc:  # the decoder alone, forward and backward
            body(input_ids=ids).last_hidden_state.sum().backward()
        train["one"] = fc.get_total_flops()
        multi.zero_grad()
        multi.layout.set([], [])
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            body(input_ids=ids)
        out[str(n)] = {"train_body_per_token": train["one"] / (rows * n),
                  "train_head_per_target": (train["all"] - train["one"]) / (rows * (n - 1)),
                  "train_step_per_token_all_targets": train["all"] / (rows * n),
                  "forward_body_per_token": fc.get_total_flops() / (rows * n)}
    out["forward_head_per_target"] = 2 * config.hidden_size * config.vocab_size
    return out


def padded(batches) -> int:
    return sum(len(b) * max(len(e.input_ids) for e in b) for b in batches)


def run_tokens(specs, data_dir: str, tok) -> list[dict]:
    """Per run: CPU seconds to build and encode, steps, real/padded/target training tokens."""
    from tuneahead_lint.meta.finetune import run_batches
    from tuneahead_lint.meta.variants import build_variant

    out = []
    for s in specs:
        t0 = time.perf_counter()
        ex = build_variant(s.recipe, data_dir, s.plan())
        t1 = time.perf_counter()
        _, batches = run_batches(tok, ex, s.hp, s.seed)
        out.append({"run_id": s.run_id, "build_s": t1 - t0, "encode_s": time.perf_counter() - t1,
                    "steps": len(batches), "rows": sum(len(b) for b in batches),
                    "tokens": sum(len(e.input_ids) for b in batches for e in b), "padded_alone": padded(batches),
                    "targets": sum(e.n_target for b in batches for e in b), "batches": batches})
    return out


def grouped_padded(specs, runs: list[dict], k: int) -> list[int]:
    """Padded training tokens of each run in groups of ``k`` (``grouprun.make_groups``):
    each step in length bands (``grouptrain.length_bands``), each band padded
    to its longest row; a run's share by its rows."""
    from tuneahead_lint.meta.grouprun import make_groups
    from tuneahead_lint.meta.grouptrain import BANDS, length_bands

    by_id = {r["run_id"]: r for r in runs}
    share = {}
    for group in make_groups(specs, k):
        rs = [by_id[s.run_id] for s in group]
        total = [0] * len(rs)
        for step in range(max(r["steps"] for r in rs)):
            live = [(j, r["batches"][step]) for j, r in enumerate(rs) if step < r["steps"]]
            for band in length_bands([b for _, b in live], min(BANDS, max(len(b) for _, b in live))):
                width = max(len(e.input_ids) for rows in band for e in rows)
                for (j, _), rows in zip(live, band):
                    total[j] += len(rows) * width
        share.update({r["run_id"]: t for r, t in zip(rs, total)})
    return [share[r["run_id"]] for r in runs]


def scoring_tokens(eval_dir: str, tok, max_len: int = 512) -> dict:
    """Decoder tokens and head rows of the full ARC-Easy + PIQA scoring, with the
    scorer's shared-context rule (a context shared when it outweighs the choices)."""
    from tuneahead_lint.meta.evalsuite import load_benchmark

    body = head = 0
    for name in ("arc_easy", "piqa"):
        for it in load_benchmark(name, eval_dir, None):
            reqs = [(tok(it.context(j), add_special_tokens=False)["input_ids"],
                     tok(c, add_special_tokens=False)["input_ids"][: max_len - 1])
                    for j, c in enumerate(it.continuations)]
            conts = sum(len(c) for _, c in reqs)
            head += conts
            ctx = reqs[0][0]
            if len(reqs) > 1 and all(r[0] == ctx for r in reqs) and len(ctx) * len(reqs) >= conts:
                body += len(ctx) + conts - len(reqs)
            else:
                body += sum(len(c) + len(x) for c, x in reqs)
    return {"decoder_tokens": body, "head_rows": head}


def probe_tokens(spec, data_dir: str, tok) -> dict:
    """Tokens of the probe's per-run forwards (gpu-v2 probe: CUDA defaults)."""
    from tuneahead_lint.meta.variants import build_variant
    from tuneahead_lint.probe import forgetting
    from tuneahead_lint.probe.contrast import build_pairs
    from tuneahead_lint.probe.data import usable

    recs = usable(build_variant(spec.recipe, data_dir, spec.plan()))
    items, _, _ = build_pairs(tok, recs, 64, spec.hp.max_len, spec.seed)
    slice_ = forgetting.encode_slice(tok, 64, spec.hp.max_len)
    return {"contrast_tokens": sum(len(e.input_ids) for e in items),
            "contrast_targets": sum(e.n_target for e in items),
            "forgetting_tokens": sum(len(e.input_ids) for e in slice_),
            "flatness_tokens_x3": 3 * 8 * spec.hp.max_len}


def heldout_tokens(spec, data_dir: str, tok) -> dict:
    from tuneahead_lint.meta.indomain import encode_heldout

    enc = [e for src, _ in spec.recipe.sources
           for e in encode_heldout(tok, src, data_dir, spec.recipe.heldout, spec.hp.max_len)]
    return {"tokens": sum(len(e.input_ids) for e in enc), "targets": sum(e.n_target for e in enc)}


def mean_run(runs: list[dict]) -> dict[str, float]:
    """Mean over the measured runs (the build's throughput is set by the mean, not the median)."""
    return {k: sum(r[k] for r in runs) / len(runs) for k in runs[0] if k != "run_id"}


RATES = (150e12, 250e12, 350e12)  # sustained bf16 FLOP/s assumed on one H200 (peak dense: 989e12)


def phase_flops(res: dict) -> dict[str, float]:
    """FLOPs of one mean run per phase (grouped training; scoring as batched)."""
    f, m = res["flops"], mean_run(res["runs"])
    f256, fwd = f["256"], f["256"]["forward_body_per_token"]
    head = f["forward_head_per_target"]
    sc, pr, ho = res["scoring"], res["probe"], res["heldout"]
    return {
        "train (grouped, padded)": m["padded_grouped"] * f256["train_body_per_token"]
        + m["targets"] * f256["train_head_per_target"],
        "ARC-Easy + PIQA scoring": sc["decoder_tokens"] * fwd + sc["head_rows"] * head,
        "held-out NLL": ho["tokens"] * fwd + ho["targets"] * head,
        "probe extras (contrast, slice, flatness)": (pr["contrast_tokens"] + pr["forgetting_tokens"]
                                                     + pr["flatness_tokens_x3"]) * fwd + pr["contrast_targets"] * head,
    }


def estimate(res: dict) -> str:
    """Markdown: FLOPs per phase and runs/min at the assumed sustained rates."""
    ph = phase_flops(res)
    head = "| phase | TFLOP per run | " + " | ".join(f"s/run at {r / 1e12:.0f} TFLOP/s" for r in RATES) + " |"
    rows = [head, "|---|---|" + "---|" * len(RATES)]
    for name, fl in [*ph.items(), ("total", sum(ph.values()))]:
        rows.append(f"| {name} | {fl / 1e12:.1f} | " + " | ".join(f"{fl / r:.2f}" for r in RATES) + " |")
    rows.append("| **runs/min** | | " + " | ".join(f"**{60 * r / sum(ph.values()):.0f}**" for r in RATES) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=48)
    ap.add_argument("--group", type=int, default=48)
    ap.add_argument("-o", "--output", default="benchmarks/results/issue17_flops.json")
    ap.add_argument("--from-json", help="only print the estimate of a saved result")
    a = ap.parse_args()
    if a.from_json:
        print(estimate(json.loads(Path(a.from_json).read_text())))
        return
    from transformers import AutoConfig

    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL, load_tokenizer, materialize, resolve
    from tuneahead_lint.meta.evalsuite import default_eval_dir
    from tuneahead_lint.meta.presets import PRESETS
    from tuneahead_lint.meta.variants import default_data_dir

    config = AutoConfig.from_pretrained(materialize(resolve(None)))
    tok = load_tokenizer(None)
    data_dir, eval_dir = str(default_data_dir()), str(default_eval_dir())
    specs = PRESETS["gpu-v2"].specs(DEFAULT_BASE_MODEL)[: a.runs]
    res = {"flops": flops_per_token(config), "runs": run_tokens(specs, data_dir, tok)}
    for r, g in zip(res["runs"], grouped_padded(specs, res["runs"], a.group)):
        r["padded_grouped"] = g
        del r["batches"]
    res["group"] = a.group
    res["scoring"] = scoring_tokens(eval_dir, tok)
    res["probe"] = probe_tokens(specs[0], data_dir, tok)
    res["heldout"] = heldout_tokens(specs[0], data_dir, tok)
    med = {k: statistics.median(r[k] for r in res["runs"]) for k in
           ("build_s", "encode_s", "steps", "tokens", "padded_alone", "padded_grouped", "targets")}
    res["median_run"] = med
    Path(a.output).write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(json.dumps({k: res[k] for k in ("flops", "median_run", "scoring", "probe", "heldout")}, indent=1))
    print(estimate(res))


if __name__ == "__main__":
    main()
