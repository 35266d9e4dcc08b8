"""Static features of every instruction set in ../shared/data/instruct.

Writes benchmarks/results/features_table.md (and .json). Run from the repo
root: ``.venv/bin/python benchmarks/features_table.py [--only NAME ...]
[--max-records N --ppl-sample K --ppl-tokens T]`` (the committed table was
made with a seeded 1,000-record sample per set, see its header line).

Records are read by the linter's own readers (``tuneahead_lint.readers``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from tuneahead_lint.types import Example

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruct"
RESULTS = Path(__file__).resolve().parent / "results"

SETS = {
    "alpaca_5k_subset": ["alpaca_5000.json"],
    "code_alpaca_2k": ["code_alpaca_2k.json"],
    "dolly_hhrlhf_train_small": ["dolly_hhrlhf_train_small.jsonl"],
    "gpteacher_roleplay": ["roleplay-simple-deduped-roleplay-instruct.json"],
    "gpteacher_toolformer": ["toolformer-dedupe-only-dataset.json"],
    "gsm8k_train": ["train.jsonl"],
    "hh_rlhf_harmless_base_test": ["test.jsonl.gz"],
    "lima_llamafactory": ["lima.json"],
    "medical_meadow_wikidoc_patient_info": ["medical_meadow_small.json"],
    "oasst1_zh_sft_llamafactory": ["oaast_sft_zh.json"],
    "self_instruct_seed_tasks": ["seed_tasks.jsonl"],
    "self_instruct_user_oriented_252": ["user_oriented_instructions.jsonl"],
    "sharegpt_v3_unfiltered_first1500": ["ShareGPT_V3_unfiltered_cleaned_split.first1500.json"],
    "t0_train_templated_subset": ["data_per_template/*.jsonl"],
}
# self_instruct_user_oriented_252/predictions/ (8 models' answers to the same
# 252 prompts) are model outputs, not a training set: left out of the table.


def load_examples(paths: list[Path]) -> list[Example]:
    """Examples of the files, read by the linter's own readers."""
    from tuneahead_lint.readers import read

    return [e for p in paths for e in read(str(p))]


def _sample(examples: list[Example], k: int) -> list[Example]:
    """A seeded sample of k valid examples in file order (all when k is 0)."""
    valid = [e for e in examples if e.ok]
    if not k or len(valid) <= k:
        return valid
    import numpy as np

    rows = np.sort(np.random.default_rng(0).choice(len(valid), size=k, replace=False))
    return [valid[i] for i in rows]


def dataset_paths(name: str) -> list[Path]:
    folder = DATA / name
    return sorted(p for pattern in SETS[name] for p in folder.glob(pattern))


COLUMNS = [
    ("record_count", "n", "{:.0f}"), ("prompt_tokens_mean", "prompt tok", "{:.1f}"),
    ("prompt_tokens_std", "±", "{:.1f}"), ("response_tokens_mean", "resp tok", "{:.1f}"),
    ("response_tokens_std", "±", "{:.1f}"), ("output_input_ratio", "out/in", "{:.2f}"),
    ("special_char_ratio", "special", "{:.3f}"), ("digit_ratio", "digits", "{:.3f}"),
    ("code_ratio", "code", "{:.3f}"), ("near_dup_ratio", "near-dup", "{:.4f}"),
    ("embedding_outlier_ratio", "outl 3σ", "{:.4f}"), ("embedding_outlier_ratio_robust", "outl robust", "{:.4f}"),
    ("type_token_ratio", "STTR", "{:.3f}"), ("response_ngram_repetition", "rep-3", "{:.3f}"),
    ("instruction_clause_depth_proxy", "clause depth*", "{:.2f}"), ("top_instruction_share", "top instr", "{:.3f}"),
    ("reference_ppl_mean", "ppl", "{:.1f}"), ("reference_ppl_std", "ppl ±", "{:.1f}"),
    ("io_semantic_similarity", "io cos", "{:.3f}"), ("output_semantic_diversity", "out div", "{:.3f}"),
    ("vocab_kl_divergence", "KL(wordfreq)", "{:.2f}"), ("answer_groundedness", "grounded", "{:.3f}"),
]


def _fmt(fmt: str, v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def markdown(rows: dict[str, dict]) -> str:
    head = "| set | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, res in rows.items():
        vals = res["values"]
        lines.append(f"| {name} | " + " | ".join(_fmt(f, vals[k]["value"]) for k, _, f in COLUMNS) + " |")
    cfgs = {json.dumps(r.get("config", {}), sort_keys=True) for r in rows.values()}
    lines.append("")
    lines.append(f"Run configuration(s): {'; '.join(sorted(cfgs))} (max_records 0 = every record). "
                 "clause depth* is a proxy (clause markers + bracket nesting), not a parse.")
    lines.append("")
    lines.append("Top instruction of each set (first prompt line) and KL's largest words:")
    lines.append("")
    for name, res in rows.items():
        v = res["values"]
        lines.append(f"- {name}: {v['top_instruction_share']['detail']}; {v['vocab_kl_divergence']['detail']}; "
                     f"{v['near_dup_ratio']['detail']}; seconds {res['seconds']:.0f}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from tuneahead_lint.features import FeatureConfig, compute_features

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--max-records", type=int, default=0,
                    help="seeded sample of at most this many records per set (0: all)")
    ap.add_argument("--ppl-sample", type=int, default=FeatureConfig().ppl_sample)
    ap.add_argument("--ppl-tokens", type=int, default=FeatureConfig().ppl_max_tokens)
    args = ap.parse_args(argv)
    cfg = FeatureConfig(progress=True, ppl_sample=args.ppl_sample, ppl_max_tokens=args.ppl_tokens)
    RESULTS.mkdir(exist_ok=True)
    out_json = RESULTS / "features_table.json"
    rows = json.loads(out_json.read_text()) if out_json.exists() else {}
    for name in args.only or SETS:
        t0 = time.perf_counter()
        examples = _sample(load_examples(dataset_paths(name)), args.max_records)
        res = compute_features(examples, cfg).to_dict()
        res["config"] = {"max_records": args.max_records, "ppl_sample": args.ppl_sample,
                         "ppl_tokens": args.ppl_tokens}
        res["seconds"] = time.perf_counter() - t0
        res["clusters"] = len(res["clusters"])  # counts only: the evidence lists are long
        res["outliers"] = len(res["outliers"])
        rows[name] = res
        print(f"{name}: {res['seconds']:.0f} s", file=sys.stderr)
        out_json.write_text(json.dumps(rows, indent=1, sort_keys=True, default=str))
    ordered = {k: rows[k] for k in SETS if k in rows}
    (RESULTS / "features_table.md").write_text(markdown(ordered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
