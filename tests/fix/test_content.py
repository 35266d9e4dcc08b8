"""fix on the content rules (TA107-TA116): junk dropped with the rule named
in the removal log, mojibake repaired with ftfy, PII redacted on request,
clean records written byte for byte."""

from __future__ import annotations

import json

import pytest

from tuneahead_lint.config import Config
from tuneahead_lint.fix import FixOptions, plan, run_fix
from tuneahead_lint.ruleset.registry import OptionError, load_rules

CLEAN = [
    {"instruction": "Give three tips for staying healthy.", "output": "Eat a balanced diet, exercise regularly and sleep well."},
    {"instruction": "What is the capital of France?", "output": "The capital of France is Paris."},
    {"instruction": "Write a Python function that adds two numbers.", "output": "def add(a, b):\n    return a + b"},
    {"instruction": "Classify the sentiment: I loved it", "output": "positive"},
    {"instruction": "Email the team lead.", "output": "Write to lead@example.com with the subject 'Status'."},
]
JUNK = {
    "TA107": {"instruction": "Describe the water cycle.", "output": "qZ7#kL9@vX2!mP4$ rT8&wN1*yB5 hJ3^cF6% dG0(sW7)xK2_nV9+"},
    "TA108": {"instruction": "Describe the picture.", "output": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="},
    "TA109": {"instruction": "What is photosynthesis?", "output": "<div class=\"post\"><p>Photosynthesis is how plants make food.</p><p>Read on.</p></div>"},
    "TA114": {"instruction": "How do I push?", "output": "Use the token ghp_4fGh8kLm2nPq6rSt0vWx3yZa5bCd7eFg9hIj in the remote URL."},
    "TA116": {"instruction": "Write a poem about the sea.", "output": "As an AI language model, I cannot write poems."},
}
PII = {"instruction": "Write a short bio.", "output": "Dr. Ann Lee can be reached at ann.lee@gmail.com or +1 415-867-2671."}
MOJIBAKE = {"instruction": "Name a French pastry.", "output": "CrÃ¨me brÃ»lÃ©e is a French dessert."}


def _write(tmp_path, records):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _fix(path, out, **options):
    return run_fix([str(path)], FixOptions(fast=True, **options), Config(), load_rules(),
                   output=str(out), relint=False)


def test_junk_dropped_with_the_rule_named(tmp_path):
    records = CLEAN + list(JUNK.values()) + [PII]
    result = _fix(_write(tmp_path, records), tmp_path / "out.jsonl")
    logged = {a.record: (a.action, a.rule_id) for a in result.plan.actions}
    expected = {len(CLEAN) + i + 1: ("drop", rule) for i, rule in enumerate(JUNK)}
    expected[len(records)] = ("drop", "TA113")
    assert logged == expected
    assert all(a.detail for a in result.plan.actions)
    out = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in out] == CLEAN


def test_mojibake_is_repaired_not_dropped(tmp_path):
    result = _fix(_write(tmp_path, [CLEAN[0], MOJIBAKE]), tmp_path / "out.jsonl")
    [action] = result.plan.actions
    assert (action.record, action.action, action.rule_id) == (2, "repair", "TA115")
    assert "brÃ»lÃ©e" in action.detail and "brûlée" in action.detail
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[1]["output"] == "Crème brûlée is a French dessert."


def test_pii_redacted_with_typed_placeholders(tmp_path):
    result = _fix(_write(tmp_path, [CLEAN[0], PII]), tmp_path / "out.jsonl", redact_pii=True)
    assert [(a.action, a.rule_id) for a in result.plan.actions] == [("redact", "TA113")]
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[1]["output"] == "Dr. Ann Lee can be reached at [EMAIL] or [PHONE]."


def test_content_remedies_can_be_turned_off(tmp_path):
    path = _write(tmp_path, CLEAN + list(JUNK.values()) + [MOJIBAKE])
    result = _fix(path, tmp_path / "out.jsonl", content=False, repair_mojibake=False)
    assert result.plan.actions == ()


