"""JSON reporter: the shipped schema, field values, float handling."""

from __future__ import annotations

import json

import jsonschema
import pytest

from reporters.sample import ALPACA, RULES, report
from tuneahead_lint.reporters import Format, render
from tuneahead_lint.reporters._common import NO_CV
from tuneahead_lint.schemas import load_schema
from tuneahead_lint.types import Measure, Prediction


def as_json(rep=None) -> dict:
    return json.loads(render(rep or report(), Format.JSON, RULES))


@pytest.fixture(scope="module")
def validator():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_shipped_inside_the_package():
    from importlib import resources
    assert resources.files("tuneahead_lint.schemas").joinpath("report-v1.schema.json").is_file()


def test_every_schema_property_is_documented():
    def walk(node, where):
        if isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")
        elif isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                assert "description" in sub or "$ref" in sub, f"{where}.{name} has no description"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
    walk(load_schema(), "(root)")


def test_sample_report_validates(validator):
    validator.validate(as_json())


def test_minimal_report_validates(validator):
    doc = as_json(report(findings=(), skipped=(), features=(), prediction=None, config_path=None))
    validator.validate(doc)
    assert doc["prediction"] is None
    assert doc["counts"] == {"error": 0, "warning": 0, "note": 0}


def test_top_level_fields():
    doc = as_json()
    assert doc["schema_version"] == "1.0"
    assert doc["tool"] == {"name": "tuneahead-lint", "version": "0.1.0"}
    assert doc["counts"] == {"error": 3, "warning": 4, "note": 1}
    assert [s["rule_id"] for s in doc["skipped"]] == ["TA301", "TA401"]


def test_findings_are_sorted_and_complete():
    findings = as_json()["findings"]
    keys = [(f["path"], f["line"], f["rule_id"]) for f in findings]
    assert keys == sorted(keys)
    dup = next(f for f in findings if f["rule_id"] == "TA201")
    assert dup["lines"][:2] == [3, 40] and dup["lines_total"] == 23
    assert dup["related"][0] == {"path": "data/dolly_slice.jsonl", "line": 5}
    assert dup["evidence"] == {"threshold": 0.05, "value": 0.074}
    assert dup["remedy"].startswith("Deduplicate")
    assert len(dup["fingerprint"]) == 32


def test_floats_rounded_and_non_finite_become_null():
    rep = report(features=(("a", Measure(1 / 3)), ("b", Measure(float("inf"))),
                           ("c", Measure(float("nan"))), ("d", Measure(123456789.0))))
    features = as_json(rep)["features"]
    assert [features[k]["value"] for k in "abcd"] == [0.333333, None, None, 123457000.0]


def test_prediction_fields():
    doc = as_json(report(prediction=Prediction(0.5, 0.4, 0.6, "tuneahead-v1")))
    assert doc["prediction"] == {"score": 0.5, "low": 0.4, "high": 0.6, "model": "tuneahead-v1",
                                 "base_score": None, "in_distribution": True, "verdict": None,
                                 "target": None, "unit": None, "points_per_unit": None, "model_skill": None,
                                 "warning": NO_CV}  # a hand-made prediction: no model card, no skill


def test_non_ascii_is_kept_and_output_ends_with_newline():
    text = render(report(config_path="données/pyproject.toml"), Format.JSON, RULES)
    assert "données" in text and text.endswith("}\n")
    assert json.loads(text)["findings"][0]["path"] == ALPACA
