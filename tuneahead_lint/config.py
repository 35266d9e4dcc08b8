"""Find, load and validate configuration.

Configuration lives in ``.tuneahead.toml`` (top level) or in the
``[tool.tuneahead-lint]`` table of ``pyproject.toml``. It is found by walking
up from the first input path to the repository root; ``.tuneahead.toml``
wins over ``pyproject.toml`` in the same directory. It is validated against a JSON Schema generated from
the rule registry *before* anything runs; an error names the file and the key
path (``.tuneahead.toml: rules.TA104.max_prompt_tokens: -1 is less than the
minimum of 1``).
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema

from tuneahead_lint.errors import ConfigError
from tuneahead_lint.readers.formats import FORMATS
from tuneahead_lint.ruleset.registry import Rule, RuleOptions
from tuneahead_lint.types import Severity

SEVERITIES = ["error", "warning", "note"]


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
    "embed-backend": {"enum": ["auto", "torch", "onnx", "onnx-int8", "torch-bf16"], "default": "auto",
                      "description": "Embedder runtime: auto = torch on CUDA, torch-bf16 on a CPU with native "
                                     "bfloat16, else fp32 ONNX; onnx = fp32 ONNX (same vectors as torch); "
                                     "torch-bf16 = 1.5x faster on such a CPU, cosine to fp32 >= 0.9999; "
                                     "onnx-int8 = 1.2x faster, but a text's vector depends on its batch."},
    "semantic-sample": {"type": "integer", "minimum": 0, "default": 1000,
                        "description": "Records MiniLM embeds for the sampled semantic features and TA202's reference; "
                                       "datasets of more than twice as many records run the static-embedding cascade "
                                       "(exact instead when its near-duplicate candidates and sample cover 95% of the records). "
                                       "0 = every record, no cascade."},
    "ray-address": {"type": "string", "minLength": 1,
                    "description": "Run the embedding and the candidate search on a Ray cluster: 'local' "
                                   "(start one here), 'auto' or ray://host:10001. Same results as without."},
    "format": {"enum": list(FORMATS), "description": "Force an input format for every file."},
    "min-score": {"type": "number", "description": "Gate: no-go when the prediction interval's upper end is below this (default: the base model's score)."},
    "gate-target": {"type": "string", "minLength": 1,
                    "description": "Target of a multi-target predictor bundle the gate (verdict, exit code, TA401, min-score) reads, e.g. y_indomain (default: the bundle's top-level target, else y_general_acc)."},
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
    options: RuleOptions


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
        severity, overrides = rule.severity, {}
        if entry == "disable":
            enabled = False
        elif isinstance(entry, str):
            severity = Severity(entry)
        elif isinstance(entry, dict):
            severity = Severity(entry.get("severity", severity.value))
            overrides = {k: v for k, v in entry.items() if k != "severity"}
        return RuleSettings(enabled, severity, rule.option_values(overrides))

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


def config_for_run(config_file: str | None, paths: Sequence[str], rules: Sequence[Rule],
                   select: str | None = None, ignore: str | None = None, eval_sets: Sequence[str] = ()) -> Config:
    """The config of a ``lint`` or ``fix`` run: ``--config`` or the file found
    from the first path, with ``--select``/``--ignore`` (comma lists, validated
    like the file) and ``--eval-set`` paths on top."""
    found = config_file or (find_config(paths[0]) if paths else None)
    config = load_config(found, rules)
    extra = {k: v for k, v in (("select", _csv(select)), ("ignore", _csv(ignore))) if v}
    if extra:
        data = {**config.data, **extra}
        validate(data, rules, "command line")
        config = Config(config.path, data)
    return with_eval_sets(config, eval_sets)


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def with_eval_sets(config: Config, given: Sequence[str] = ()) -> Config:
    """``config`` with TA119's ``eval_sets`` resolved against the config
    file's folder and the command line's ``--eval-set`` paths appended.
    Raises :class:`ConfigError` for a path that is not a readable file."""
    rules = dict(config.data.get("rules", {}))
    entry = rules.get("TA119")
    table = dict(entry) if isinstance(entry, dict) else {}
    paths = [str(config.root / p) for p in table.get("eval_sets", ())] + [str(p) for p in given]
    for p in paths:
        if not Path(p).is_file():
            raise ConfigError(f"{p}: eval set not found (rules.TA119.eval_sets / --eval-set)")
    if not paths or entry == "disable":
        return config
    if isinstance(entry, str):
        table["severity"] = entry
    rules["TA119"] = {**table, "eval_sets": paths}
    return Config(config.path, {**config.data, "rules": rules})


def _matches(rule: Rule, key: str) -> bool:
    return key in (rule.name, *rule.aliases) or rule.id.startswith(key.upper()) or key.upper() == "ALL"


def _selected(rule: Rule, select: Sequence[str] | None, ignore: Sequence[str] | None) -> bool:
    if select and not any(_matches(rule, k) for k in select):
        return False
    return not (ignore and any(_matches(rule, k) for k in ignore))


def find_config(start: str | Path) -> Path | None:
    """Walk up from ``start``; first config wins. The walk stops at the
    repository root (the first folder holding ``.git``), so a config above
    the repository never applies; outside a repository it goes up to ``/``."""
    p = Path(os.path.abspath(start))
    for d in ([p] if p.is_dir() else []) + list(p.parents):
        dot = d / ".tuneahead.toml"
        if _is_file(dot):
            return dot
        pp = d / "pyproject.toml"
        if _is_file(pp) and _has_table(pp):
            return pp
        if os.path.lexists(d / ".git"):
            return None
    return None


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False also where a folder cannot be searched."""
    try:
        return path.is_file()
    except OSError:
        return False


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
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from None
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
        _check_rule_keys(data, rules, where)
        _check_regexes(data, rules, where)
        return
    err = errors[0]
    # oneOf errors hide the useful message in their context: take the deepest
    best = jsonschema.exceptions.best_match([err]) if err.context else err
    for sub in (err.context or []):
        if len(sub.absolute_path) > len(best.absolute_path):
            best = sub
    key = ".".join(str(x) for x in best.absolute_path) or "(top level)"
    raise ConfigError(f"{where}: {key}: {best.message}")