def test_rules_disabled_in_the_config_do_not_drop(tmp_path):
    path = _write(tmp_path, [CLEAN[0], JUNK["TA116"], JUNK["TA107"]])
    result = _fix(path, tmp_path / "out.jsonl", disabled=frozenset({"TA116"}))
    assert [(a.record, a.rule_id) for a in result.plan.actions] == [(3, "TA107")]


LOOP = {"instruction": "Describe your favourite holiday.",
        "output": " ".join(["My favourite holiday is Christmas because I love spending time with my family."] * 8)}
TRUTH_TABLE = {"instruction": "Construct a truth table for (~P -> Q) v (R -> S) with P, Q, R, S.",
               "output": "P    Q    R    S    (~P -> Q) v (R -> S)\n" + "\n".join(
                   f"  {p}    {q}    {r}    {s}          {v}" for p, q, r, s, v in [
                       ("T", "T", "T", "T", "T"), ("T", "T", "F", "F", "F"), ("T", "F", "T", "T", "T"),
                       ("T", "F", "F", "F", "F"), ("F", "T", "T", "T", "T"), ("F", "T", "F", "F", "F"),
                       ("F", "F", "T", "T", "T"), ("F", "F", "F", "T", "T")])}


def test_fix_drops_clear_loops_but_keeps_structured_answers(tmp_path):
    """TA204 warns on both (the truth table repeats ~64% of its 3-grams, alpaca_5k
    record 4173), but fix drops only the decoding loop (rep-3 >= 0.8)."""
    records = CLEAN + [LOOP, TRUTH_TABLE]
    result = _fix(_write(tmp_path, records), tmp_path / "out.jsonl")
    assert {a.record: (a.action, a.rule_id) for a in result.plan.actions} == {len(CLEAN) + 1: ("drop", "TA204")}


# planted16 line 307 (an Alpaca story, one sentence looped 11 times after a sound opening):
# rep-3 0.63, under fix's 0.8 floor, but one 10-word passage back to back 11 times
LOOP_AFTER_OPENING = {
    "instruction": "Write a 'Choose Your Own Adventure' type story.",
    "output": "You're sitting at your desk at work. Supervisor Steve walks by and drops a fresh stack of "
              "accounts receivable in your incoming tray. \"Looks like you'll be here late tonight,\" he "
              "sneers. You throw him a troubled glare as he trots away. You pull the first page off the "
              "stack of papers and quickly skim over its contents. "
              + " ".join(["\"Looks like you'll be here late tonight,\" he sneers."] * 11)}
# code_alpaca_2k line 5592: HTML table, rep-3 0.77, one 10-word row three times (2 distinct words)
HTML_TABLE = {"instruction": "Generate HTML to display a table with 3 rows and 4 columns.",
              "output": "<table>\n" + "  <tr>\n    <td></td><td></td><td></td><td></td>\n  </tr>\n" * 3
              + "</table>"}


def test_fix_drops_a_loop_after_a_sound_opening_but_keeps_tables(tmp_path):
    """Under the 0.8 floor fix drops what TA204 flags only when a passage of
    5+ distinct-enough words repeats 3 times in a row."""
    records = CLEAN + [LOOP_AFTER_OPENING, HTML_TABLE, TRUTH_TABLE]
    result = _fix(_write(tmp_path, records), tmp_path / "out.jsonl")
    assert {a.record: (a.action, a.rule_id) for a in result.plan.actions} == {len(CLEAN) + 1: ("drop", "TA204")}


def test_undeclared_rule_option_is_an_option_error(tmp_path, monkeypatch):
    """fix reads rule options through the same RuleOptions as the lint."""
    monkeypatch.setitem(plan.DROP_AT_LEAST, "repetitive-responses", {"max_repetition_typo": 0.8})
    with pytest.raises(OptionError, match="max_repetition_typo"):
        _fix(_write(tmp_path, CLEAN + [LOOP]), tmp_path / "out.jsonl")
