"""Build the shipped benchmark-contamination index (TA119) from public test sets.

    PYTHONPATH=. python data/contamination/build.py [../shared/data/eval] [-o data/contamination]

Writes ``hashes.npy`` (sorted uint64 gram hashes: the first 12 13-grams of
each question, the smallest of every 6 consecutive ones after that and of the
answers/passages/choices), ``items.npy`` (uint32 entry code per hash; every
multiple-choice item is indexed twice, as its question and as its question
with "A."-labelled options, BoolQ as question and as passage + question) and ``benchmarks.json`` (benchmarks in item-id order with their
item counts, source files and licences). Item k of a benchmark is its k-th
record (JSONL line, CSV data row). Licences: see ../shared/data/MANIFEST.md;
every set used allows redistribution of derived hashes (MIT, Apache-2.0,
CC BY-SA 4.0, AFL-3.0).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tuneahead_lint.checks.contamination import MAX_ITEMS_PER_GRAM, MIN_SHORT, N, build_index

WINDOW = 6  # winnowing window: any shared run of N + WINDOW - 1 = 18 words is found

HERE = Path(__file__).resolve().parent
DEFAULT_EVAL = HERE.parents[2] / "shared" / "data" / "eval"
Item = tuple[list[str], list[str]]  # (question strings, other strings)
_LABEL = re.compile(r"^(?:Question|Context|Passage|Choices|Answer)\s*:\s*", re.MULTILINE)
_OPTION = re.compile(r"^[A-E]\.\s")


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _query_lines(query: str) -> tuple[list[str], list[str]]:
    """Question/context lines and option lines of a MosaicML ``query``."""
    questions, options = [], []
    for line in query.splitlines():
        text = _LABEL.sub("", line).strip()
        if not text:
            continue
        (options if _OPTION.match(text) else questions).append(_OPTION.sub("", text))
    return questions, options


def gsm8k(root: Path) -> Iterator[Item]:
    for r in _jsonl(root / "gsm8k" / "test.jsonl"):
        yield [r["question"]], [r["answer"]]


def mosaic(name: str, file: str):
    def items(root: Path) -> Iterator[Item]:
        for r in _jsonl(root / name / file):
            q, opts = _query_lines(r["query"])
            choices = [c for c in r["choices"] if len(c) > 1]
            yield q, opts + choices
    return items


def boolq(root: Path) -> Iterator[Item]:
    for r in _jsonl(root / "boolq" / "boolq.jsonl"):
        passage, _, question = r["query"].partition("\nQuestion:")
        yield [question.replace("Answer:", "").strip()], [_LABEL.sub("", passage)]


def winogrande(root: Path) -> Iterator[Item]:
    for r in _jsonl(root / "winogrande" / "winogrande.jsonl"):
        yield [f"{c} {r['continuation']}" for c in r["context_options"]], []


def truthfulqa(root: Path) -> Iterator[Item]:
    with (root / "truthfulqa" / "TruthfulQA.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield [row["Question"]], [row["Best Answer"]]


def mmlu_subjects(root: Path) -> list[tuple[str, Path]]:
    folder = root / "mmlu_final_reformatted" / "test"
    return [(f"mmlu/{p.name.removesuffix('_test.csv')}", p) for p in sorted(folder.glob("*_test.csv"))]


def mmlu(path: Path) -> Iterator[Item]:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield [row["question"].strip()], [row[f"choice{k}"].strip() for k in range(4)]


SOURCES = [  # (name, items function, source file, licence)
    ("gsm8k/test", gsm8k, "eval/gsm8k/test.jsonl", "MIT"),
    ("arc_easy/test", mosaic("arc_easy", "arc_easy.jsonl"), "eval/arc_easy/arc_easy.jsonl", "CC BY-SA 4.0"),
    ("arc_challenge/test", mosaic("arc_challenge", "arc_challenge.jsonl"),
     "eval/arc_challenge/arc_challenge.jsonl", "CC BY-SA 4.0"),
    ("boolq/validation", boolq, "eval/boolq/boolq.jsonl", "Apache-2.0 (llm-foundry copy)"),
    ("piqa/validation", mosaic("piqa", "piqa.jsonl"), "eval/piqa/piqa.jsonl", "AFL-3.0"),
    ("commonsense_qa/validation", mosaic("commonsense_qa", "commonsense_qa.jsonl"),
     "eval/commonsense_qa/commonsense_qa.jsonl", "Apache-2.0 (llm-foundry copy)"),
    ("siqa/validation", mosaic("siqa", "siqa.jsonl"), "eval/siqa/siqa.jsonl", "Apache-2.0 (llm-foundry copy)"),
    ("winogrande/dev", winogrande, "eval/winogrande/winogrande.jsonl", "Apache-2.0 (llm-foundry copy)"),
    ("truthfulqa", truthfulqa, "eval/truthfulqa/TruthfulQA.csv", "Apache-2.0"),
]


def with_options(item: Item) -> list[Item]:
    """The item, plus its question and options written as one text with
    "A." labels (the usual prompt format): a record that copies a short
    question with its options is then one long match."""
    questions, others = item
    options = [o for o in others if o][:5]
    joined = " ".join(questions[:1]) + " " + " ".join(f"{'ABCDE'[k]}. {o}" for k, o in enumerate(options))
    return [item, ([joined.strip()], [])]


def with_passage(item: Item) -> list[Item]:
    """BoolQ: the item, plus passage and question as one question text."""
    questions, others = item
    return [item, ([" ".join(others + questions)], [])]


def collect(root: Path) -> tuple[list[Item], list[tuple[str, int]], list[dict], list[bool]]:
    items: list[Item] = []
    names: list[tuple[str, int]] = []
    joined: list[bool] = []  # entries indexed sparsely (winnowed from the first gram)
    table = []
    sources = [(n, fn, src, lic) for n, fn, src, lic in SOURCES]
    sources += [(name, (lambda r, p=p: mmlu(p)), f"eval/mmlu_final_reformatted/test/{p.name}", "MIT")
                for name, p in mmlu_subjects(root)]
    for name, fn, src, licence in sources:
        got = list(fn(root))
        expand = (with_passage if name.startswith("boolq") else
                  (lambda item: [item]) if name.startswith(("gsm8k", "winogrande", "truthfulqa")) else with_options)
        per_item = {len(expand(item)) for item in got}
        if len(per_item) != 1:
            raise SystemExit(f"{name}: items expand to {sorted(per_item)} entries; expected one count")
        for k, item in enumerate(got, 1):
            entries = expand(item)
            items += entries
            names += [(name, k)] * len(entries)
            joined += [False] + [True] * (len(entries) - 1)
        table.append({"name": name, "items": len(got), "entries_per_item": per_item.pop(),
                      "source": src, "licence": licence})
    return items, names, table, joined


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_root", nargs="?", default=str(DEFAULT_EVAL))
    ap.add_argument("-o", "--out", default=str(HERE))
    args = ap.parse_args(argv)
    items, names, table, joined = collect(Path(args.eval_root))
    index = build_index(items, names, WINDOW)  # joined entries dense: better recall (measured)
    out = Path(args.out)
    np.save(out / "hashes.npy", index.hashes, allow_pickle=False)
    np.save(out / "items.npy", index.items, allow_pickle=False)
    meta = {"n": N, "min_short": MIN_SHORT, "window": WINDOW, "max_items_per_gram": MAX_ITEMS_PER_GRAM,
            "lengths": list(index.lengths), "grams": int(len(index.hashes)),
            "items": len(names), "benchmarks": table}
    (out / "benchmarks.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{len(names)} items, {len(index.hashes)} grams, lengths {index.lengths}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
