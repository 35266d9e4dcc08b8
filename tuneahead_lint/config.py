"""Find, load and validate configuration.

Configuration lives in ``.tuneahead.toml`` (top level) or in the
``[tool.tuneahead-lint]`` table of ``pyproject.toml``. It is found by walking
up from the first input path; ``.tuneahead.toml`` wins over ``pyproject.toml``
in the same directory. It is validated against a JSON Schema generated from
the rule registry *before* anything runs; an error names the file and the key
path (``.tuneahead.toml: rules.TA104.max_prompt_tokens: -1 is less than the
minimum of 1``).
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema

from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import Severity

SEVERITIES = ["error", "warning", "note"]


class ConfigError(ValueError):
    """Invalid configuration (exit code 2). ``str()`` names file and key."""


_TOP_LEVEL: dict[str, Any] = {
    "fail-on": {"enum": SEVERITIES, "default": "error",
                "description": "Lowest severity that makes the run exit 1."},
    "select": {"type": "array", "items": {"type": "string"},
               "description": "Only these rules (ids, names or prefixes such as TA1)."},
    "ignore": {"type": "array", "items": {"type": "string"},
               "description": "Rules to disable (ids, names or prefixes)."},
    "per-file-ignores": {"type": "object", "additionalProperties": {
        "type": "array", "items": {"type": "string"}},
        "description": "Glob (relative to the config file) -> rules ignored there."},
    "features": {"type": "boolean", "default": True,
                 "description": "Compute dataset features (embeddings, perplexity)."},
    "probe": {"type": "boolean", "default": False, "description": "Run the LoRA probe."},
    "base-model": {"type": "string", "description": "HF id or local path of the base model."},
    "embedder": {"type": "string", "description": "sentence-transformers model id or path."},
    "embed-backend": {"enum": ["auto", "torch", "onnx", "onnx-int8"], "default": "auto",
                      "description": "Embedder runtime: auto = torch on CUDA, fp32 ONNX on CPU; "
                                     "onnx = fp32 ONNX (same vectors as torch); onnx-int8 = 1.2x faster, "
                                     "but a text's vector depends on its batch."},
    "format": {"type": "string", "description": "Force an input format for every file."},
    "min-score": {"type": "number", "description": "Gate: no-go when the prediction interval's upper end is below this (default: the base model's score)."},
    "max-lines-shown": {"type": "integer", "minimum": 1, "default": 5,
                        "description": "Lines listed per finding before '... and N more'."},
    "seed": {"type": "integer", "minimum": 0, "default": 0},
}


def config_schema(rules: Sequence[Rule]) -> dict[str, Any]:
    """JSON Schema of the whole config, with one entry per rule."""
    rule_props: dict[str, Any] = {}
    for r in rules:
        opts = {k: dict(v) for k, v in r.options}
        opts["severity"] = {"enum": SEVERITIES}
        table = {"type": "object", "additionalProperties": False, "properties": opts}
        rule_props[r.id] = {"oneOf": [{"const": "disable"}, {"enum": SEVERITIES}, table]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **_TOP_LEVEL,
            "rules": {"type": "object", "additionalProperties": False,
                      "properties": rule_props},
        },
    }


@dataclass(frozen=True)
class RuleSettings:
    enabled: bool
    severity: Severity
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    """Validated configuration. ``path`` is None for built-in defaults."""

    path: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            return self.data[key]
        return _TOP_LEVEL.get(key, {}).get("default", default)

    @property
    def root(self) -> Path:
        return Path(self.path).resolve().parent if self.path else Path.cwd()

    def rule(self, rule: Rule) -> RuleSettings:
        """Effective settings of ``rule``: select/ignore, severity, options."""
        enabled = _selected(rule, self.data.get("select"), self.data.get("ignore"))
        entry = self.data.get("rules", {}).get(rule.id)
        severity, options = rule.severity, rule.defaults()
        if entry == "disable":
            enabled = False
        elif isinstance(entry, str):
            severity = Severity(entry)
        elif isinstance(entry, dict):
            severity = Severity(entry.get("severity", severity.value))
            options.update({k: v for k, v in entry.items() if k != "severity"})
        return RuleSettings(enabled, severity, options)

    def ignored_in(self, rule: Rule, path: str) -> bool:
        """True when ``per-file-ignores`` disables ``rule`` for ``path``."""
        table = self.data.get("per-file-ignores") or {}
        if not table:
            return False
        try:
            rel = PurePosixPath(Path(path).resolve().relative_to(self.root).as_posix())
        except ValueError:
            rel = PurePosixPath(Path(path).as_posix())
        for pattern, keys in table.items():
            if fnmatch.fnmatch(str(rel), pattern) or rel.match(pattern):
                if any(_matches(rule, k) for k in keys):
                    return True
        return False


def _matches(rule: Rule, key: str) -> bool:
    return key in (rule.name, *rule.aliases) or rule.id.startswith(key.upper()) or key.upper() == "ALL"


def _selected(rule: Rule, select: Sequence[str] | None, ignore: Sequence[str] | None) -> bool:
    if select and not any(_matches(rule, k) for k in select):
        return False
    return not (ignore and any(_matches(rule, k) for k in ignore))


def find_config(start: str | Path) -> Path | None:
    """Walk up from ``start`` to the filesystem root; first config wins."""
    p = Path(start).resolve()
    for d in ([p] if p.is_dir() else []) + list(p.parents):
        dot = d / ".tuneahead.toml"
        if dot.is_file():
            return dot
        pp = d / "pyproject.toml"
        if pp.is_file() and _has_table(pp):
            return pp
    return None


def _has_table(pyproject: Path) -> bool:
    try:
        return "tuneahead-lint" in tomllib.loads(pyproject.read_text("utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False


def load_config(path: str | Path | None, rules: Sequence[Rule]) -> Config:
    """Read and validate ``path`` (None: defaults). Raises :class:`ConfigError`."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    if p.name == "pyproject.toml":
        raw = raw.get("tool", {}).get("tuneahead-lint", {})
    validate(raw, rules, str(p))
    return Config(str(p), raw)


def validate(data: Mapping[str, Any], rules: Sequence[Rule], where: str) -> None:
    validator = jsonschema.Draft202012Validator(config_schema(rules))
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    err = errors[0]
    # oneOf errors hide the useful message in their context: take the deepest
    best = jsonschema.exceptions.best_match([err]) if err.context else err
    for sub in (err.context or []):
        if len(sub.absolute_path) > len(best.absolute_path):
            best = sub
    key = ".".join(str(x) for x in best.absolute_path) or "(top level)"
    raise ConfigError(f"{where}: {key}: {best.message}")
