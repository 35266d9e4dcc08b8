"""What the fix planner and its semantic remedies share: the options, the
log line (:class:`Action`) and the working set of records (:class:`State`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneahead_lint.fix.source import SourceFile
from tuneahead_lint.ruleset.registry import Rule, find_rule
from tuneahead_lint.types import Example

Key = tuple[str, int]  # (path, 0-based record index)
DROP, STRIP, REPAIR, REDACT = "drop", "strip", "repair", "redact"
NEAR_DUPLICATES, OUTLIERS = "near-duplicates", "embedding-outliers"


@dataclass(frozen=True)
class FixOptions:
    """Which remedies run, with their thresholds (CLI defaults)."""

    exact_dedup: bool = True
    semantic_dedup: bool = True
    lexical_dedup: bool = True  # TA121: word 3-gram near-copies, also with --fast
    dedup_threshold: float = 0.95  # cosine similarity, SemDeDup's 0.95
    outliers: bool = True
    outlier_sigma: float = 3.0  # limit on the outlier score
    outlier_method: str = "sigma"  # "sigma": z-score (the paper); "robust": median/MAD
    outlier_k: int = 10  # neighbour whose cosine distance is the outlier score
    mismatched: bool = False  # TA207 (opt-in): responses that answer another record's prompt
    drop_empty: bool = True  # empty responses/prompts and broken records
    strip_templates: bool = True
    fast: bool = False  # record-level remedies only: no embeddings
    input_format: str | None = None
    embedder: str | None = None
    leak_patterns: tuple[str, ...] = ()  # TA105 ``patterns`` option; () = built-in
    content: bool = True  # drop what the CONTENT_RULES flag
    repair_mojibake: bool = True  # TA115
    redact_pii: bool = False  # TA113: placeholders ([EMAIL] ...) instead of dropping
    drop_flagged: bool = True  # TA117 conflicting, TA118 truncated, TA119 contaminated
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # rule id -> config options
    disabled: frozenset[str] = frozenset()  # rule ids the config turns off

    @property
    def semantic(self) -> bool:
        return not self.fast and (self.semantic_dedup or self.outliers or self.mismatched)


@dataclass(frozen=True, slots=True)
class Action:
    """One line of the removal log."""

    path: str
    line: int
    record: int  # 1-based record number in the file
    action: str  # DROP | STRIP | REPAIR | REDACT
    rule_id: str
    rule_name: str
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.rule_id} {self.rule_name}".strip()

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "record": self.record,
                "action": self.action, "reason": self.reason, "detail": self.detail}


@dataclass
class State:
    """Working set of the planner: the records still kept, with their current turns."""

    files: Sequence[SourceFile]
    opts: FixOptions
    rules: Sequence[Rule]
    alive: dict[Key, Example] = field(default_factory=dict)
    actions: dict[Key, Action] = field(default_factory=dict)
    values: dict[Key, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def drop(self, ex: Example, rule: tuple[str, str], detail: str) -> None:
        key = (ex.path, ex.index)
        if key in self.values:
            before = self.actions.get(key)
            detail += f" (after the {before.action} of {before.reason})" if before else ""
            del self.values[key]
        self.actions[key] = Action(ex.path, ex.line, ex.index + 1, DROP, *rule, detail)
        self.alive.pop(key, None)


def place(target: Example, seen_from: Example) -> str:
    """How to name ``target`` in a message about ``seen_from``: its line, or
    its record number when the line does not identify it (one-line arrays)."""
    where = f"line {target.line}" if target.line != seen_from.line else f"record {target.index + 1}"
    return where if target.path == seen_from.path else f"{target.path}:{target.line} ({where})"


def rule_ref(rules: Sequence[Rule], key: str) -> tuple[str, str]:
    """(id, name) of the rule called ``key`` (id, name or alias); ('', key) if none."""
    rule = find_rule(key, tuple(rules))
    return (rule.id, rule.name) if rule else ("", key)
