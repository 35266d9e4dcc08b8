"""Readers for the shared data sets used by the planted-defect sets (issue 16).

Every reader returns plain ``{"instruction", "input", "output", "src"}`` dicts;
``src`` names the source set and is dropped before a record is written.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path
from typing import Iterator

DATA = Path("/work/shared/data")
INSTRUCT = DATA / "instruct"
EVAL = DATA / "eval"

Rec = dict[str, str]


def rec(instruction: str, output: str, src: str, inp: str = "") -> Rec:
    """One record in Alpaca layout."""
    return {"instruction": instruction, "input": inp, "output": output, "src": src}


def _json(path: Path) -> list:
    return json.loads(path.read_text(encoding="utf-8"))


def _jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def alpaca_like(name: str, file: str) -> list[Rec]:
    """Sets stored as a JSON array of {instruction, input, output|response}."""
    rows = _json(INSTRUCT / name / file)
    return [rec(r["instruction"], r.get("output", r.get("response", "")), name, r.get("input", ""))
            for r in rows if not r.get("history")]


def dolly() -> list[Rec]:
    """Dolly/HH: strip the Alpaca wrapper from the prompt."""
    out = []
    for r in _jsonl(INSTRUCT / "dolly_hhrlhf_train_small" / "dolly_hhrlhf_train_small.jsonl"):
        m = re.search(r"### Instruction:\n(.*?)\n\n### Response:", r["prompt"], re.S)
        if m:
            out.append(rec(m.group(1).strip(), r["response"], "dolly_hhrlhf_train_small"))
    return out


def gsm8k_train() -> list[Rec]:
    rows = _jsonl(INSTRUCT / "gsm8k_train" / "train.jsonl")
    return [rec(r["question"], r["answer"], "gsm8k_train") for r in rows]


def seed_tasks() -> list[Rec]:
    rows = _jsonl(INSTRUCT / "self_instruct_seed_tasks" / "seed_tasks.jsonl")
    return [rec(r["instruction"], i["output"], "self_instruct_seed_tasks", i["input"])
            for r in rows for i in r["instances"][:1]]


def user_oriented() -> list[Rec]:
    rows = _jsonl(INSTRUCT / "self_instruct_user_oriented_252" / "user_oriented_instructions.jsonl")
    return [rec(r["instruction"], i["output"], "self_instruct_user_oriented_252", i["input"])
            for r in rows for i in r["instances"][:1]]


def predictions(model: str) -> list[Rec]:
    """Responses of one model to the 252 user-oriented prompts (target kept as ``target``)."""
    path = INSTRUCT / "self_instruct_user_oriented_252" / "predictions" / f"{model}_predictions.jsonl"
    out = []
    for r in _jsonl(path):
        x = rec(r["instruction"].strip(), r["response"].strip(), model, r["input"])
        x["target"] = r["target"]
        out.append(x)
    return out


def sharegpt_first_turns() -> list[Rec]:
    """First human/gpt exchange of each ShareGPT conversation."""
    out = []
    for c in _json(INSTRUCT / "sharegpt_v3_unfiltered_first1500"
                   / "ShareGPT_V3_unfiltered_cleaned_split.first1500.json"):
        t = c["conversations"]
        if len(t) >= 2 and t[0]["from"] == "human" and t[1]["from"] == "gpt":
            out.append(rec(t[0]["value"], t[1]["value"], "sharegpt_v3_unfiltered_first1500"))
    return out


def t0_template(name: str) -> list[Rec]:
    """One T0 prompt template (completion without its ``<|endoftext|>``)."""
    path = INSTRUCT / "t0_train_templated_subset" / "data_per_template" / f"{name}.jsonl"
    return [rec(r["prompt"].strip(), r["completion"].removesuffix("<|endoftext|>"), f"t0:{name}")
            for r in _jsonl(path)]


def oasst_zh() -> list[Rec]:
    return alpaca_like("oasst1_zh_sft_llamafactory", "oaast_sft_zh.json")


def load_set(name: str) -> list[Rec]:
    """A source set by folder name."""
    files = {
        "alpaca_5k_subset": "alpaca_5000.json", "code_alpaca_2k": "code_alpaca_2k.json",
        "lima_llamafactory": "lima.json",
        "medical_meadow_wikidoc_patient_info": "medical_meadow_small.json",
        "gpteacher_roleplay": "roleplay-simple-deduped-roleplay-instruct.json",
        "gpteacher_toolformer": "toolformer-dedupe-only-dataset.json",
    }
    special = {"dolly_hhrlhf_train_small": dolly, "gsm8k_train": gsm8k_train,
               "self_instruct_seed_tasks": seed_tasks,
               "self_instruct_user_oriented_252": user_oriented,
               "sharegpt_v3_unfiltered_first1500": sharegpt_first_turns}
    if name in special:
        return special[name]()
    return alpaca_like(name, files[name])


# ---- benchmark test items -------------------------------------------------


def gsm8k_test() -> list[Rec]:
    return [rec(r["question"], r["answer"], "gsm8k_test") for r in _jsonl(EVAL / "gsm8k" / "test.jsonl")]


def mmlu_test(subjects: list[str]) -> list[Rec]:
    """MMLU final-release test items as 'question + lettered options' prompts."""
    out = []
    for subject in subjects:
        with open(EVAL / "mmlu_final_reformatted" / "test" / f"{subject}_test.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                opts = [row[f"choice{i}"].strip() for i in range(4)]
                body = "\n".join(f"{'ABCD'[i]}. {o}" for i, o in enumerate(opts))
                ans = int(row["answer"])
                out.append(rec(f"{row['question'].strip()}\n{body}",
                               f"{'ABCD'[ans]}. {opts[ans]}", f"mmlu:{subject}"))
    return out


def mosaic_mc(name: str) -> list[Rec]:
    """ARC / BoolQ / CommonsenseQA items (MosaicML layout) as question -> answer."""
    out = []
    for r in _jsonl(EVAL / name / f"{name}.jsonl"):
        q = r["query"].removeprefix("Question: ").removesuffix("Answer:").strip()
        out.append(rec(q, str(r["choices"][r["gold"]]), name))
    return out


def truthfulqa() -> list[Rec]:
    with open(EVAL / "truthfulqa" / "TruthfulQA.csv", encoding="utf-8") as f:
        return [rec(r["Question"], r["Best Answer"], "truthfulqa") for r in csv.DictReader(f)]
