"""Config discovery, validation (errors name file and key) and effects."""

from __future__ import annotations

import pytest

from tuneahead_lint.config import ConfigError, find_config, load_config
from tuneahead_lint.ruleset.registry import find_rule, load_rules

RULES = load_rules()


def test_walks_up_and_prefers_dot_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tuneahead-lint]\nfail-on = "warning"\n')
    sub = tmp_path / "data" / "sft"
    sub.mkdir(parents=True)
    f = sub / "train.jsonl"
    f.write_text("{}\n")
    assert find_config(f) == tmp_path / "pyproject.toml"
    (tmp_path / "data" / ".tuneahead.toml").write_text('fail-on = "note"\n')
    assert find_config(f) == tmp_path / "data" / ".tuneahead.toml"


def test_pyproject_without_table_is_skipped(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "a.jsonl").write_text("{}\n")
    found = find_config(tmp_path / "a.jsonl")
    assert found is None or found.parent != tmp_path


@pytest.mark.parametrize(("toml", "expected"), [
    ('fail-on = "fatal"\n', "fail-on: 'fatal' is not one of"),
    ('[rules.TA104]\nmax_prompt_tokens = -1\n', "rules.TA104.max_prompt_tokens: -1 is less than the minimum of 1"),
    ('[rules.TA104]\nmax_prompt_tokenz = 10\n', "rules.TA104"),
    ('[rules.TA999]\nseverity = "error"\n', "rules"),
    ('colour = true\n', "(top level)"),
    ('fail-on = \n', "invalid TOML"),
])
def test_errors_name_file_and_key(tmp_path, toml, expected):
    p = tmp_path / ".tuneahead.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(p, RULES)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ") and expected in msg and "\n" not in msg


def test_rule_settings_and_per_file_ignores(tmp_path):
    p = tmp_path / ".tuneahead.toml"
    p.write_text(
        'ignore = ["TA1"]\nselect = ["TA104", "exact-duplicate", "TA0"]\n'
        '[rules.TA104]\nseverity = "error"\nmax_prompt_tokens = 64\n'
        '[rules]\nTA001 = "warning"\n'
        '[per-file-ignores]\n"legacy/*.jsonl" = ["TA001"]\n')
    cfg = load_config(p, RULES)
    ta104 = cfg.rule(find_rule("TA104"))
    assert not ta104.enabled  # ignore TA1 wins over select
    assert ta104.options["max_prompt_tokens"] == 64 and ta104.severity.value == "error"
    ta001 = cfg.rule(find_rule("TA001"))
    assert ta001.enabled and ta001.severity.value == "warning"
    assert cfg.rule(find_rule("TA003")).enabled
    assert cfg.ignored_in(find_rule("TA001"), str(tmp_path / "legacy" / "old.jsonl"))
    assert not cfg.ignored_in(find_rule("TA001"), str(tmp_path / "new.jsonl"))


def test_disable_string(tmp_path):
    p = tmp_path / ".tuneahead.toml"
    p.write_text('[rules]\nTA106 = "disable"\n')
    assert not load_config(p, RULES).rule(find_rule("TA106")).enabled
