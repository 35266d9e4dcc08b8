"""Load and validate the rule files in ``rules/``.

Each rule is one YAML file ``rules/TAnnn-name.yaml`` validated against
``rules/rule.schema.json``. The registry is the single source for the
``rules`` command, SARIF ``tool.driver.rules``, the config schema and the
README rule table.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tuneahead_lint.errors import RuleFileError
from tuneahead_lint.resources import data_dir
from tuneahead_lint.types import Severity


def rules_dir() -> Path:
    """``rules/`` next to the package (source checkout) or inside the wheel."""
    return data_dir("rules")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    category: str
    severity: Severity
    requires: tuple[str, ...]
    summary: str
    message: str
    remedy: str
    trigger: tuple[tuple[str, Any], ...]
    options: tuple[tuple[str, Any], ...]  # name -> JSON schema fragment (with default)
    docs: tuple[tuple[str, str], ...]
    aliases: tuple[str, ...] = ()

    @property
    def check(self) -> str | None:
        return dict(self.trigger).get("check")

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.options}

    def doc(self, key: str) -> str:
        return dict(self.docs)[key]

    def full_doc(self) -> str:
        """Markdown doc: What it does / Why is this bad? / Example / Fix."""
        parts = [f"# {self.id} {self.name} ({self.severity.value})", "", self.summary, ""]
        for title, key in (("What it does", "what"), ("Why is this bad?", "why"),
                           ("Example", "example"), ("Fix", "fix")):
            parts += [f"## {title}", dict(self.docs)[key].rstrip(), ""]
        if self.options:
            parts.append("## Options")
            for name, spec in self.options:
                parts.append(f"- `{name}` (default {spec['default']!r}): {spec.get('description', '')}")
            parts.append("")
        if self.requires:
            parts += [f"Requires: {', '.join(self.requires)}", ""]
        return "\n".join(parts)


def _load_one(path: Path, validator: jsonschema.Draft202012Validator) -> Rule:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.path) or "(root)"
        raise RuleFileError(f"{path}: {where}: {e.message}")
    expected = f"{data['id']}-{data['name']}.yaml"
    if path.name != expected:
        raise RuleFileError(f"{path}: file name must be {expected}")
    return Rule(
        id=data["id"], name=data["name"], category=data["category"],
        severity=Severity(data["severity"]), requires=tuple(data.get("requires", ())),
        summary=data["summary"].strip(), message=data["message"].strip(),
        remedy=data["remedy"].strip(),
        trigger=tuple(sorted(data["trigger"].items())),
        options=tuple(sorted((data.get("options") or {}).items())),
        docs=tuple((k, data["docs"][k]) for k in ("what", "why", "example", "fix")),
        aliases=tuple(data.get("aliases", ())),
    )


@functools.lru_cache(maxsize=4)
def load_rules(directory: str | None = None) -> tuple[Rule, ...]:
    """All rules sorted by id. Raises :class:`RuleFileError` on a bad file."""
    d = Path(directory) if directory else rules_dir()
    schema = json.loads((d / "rule.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    rules = [_load_one(p, validator) for p in sorted(d.glob("TA*.yaml"))]
    seen: dict[str, str] = {}
    for r in rules:
        for key in (r.id, r.name, *r.aliases):
            if key in seen:
                raise RuleFileError(f"{d}: {key} used by both {seen[key]} and {r.id}")
            seen[key] = r.id
    return tuple(sorted(rules, key=lambda r: r.id))


def find_rule(key: str, rules: tuple[Rule, ...] | None = None) -> Rule | None:
    """Look a rule up by id, name or alias (case-insensitive id)."""
    for r in rules or load_rules():
        if key.upper() == r.id or key == r.name or key in r.aliases:
            return r
    return None


def markdown_table(rules: tuple[Rule, ...]) -> str:
    """The README rule table (kept in sync by tests/test_registry.py)."""
    rows = ["| id | name | severity | needs | what it reports |", "|---|---|---|---|---|"]
    for r in rules:
        needs = ", ".join(x for x in r.requires if x != "records") or "-"
        rows.append(f"| {r.id} | {r.name} | {r.severity.value} | {needs} | {r.summary} |")
    return "\n".join(rows) + "\n"
