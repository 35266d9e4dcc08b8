"""SARIF reporter: the official 2.1.0 schema and GitHub code scanning needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reporters.sample import ALPACA, DOLLY, FINDINGS, RULES, finding, report
from tuneahead_lint.reporters import Format, render
from tuneahead_lint.ruleset.registry import load_rules

SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # draft-04, per its $schema
    cls.check_schema(schema)
    return cls(schema)


def sarif(rep=None, rules=RULES, **kw) -> dict:
    kw.setdefault("root", ".")
    return json.loads(render(rep or report(), Format.SARIF, rules, **kw))


def run_of(log: dict) -> dict:
    return log["runs"][0]


@pytest.mark.parametrize("rep", [report(), report(findings=(), skipped=())], ids=["sample", "empty"])
def test_validates_against_official_schema(validator, rep):
    validator.validate(sarif(rep))


def test_validates_with_the_real_registry(validator):
    validator.validate(sarif(report(findings=FINDINGS[:1]), rules=load_rules()))


def test_github_top_level():
    log = sarif()
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = run_of(log)
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_driver_lists_every_registry_rule():
    driver = run_of(sarif())["tool"]["driver"]
    assert driver["name"] == "tuneahead-lint" and driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == sorted(r.id for r in RULES)
    for desc, rule in zip(driver["rules"], sorted(RULES, key=lambda r: r.id)):
        assert desc["name"] == rule.name
        assert desc["shortDescription"]["text"] == rule.summary
        assert desc["fullDescription"]["text"] == rule.doc("what").strip()
        assert desc["help"]["markdown"] == rule.full_doc() and desc["help"]["text"]
        assert desc["defaultConfiguration"]["level"] == rule.severity.value
        assert desc["properties"]["tags"] == [rule.category]


def test_results_point_at_their_rule_and_place():
    run = run_of(sarif())
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(FINDINGS)
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["artifactLocation"]["uri"] in ("data/alpaca_slice.jsonl", "data/dolly_slice.jsonl")
        assert loc["region"]["startLine"] >= 1
        assert set(res["partialFingerprints"]) == {"tuneaheadFinding/v1"}


def test_fingerprint_is_the_findings_and_ignores_lines():
    moved = finding("TA101", ALPACA, (99,), "empty response (0 characters; minimum 1)",
                    "Retrieve the following data from the World Bank database")
    assert moved.fingerprint == FINDINGS[1].fingerprint
    res = run_of(sarif(report(findings=(moved,))))["results"][0]
    assert res["partialFingerprints"]["tuneaheadFinding/v1"] == moved.fingerprint


def test_whole_file_finding_points_at_line_one():
    res = next(r for r in run_of(sarif())["results"] if r["ruleId"] == "TA202")
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_related_locations_hold_other_lines_then_related_files():
    res = next(r for r in run_of(sarif())["results"] if r["ruleId"] == "TA201")
    places = [(r["physicalLocation"]["artifactLocation"]["uri"], r["physicalLocation"]["region"]["startLine"])
              for r in res["relatedLocations"]]
    assert places == [(ALPACA, n) for n in (40, 41, 57, 88, 90, 102, 130)] + \
        [("data/dolly_slice.jsonl", 5), ("data/dolly_slice.jsonl", 17)]
    assert [r["id"] for r in res["relatedLocations"]] == list(range(1, 10))


def test_results_capped_per_rule_with_a_note(validator):
    many = tuple(finding("TA101", ALPACA, (n,), "empty response", f"k{n}") for n in range(1, 13))
    log = sarif(report(findings=many + FINDINGS[:1], skipped=()), max_results_per_rule=5)
    validator.validate(log)
    run = run_of(log)
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]
             if r["ruleId"] == "TA101"]
    assert lines == [1, 2, 3, 4, 5]
    assert sum(r["ruleId"] == "TA001" for r in run["results"]) == 1
    notes = [n for n in run["invocations"][0]["toolExecutionNotifications"] if "associatedRule" in n]
    assert [n["associatedRule"]["id"] for n in notes] == ["TA101"]
    assert notes[0]["message"]["text"].startswith("7 results of rule TA101 omitted")
    assert run["properties"]["omittedResults"] == {"TA101": 7}


def test_no_per_rule_cap_by_default_but_githubs_limit_per_run(validator, monkeypatch):
    many = tuple(finding("TA110", ALPACA, (n,), "short", f"k{n}") for n in range(1, 1203))
    run = run_of(sarif(report(findings=many)))
    assert len(run["results"]) == 1202 and run["properties"]["omittedResults"] == {}
    from tuneahead_lint.reporters import sarif as sarif_module

    monkeypatch.setattr(sarif_module, "MAX_RESULTS", 1000)
    errors = tuple(finding("TA101", ALPACA, (n,), "empty", f"e{n}") for n in range(2000, 2010))
    log = sarif(report(findings=many + errors))
    validator.validate(log)
    run = run_of(log)
    assert len(run["results"]) == 1000 and run["properties"]["omittedResults"] == {"TA110": 212}
    assert sum(r["ruleId"] == "TA101" for r in run["results"]) == 10  # errors are kept first


def test_grouped_record_finding_is_one_result_per_record(validator):
    f = finding("TA105", DOLLY, tuple(range(2, 16)), "template markup in 14 turns", "k",
                (("count", 14), ("token", "</s>")))
    log = sarif(report(findings=(f,)), rules=load_rules())
    validator.validate(log)
    results = run_of(log)["results"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results] == list(range(2, 16))
    assert len({r["partialFingerprints"]["tuneaheadFinding/v1"] for r in results}) == 14
    assert results[0]["message"]["text"] == "template markup in 14 turns (record 1 of 14)"
    assert all("relatedLocations" not in r for r in results)


def test_skipped_rules_are_notifications():
    notes = run_of(sarif())["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes if "associatedRule" in n] == [
        "rule TA301 skipped: needs --probe",
        "rule TA401 skipped: needs the predictor model (models/tuneahead-v1 not found)"]


def uri_of(log: dict) -> dict:
    return run_of(log)["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]


def test_default_root_is_the_git_top_level(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    f = finding("TA101", "my data/train set.jsonl", (4,), "empty", "k")
    assert uri_of(sarif(report(findings=(f,)), root=None)) == {
        "uri": "sub/my%20data/train%20set.jsonl", "uriBaseId": "%SRCROOT%"}


def test_default_root_falls_back_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = finding("TA101", str(tmp_path / "d" / "x.jsonl"), (4,), "empty", "k")
    if any((p / ".git").exists() for p in tmp_path.parents):
        pytest.skip("temporary folder lies inside a git repository")
    assert uri_of(sarif(report(findings=(f,)), root=None))["uri"] == "d/x.jsonl"


def test_path_outside_root_is_an_absolute_file_uri(tmp_path):
    f = finding("TA101", str(tmp_path / "x.jsonl"), (4,), "empty", "k")
    loc = uri_of(sarif(report(findings=(f,)), root=str(tmp_path / "elsewhere")))
    assert loc == {"uri": (tmp_path / "x.jsonl").as_uri()}
