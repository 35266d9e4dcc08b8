"""Consistency of the rule registry with docs, cases, README and checks."""

from __future__ import annotations

import re
import string
from pathlib import Path

from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.config import config_schema
from tuneahead_lint.ruleset.registry import load_rules

ROOT = Path(__file__).resolve().parent.parent
RULES = load_rules()


def test_ids_unique_and_files_named_after_rules():
    assert len({r.id for r in RULES}) == len(RULES)
    for r in RULES:
        assert (ROOT / "rules" / f"{r.id}-{r.name}.yaml").is_file()


def test_every_check_trigger_exists():
    checks = load_all()
    try:
        import tuneahead_lint.checks.dataset  # noqa: F401
        import tuneahead_lint.checks.probe  # noqa: F401
    except ImportError:
        pass
    for r in RULES:
        if r.check:
            assert r.check in checks, (r.id, r.check)


def test_every_record_rule_has_cases():
    cases = {p.stem for p in (ROOT / "tests" / "rules" / "cases").glob("*.yaml")}
    for r in RULES:
        if r.category in ("input", "record"):
            assert r.id in cases, r.id


def test_readme_rule_table_is_generated_from_rules():
    from tuneahead_lint.ruleset.registry import markdown_table

    readme = (ROOT / "README.md").read_text()
    assert markdown_table(RULES) in readme, "run: tuneahead-lint rules --markdown"
    for r in RULES:
        assert re.search(rf"\b{r.id}\b.*{re.escape(r.name)}", readme), r.id


def test_message_placeholders_are_plain_names():
    for r in RULES:
        for _, field, _, _ in string.Formatter().parse(r.message):
            assert field is None or re.fullmatch(r"[a-z_]+", field), (r.id, field)


def test_options_have_defaults_and_config_schema_covers_them():
    schema = config_schema(RULES)
    for r in RULES:
        for name, spec in r.options:
            assert "default" in spec and "description" in spec, (r.id, name)
        assert r.id in schema["properties"]["rules"]["properties"]
