"""Real data slices (tests/fixtures/features) as Examples, with planted
near-duplicates and outliers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneahead_lint.types import Example, Turn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "features"

# Planted near-duplicates of alpaca_120 records: index of the original and
# a rewording (case, punctuation, numerals, synonyms); None copies the field.
PLANTED_DUPS = [
    (3, None, None, None),
    (10, "Generate a list of 5 smart home gadgets.", None,
     "- Google Home voice assistant\n- Smart lighting\n- Nest Learning Thermostat\n"
     "- Smart security cameras\n- Smart locks and doorbells"),
    (25, "Categorize these words into fruits, vegetables, or grains.", None,
     "Fruits: Apple\nVegetables: Carrot\nGrains: Corn"),
    (77, "Write a script to automate a given task.", None, None),
]
GARBAGE = [
    {"instruction": "zxqv 0x7f3a ##@@!! ∑∂ƒ ¬˚∆ qqqq", "input": "", "output": "}}}{{{ ;;; 0101 0101 ÆØÅ ぁぃぅ ゑゐ"},
    {"instruction": "aGVsbG8gd29ybGQ=", "input": "", "output": "dGhpcyBpcyBiYXNlNjQgZ2FyYmFnZQ== Q0FGRUJBQkU="},
]


def records(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


def to_example(rec: dict, path: str, index: int) -> Example:
    user = "\n\n".join(p for p in (rec["instruction"], rec.get("input", "")) if p)
    return Example(path, index + 1, index, "alpaca",
                   (Turn("user", user), Turn("assistant", rec["output"])))


def examples_of(recs: list[dict], path: str = "data.jsonl") -> list[Example]:
    return [to_example(r, path, i) for i, r in enumerate(recs)]


def planted_records() -> tuple[list[dict], list[tuple[int, int]], list[int]]:
    """alpaca_120 plus planted copies and garbage, appended at the end.

    Returns (records, [(original index, copy index)], [garbage indices])."""
    recs = records("alpaca_120.jsonl")
    dups = []
    for src, instruction, inp, output in PLANTED_DUPS:
        orig = recs[src]
        recs.append({"instruction": instruction or orig["instruction"],
                     "input": orig["input"] if inp is None else inp,
                     "output": output or orig["output"]})
        dups.append((src, len(recs) - 1))
    garbage = []
    for g in GARBAGE:
        recs.append(g)
        garbage.append(len(recs) - 1)
    return recs, dups, garbage
