"""fix drops what TA117 (whole group), TA118 and TA119 report, naming the rule."""

from __future__ import annotations

import json

from .conftest import fix

CLEAN = [
    {"instruction": "Name a colour", "input": "", "output": "Red"},
    {"instruction": "Arrange the following musical notes", "input": "G, B, E", "output": "E, G, B"},
]
CONFLICT = [
    {"instruction": "What is the capital of Australia?", "input": "", "output": "Canberra"},
    {"instruction": "what is the capital of australia", "input": "", "output": "Sydney"},
]
TRUNCATED = {"instruction": "Write a Python function that adds two numbers.", "input": "",
             "output": "Here it is:\n```python\ndef add(a, b):\n    return a + b\n"}
GSM8K_TEST_1 = {"instruction": "Janet's ducks lay 16 eggs per day. She eats three for breakfast every "
                "morning and bakes muffins for her friends every day with four. She sells the remainder "
                "at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she "
                "make every day at the farmers' market?", "input": "", "output": "18"}


def _file(tmp_path, records):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_flagged_records_are_dropped_with_their_rule(tmp_path):
    path = _file(tmp_path, [CLEAN[0], *CONFLICT, TRUNCATED, GSM8K_TEST_1, CLEAN[1]])
    result = fix([path], fast=True, output=str(tmp_path / "o.jsonl"))
    assert [(a.line, a.action, a.rule_id) for a in result.plan.actions] == [
        (2, "drop", "TA117"), (3, "drop", "TA117"), (4, "drop", "TA118"), (5, "drop", "TA119")]
    assert "gsm8k/test item 1" in result.plan.actions[-1].detail
    kept = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert kept == CLEAN


def test_keep_flagged_switch(tmp_path):
    path = _file(tmp_path, [*CONFLICT, TRUNCATED])
    result = fix([path], fast=True, drop_flagged=False, output=str(tmp_path / "o.jsonl"))
    assert result.plan.actions == ()


def test_eval_set_option_reaches_fix(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": "How many moons does the planet Zorblax have according "
                                             "to the ancient star charts?", "answer": "7"}) + "\n")
    leaked = {"instruction": "How many moons does the planet Zorblax have according to the ancient "
                             "star charts?", "input": "", "output": "7"}
    path = _file(tmp_path, [CLEAN[0], leaked])
    opts = (("TA119", {"benchmarks": True, "eval_sets": [str(bench)], "min_coverage": 0.8,
                       "min_grams": 20}),)
    result = fix([path], fast=True, rule_options=opts, output=str(tmp_path / "o.jsonl"))
    assert [(a.line, a.rule_id) for a in result.plan.actions] == [(2, "TA119")]
    assert "bench.jsonl item 1" in result.plan.actions[0].detail
