"""End-to-end goldens: the real pipeline on a real slice with planted
problems, rendered in all three formats and compared byte for byte.
Refresh with ``pytest --update-golden`` after an intended change."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reporters.golden import assert_golden
from tuneahead_lint.cli import main

ROOT = Path(__file__).resolve().parent.parent
INPUT = "tests/fixtures/golden/planted.jsonl"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_e2e_golden(fmt, monkeypatch, capsys, request):
    monkeypatch.chdir(ROOT)
    code = main(["--fast", "--no-color", "--format", fmt, INPUT])
    out = capsys.readouterr().out
    assert code == 1  # the planted errors fail the gate
    assert_golden(f"e2e.{ 'txt' if fmt == 'text' else fmt }", out, request)
    if fmt == "sarif":
        schema = json.loads((ROOT / "tests" / "reporters" / "sarif-schema-2.1.0.json").read_text())
        jsonschema.validators.validator_for(schema)(schema).validate(json.loads(out))
        result = json.loads(out)["runs"][0]["results"]
        assert {r["ruleId"] for r in result} == {"TA001", "TA006", "TA101", "TA103", "TA105", "TA106"}
        assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == INPUT for r in result)


def test_every_planted_problem_found_at_its_line(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    main(["--fast", "--format", "json", INPUT])
    found = {(f["rule_id"], f["line"]) for f in json.loads(capsys.readouterr().out)["findings"]}
    assert found == {("TA101", 3), ("TA106", 6), ("TA105", 8), ("TA001", 10),
                     ("TA101", 13), ("TA103", 13), ("TA006", 14)}
