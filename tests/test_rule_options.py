"""One source for rule options: the rule YAML.

Every option a check reads is declared in its rule's YAML with a default
(found by reading the check modules' syntax trees, helpers included), no
code reads an option with a default of its own, reading an undeclared option
fails loudly, and the YAML ``feature_param`` of an option names a real
FeatureConfig field that the pipeline sets from the option."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuneahead_lint.checks import STREAMS
from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.config import Config
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.pipeline import feature_thresholds
from tuneahead_lint.ruleset.registry import OptionError, load_rules

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tuneahead_lint"
CHECKS = PACKAGE / "checks"
RULES = load_rules()
OPTION_NAMES = {"opts", "options"}  # names a function binds a rule's options to


def _is_options(node: ast.expr, aliases: set[str]) -> bool:
    """``ctx.options`` (any object's ``.options``) or a name bound to it."""
    if isinstance(node, ast.Attribute) and node.attr == "options":
        return True
    return isinstance(node, ast.Name) and node.id in aliases


def _aliases(fn: ast.FunctionDef) -> set[str]:
    """Parameters named opts/options, and locals assigned ``ctx.options``."""
    names = {a.arg for a in fn.args.args if a.arg in OPTION_NAMES}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and _is_options(node.value, names):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _reads(fn: ast.FunctionDef) -> Iterator[tuple[str | None, bool]]:
    """(option name or None when not a literal, read with a default?)."""
    aliases = _aliases(fn)
    for node in ast.walk(fn):
        if isinstance(node, ast.Subscript) and _is_options(node.value, aliases):
            key = node.slice
            yield (key.value if isinstance(key, ast.Constant) else None), False
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and _is_options(node.func.value, aliases)):
            key = node.args[0] if node.args else None
            yield (key.value if isinstance(key, ast.Constant) else None), len(node.args) + len(node.keywords) > 1


def _calls(fn: ast.FunctionDef) -> set[str]:
    """Names the function calls or passes on (a helper handed to a streamed check counts)."""
    return {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(CHECKS.glob("*.py"))}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> check module it comes from (``from tuneahead_lint.checks.text import snippet``)."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tuneahead_lint.checks."):
            out.update({a.asname or a.name: node.module.rsplit(".", 1)[1] for a in node.names})
    return out


