"""Run every case in tests/rules/cases/*.yaml (sqlfluff style).

A case is data (JSONL by default, ``ext`` for other containers; ``escaped``
for raw bytes written with Python escapes), optional rule options in
``config``, and the lines the rule must report in ``expect`` (each finding's
first line); ``expect_lines`` lists every line the findings name. ``special``
(name -> symlink-loop | broken-link | fifo) puts the data in a folder next to
such entries and lints the folder. ``features``, ``probe`` and ``prediction``
give the model-backed stages a fake embedder or recorded results
(tests/rules/fakes.py); without them the case runs with features off.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest
import yaml

from tests.rules.fakes import stages_for
from tuneahead_lint.config import Config
from tuneahead_lint.pipeline import lint
from tuneahead_lint.ruleset.registry import find_rule, load_rules

CASES = Path(__file__).parent / "cases"


def _cases():
    for f in sorted(CASES.glob("*.yaml")):
        spec = yaml.safe_load(f.read_text())
        for case in spec["cases"]:
            yield pytest.param(spec["rule"], case, id=f"{spec['rule']}-{case['name']}")


@pytest.mark.parametrize(("rule_id", "case"), list(_cases()))
def test_rule_case(rule_id, case, tmp_path):
    data = _data(case)
    path = tmp_path / f"data.{case.get('ext', 'jsonl')}"
    path.write_bytes(data)
    for name, kind in (case.get("special") or {}).items():
        _special(tmp_path / name, kind)
    rule = find_rule(rule_id)
    config = Config(None, {"select": [rule_id], "rules": {rule_id: case.get("config", {})}})
    target = tmp_path if case.get("special") else path
    opts, stages = stages_for(case)
    report = lint([str(target)], config, opts, stages=stages)
    skipped = {s.rule_id: s.reason for s in report.skipped}
    assert rule_id not in skipped, skipped.get(rule_id)  # a clean case must have run the rule
    got = sorted(f.line for f in report.findings if f.rule_id == rule_id)
    assert got == case["expect"], [f.message for f in report.findings]
    if "expect_lines" in case:  # every line a finding names, not only its anchor
        named = sorted(n for f in report.findings if f.rule_id == rule_id for n in f.lines)
        assert named == case["expect_lines"]
    for f in report.findings:
        assert f.rule_name == rule.name and f.remedy == rule.remedy


def test_every_rule_has_a_flagged_and_a_clean_case():
    """Each rule's cases can fail both ways: some case must be reported, and
    some case or line must not (a clean case, or clean lines beside the flagged)."""
    specs = {spec["rule"]: spec for spec in (yaml.safe_load(f.read_text()) for f in CASES.glob("*.yaml"))}
    assert sorted(specs) == sorted(r.id for r in load_rules())
    for rule_id, spec in specs.items():
        assert any(case["expect"] for case in spec["cases"]), rule_id
        assert any(_has_clean(case) for case in spec["cases"]), rule_id


def _has_clean(case: dict) -> bool:
    """The case expects no finding, or its data has a line no finding may name."""
    lines = set(range(1, len(_data(case).splitlines()) + 1))
    return not case["expect"] or bool(lines - set(case.get("expect_lines", case["expect"])))


def _data(case: dict) -> bytes:
    raw = case["data"]
    return codecs.escape_decode(raw.encode("latin-1"))[0] if case.get("escaped") else raw.encode()


def _special(path: Path, kind: str) -> None:
    if kind == "symlink-loop":
        path.symlink_to(path.name)
    elif kind == "broken-link":
        path.symlink_to("missing-target.jsonl")
    else:
        os.mkfifo(path)
