"""Score a linter's record-level findings against a planted set's truth file.

A plant unit (one planted record, or a plant and its partner such as the original
of a duplicate) counts as found when any of its lines is named by a rule that
catches its class. Partners are not clean records and are left out of the clean
counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

Flags = dict[int, set[str]]  # line -> rule / check ids naming it


@dataclass
class ClassScore:
    """Recall of one class: by its own rules and by any rule."""

    rules: list[str]
    plants: int = 0
    found: int = 0
    found_any: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    missed: list[int] = field(default_factory=list)  # last line of each unit not found
    variants: dict[str, list[int]] = field(default_factory=dict)  # variant -> [found, plants]

    @property
    def recall(self) -> float:
        return self.found / self.plants if self.plants else 0.0


@dataclass
class CleanScore:
    """How many clean records are named, by any rule and by the new rules."""

    records: int = 0
    flagged_any: int = 0
    flagged_new: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    lines_new: list[int] = field(default_factory=list)


def load_truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def units(truth: dict) -> dict[int, tuple[str, str, list[int]]]:
    """unit id -> (class, variant, its lines)."""
    out: dict[int, tuple[str, str, list[int]]] = {}
    for row in truth["lines"]:
        if row["class"] != "clean":
            out.setdefault(row["unit"], (row["class"], row["variant"], []))[2].append(row["line"])
    return out


def score(truth: dict, flags: Flags, new_rules: set[str] | None = None) -> tuple[dict[str, ClassScore], CleanScore]:
    """Per-class recall and the clean-record counts."""
    new_rules = set(truth["new_rules"]) if new_rules is None else new_rules
    classes = {c: ClassScore(rules) for c, rules in truth["classes"].items()}
    for cls, variant, lines in units(truth).values():
        _score_unit(classes[cls], {r for n in lines for r in flags.get(n, ())}, lines[-1], variant)
    return classes, _score_clean(truth, flags, new_rules)


def _score_unit(s: ClassScore, named: set[str], line: int, variant: str) -> None:
    s.plants += 1
    hits = named & set(s.rules)
    s.found += bool(hits)
    v = s.variants.setdefault(variant, [0, 0])
    v[0], v[1] = v[0] + bool(hits), v[1] + 1
    if not hits:
        s.missed.append(line)
    s.found_any += bool(named)
    for r in named:
        s.by_rule[r] = s.by_rule.get(r, 0) + 1


def _score_clean(truth: dict, flags: Flags, new_rules: set[str]) -> CleanScore:
    c = CleanScore()
    for row in truth["lines"]:
        if row["class"] != "clean":
            continue
        named = flags.get(row["line"], set())
        c.records += 1
        c.flagged_any += bool(named)
        if named & new_rules:
            c.flagged_new += 1
            c.lines_new.append(row["line"])
        for r in named:
            c.by_rule[r] = c.by_rule.get(r, 0) + 1
    return c


# ---- tuneahead-lint -------------------------------------------------------


def lint_json(data: Path, repo: Path, python: str = sys.executable, full: bool = False,
              config: Path | None = None) -> dict:
    """Run ``tuneahead-lint [--fast] [--config FILE] --format json`` from ``repo`` (exit 0/1 = ran)."""
    cmd = [python, "-m", "tuneahead_lint", "--format", "json", str(data.resolve())]
    if not full:
        cmd.insert(3, "--fast")
    if config is not None:
        cmd[3:3] = ["--config", str(config.resolve())]
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}  # leaves other checkouts untouched
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"tuneahead-lint exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def lint_flags(report: dict) -> Flags:
    """line -> rule ids, from the ``line`` and ``lines`` of every finding."""
    flags: Flags = defaultdict(set)
    for f in report["findings"]:
        for n in {f.get("line"), *f.get("lines", [])} - {None, 0}:
            flags[n].add(f["rule_id"])
    return dict(flags)


def registry_rules(repo: Path, python: str = sys.executable) -> set[str]:
    """Rule ids the checkout at ``repo`` registers."""
    code = "from tuneahead_lint.ruleset.registry import load_rules; print(' '.join(r.id for r in load_rules()))"
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}  # leaves other checkouts untouched
    out = subprocess.run([python, "-c", code], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return set(out.stdout.split())