def _defined_at(tree: ast.Module, line: int) -> ast.FunctionDef:
    """The function (nested ones too) whose ``def`` or first decorator is on ``line``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and line in (node.lineno, *(d.lineno for d in node.decorator_list)):
            return node
    raise LookupError(line)


def options_read_by_checks() -> dict[str, set[str | None]]:
    """Check name -> option names read by its function and the helpers it
    calls (same module, or imported from another check module). The checks
    are the registered ones; each is found in its module's syntax tree by
    the line its code starts on (so checks registered in a loop count too)."""
    modules = _modules()
    top = {(mod, n.name): n for mod, tree in modules.items() for n in tree.body if isinstance(n, ast.FunctionDef)}
    imports = {mod: _imports(tree) for mod, tree in modules.items()}

    def closure(mod: str, fn: ast.FunctionDef) -> set[str | None]:
        seen, todo, keys = set(), [(mod, fn)], set()
        while todo:
            mod, fn = todo.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            keys |= {k for k, _ in _reads(fn)}
            for name in _calls(fn):
                at = (imports[mod].get(name, mod), name)
                if at in top:
                    todo.append((at[0], top[at]))
        return keys

    out = {}
    for name, fn in load_all().items():
        factory = STREAMS.get(name)
        if isinstance(factory, type):  # a streamed check: every method of its class
            mod = factory.__module__.rsplit(".", 1)[1]
            node = next(n for n in ast.walk(modules[mod]) if isinstance(n, ast.ClassDef) and n.name == factory.__name__)
            out[name] = set().union(*(closure(mod, f) for f in node.body if isinstance(f, ast.FunctionDef)))
            continue
        if fn.__module__.endswith(".checks"):  # a streamed check made by a factory function
            fn = factory
        mod = fn.__module__.rsplit(".", 1)[1]
        out[name] = closure(mod, _defined_at(modules[mod], fn.__code__.co_firstlineno))
    return out


def test_the_scan_finds_the_checks_and_their_reads():
    reads = options_read_by_checks()
    assert len(reads) == len({r.check for r in RULES if r.check})
    assert reads["near_duplicates"] == {"min_similarity", "min_size", "skip_exact_copies"}
    # read inside a helper (gibberish_reason) through a parameter named opts
    assert {"min_chars", "max_known_share", "max_vowel_share", "min_words"} <= reads["gibberish"]


@pytest.mark.parametrize("rule", [r for r in RULES if r.check], ids=lambda r: r.id)
def test_every_option_a_check_reads_is_declared_with_a_default(rule):
    read = options_read_by_checks()[rule.check]
    declared = {name for name, spec in rule.options if "default" in spec}
    assert None not in read, f"{rule.check} reads an option by a computed name"
    assert read <= declared, f"rules/{rule.file_name} does not declare {sorted(read - declared)}"


def test_no_option_is_read_with_a_default_in_code():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            found += [f"{path.relative_to(ROOT)}:{fn.name}: {key}" for key, with_default in _reads(fn) if with_default]
    assert found == []


def test_reading_an_undeclared_option_fails_and_names_the_rule_file():
    rule = next(r for r in RULES if r.id == "TA203")
    options = Config().rule(rule).options
    assert options["max_share"] == 0.5 and "max_share" in options and "nope" not in options
    with pytest.raises(OptionError, match=r"rules/TA203-constant-instruction\.yaml: option 'nope'"):
        options["nope"]
    with pytest.raises(OptionError, match="defaults live in the rule YAML"):
        options.get("max_share", 0.3)


def test_config_values_win_over_the_yaml_default():
    rule = next(r for r in RULES if r.id == "TA203")
    options = Config(None, {"rules": {"TA203": {"max_share": 0.8}}}).rule(rule).options
    assert options["max_share"] == 0.8 and options["min_records"] == 20


def test_feature_params_name_featureconfig_fields_of_the_options_type():
    fields = {f.name: f for f in dataclasses.fields(FeatureConfig)}
    mapped = [(r, option, param) for r in RULES for option, param in r.feature_params]
    assert {(r.id, o, p) for r, o, p in mapped} == {
        ("TA201", "min_similarity", "dup_threshold"), ("TA202", "z", "outlier_sigma"), ("TA202", "k", "outlier_k"),
        ("TA207", "z", "mismatch_z"), ("TA207", "pmi_candidates", "pmi_candidates"),
        ("TA207", "min_gap", "mismatch_min_gap"), ("TA118", "end_candidates", "end_candidates")}
    for rule, option, param in mapped:
        assert param in fields, (rule.id, param)
        json_type = dict(rule.options)[option]["type"]
        assert fields[param].type == {"number": "float", "integer": "int"}[json_type], (rule.id, option)


def test_feature_params_reach_the_feature_run():
    config = Config(None, {"rules": {"TA201": {"min_similarity": 0.9}, "TA202": {"z": 2.5, "k": 4},
                                     "TA207": {"min_gap": 0.2}}})
    params = feature_thresholds(config, RULES)
    assert params == {"dup_threshold": 0.9, "outlier_sigma": 2.5, "outlier_k": 4, "mismatch_z": 2.0,
                      "pmi_candidates": 0, "end_candidates": 0, "mismatch_min_gap": 0.2}
    assert isinstance(params["outlier_k"], int)
    cfg = FeatureConfig(**params)
    assert (cfg.dup_threshold, cfg.outlier_sigma, cfg.outlier_k) == (0.9, 2.5, 4)
    defaults = feature_thresholds(Config(), RULES)
    assert defaults == {"dup_threshold": 0.95, "outlier_sigma": 3.0, "outlier_k": 10, "mismatch_z": 2.0,
                        "pmi_candidates": 0, "end_candidates": 0, "mismatch_min_gap": 0.0}
    assert feature_thresholds(config, [r for r in RULES if r.id != "TA201"]).keys() == {
        "outlier_sigma", "outlier_k", "mismatch_z", "pmi_candidates", "end_candidates", "mismatch_min_gap"}