def _check_regexes(data: Mapping[str, Any], rules: Sequence[Rule], where: str) -> None:
    """Compile every option declared ``format: regex`` (or whose items are);
    the first that does not compile is a :class:`ConfigError` naming its key."""
    from tuneahead_lint.patterns import check_patterns

    table = data.get("rules") or {}
    for rule in rules:
        entry = table.get(rule.id)
        if not isinstance(entry, dict):
            continue
        for name, spec in rule.options:
            if name not in entry or not _is_regex(spec):
                continue
            value = entry[name]
            bad = check_patterns(value if isinstance(value, list) else [value])
            if bad is not None:
                index = f"[{bad[0]}]" if isinstance(value, list) else ""
                raise ConfigError(f"{where}: rules.{rule.id}.{name}{index}: invalid regular expression: {bad[1]}")


def _is_regex(spec: Mapping[str, Any]) -> bool:
    return spec.get("format") == "regex" or (spec.get("items") or {}).get("format") == "regex"


def _check_rule_keys(data: Mapping[str, Any], rules: Sequence[Rule], where: str) -> None:
    """Every ``select``/``ignore`` (and per-file-ignores) entry must match a rule."""
    lists = [(k, data.get(k) or []) for k in ("select", "ignore")]
    lists += [(f"per-file-ignores.{glob}", keys) for glob, keys in (data.get("per-file-ignores") or {}).items()]
    for key, values in lists:
        for i, value in enumerate(values):
            if not any(_matches(r, value) for r in rules):
                label = f"--{key}" if where == "command line" else f"{where}: {key}[{i}]"
                raise ConfigError(f"{label}: unknown rule {value!r} (no rule id, name or "
                                  "prefix matches; see `tuneahead-lint rules`)")
