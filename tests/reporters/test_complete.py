"""Machine formats name every record a finding is about (issue 13), and the
concise format prints one line per finding; on a real sample with planted
template leaks, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tuneahead_lint.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "sample" / "alpaca_sample.jsonl"
LEAKED = tuple(range(10, 150, 10))  # 14 lines with a leaked end-of-text token


@pytest.fixture(scope="module")
def leaky(tmp_path_factory) -> Path:
    out = []
    for n, line in enumerate(SAMPLE.read_text(encoding="utf-8").splitlines(), start=1):
        if n in LEAKED:
            rec = json.loads(line)
            rec["output"] += "<|endoftext|>"
            line = json.dumps(rec)
        out.append(line)
    path = tmp_path_factory.mktemp("leak") / "leaky.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def lint(capsys, *argv) -> str:
    main(["--fast", "--no-color", *map(str, argv)])
    return capsys.readouterr().out


def test_json_lists_every_line_of_a_grouped_finding(capsys, leaky):
    doc = json.loads(lint(capsys, "--format", "json", leaky))
    schema = json.loads((ROOT / "tuneahead_lint" / "schemas" / "report-v1.schema.json").read_text())
    jsonschema.validate(doc, schema)
    (leak,) = [f for f in doc["findings"] if f["rule_id"] == "TA105"]
    assert leak["lines"] == list(LEAKED) and leak["lines_total"] == 14
    assert len(set(leak["record_fingerprints"])) == 14


def test_sarif_annotates_every_record(capsys, leaky):
    log = json.loads(lint(capsys, "--format", "sarif", leaky))
    schema = json.loads((ROOT / "tests" / "reporters" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "TA105"]
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results]
    assert lines == list(LEAKED)


def test_concise_is_one_line_per_finding(capsys, leaky):
    out = lint(capsys, "--format", "concise", leaky).splitlines()
    doc = json.loads(lint(capsys, "--format", "json", leaky))
    assert len(out) == len(doc["findings"]) + 1
    assert f"{leaky}:10: TA105 [warning] template markup '<|endoftext|>' in 14 assistant turn(s) " \
           "(+13 more lines)" in out
    assert out[-1].endswith("in 1 file")


def test_text_shows_counts_not_every_line(capsys, leaky):
    out = lint(capsys, leaky)
    assert "TA105 template-leak  warning  1 finding, 14 records\n" in out
    assert "\n    lines 10, 20, 30, 40, 50 … and 9 more\n" in out  # one file: no file header, less indent


def test_sarif_fingerprints_tell_records_apart_and_survive_line_shifts(capsys, tmp_path):
    empty = ['{"instruction": "Say hi", "input": "", "output": ""}',
             '{"instruction": "Say bye", "input": "", "output": ""}']
    good = SAMPLE.read_text(encoding="utf-8").splitlines()[:20]
    data = tmp_path / "d.jsonl"

    def fingerprints(lines: list[str]) -> dict[int, str]:
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        results = json.loads(lint(capsys, "--format", "sarif", data))["runs"][0]["results"]
        return {r["locations"][0]["physicalLocation"]["region"]["startLine"]:
                r["partialFingerprints"]["tuneaheadFinding/v1"] for r in results if r["ruleId"] == "TA101"}

    first = fingerprints([empty[0], *good, empty[1]])
    assert len(set(first.values())) == 2  # same message, different records
    moved = fingerprints([*good[:5], empty[0], *good[5:], "", empty[1]])
    assert sorted(first.values()) == sorted(moved.values()) and sorted(first) != sorted(moved)
