"""Text reporter: what a person reading a CI log needs to see."""

from __future__ import annotations

import pytest

from reporters.sample import ALPACA, RULES, finding, report
from tuneahead_lint.reporters import Format, render
from tuneahead_lint.types import Prediction


def text(rep=None, **kw) -> str:
    return render(rep or report(), Format.TEXT, RULES, **kw)


@pytest.fixture(scope="module")
def out() -> str:
    return text()


def test_summary(out):
    assert "Dataset: 100 records in 2 files (alpaca 60, prompt-response 40)" in out
    assert "data/dolly_slice.jsonl         40            0   prompt-response" in out
    assert "response_chars    388.6   1,204   2,950" in out


def test_findings_show_message_lines_related_and_remedy(out):
    assert "TA101 empty-response  error  2 findings, 2 records\n  data/alpaca_slice.jsonl\n" \
           "    line 12  empty response: assistant turn is empty (0 characters)\n" \
           "    line 31  empty response: assistant turn is empty (0 characters)\n" in out
    assert "      lines 3, 40, 41, 57, 88 … and 16 more\n" in out
    assert "      related: 2 places in other files (--show-all lists them)\n" in out
    assert "      related: data/dolly_slice.jsonl:5, data/dolly_slice.jsonl:17\n" in text(show_all=True)
    assert "TA106 exact-duplicate  warning  1 finding, 1 record\n  data/alpaca_slice.jsonl\n" \
           "    line 40  duplicate of line 3 (2 copies in total)\n      lines 40, 3\n" in out
    assert "  fix: Delete the record, or write the missing answer (tuneahead-lint fix drops such " \
           "records)." in out
    assert out.count("fix: Delete the record") == 1  # once per rule, not per finding


def test_whole_file_finding_has_no_line_number(out):
    assert "TA202 constant-instruction  warning  1 finding\n  data/alpaca_slice.jsonl\n    file  all 60" in out


def test_rule_blocks_worst_severity_first_then_rule_id(out):
    heads = ["TA001 invalid-json", "TA101 empty-response", "TA105 template-leak", "TA106 exact",
             "TA201 near", "TA202 constant", "TA110 short-response"]
    positions = [out.index(h) for h in heads]
    assert positions == sorted(positions)


def many_findings(n: int) -> tuple:
    return tuple(finding("TA101", ALPACA, (k,), f"empty response {k}", f"k{k}") for k in range(1, n + 1))


def test_a_few_examples_per_rule_then_how_many_more():
    out = text(report(findings=many_findings(40)))
    assert "TA101 empty-response  error  40 findings, 40 records\n" in out
    assert "    line 3  empty response 3\n" in out and "line 4  empty response 4" not in out
    assert "  … and 37 more (--show-all lists every finding)\n" in out
    assert "not shown: 37 findings; the full report: --show-all, or --format json|html|sarif -o FILE" in out


def test_show_all_lists_every_finding():
    out = text(report(findings=many_findings(40)), show_all=True)
    assert all(f"    line {k}  empty response {k}\n" in out for k in range(1, 41))
    assert out.count("  data/alpaca_slice.jsonl\n") == 1  # the file heads its group once
    assert "more" not in out and "not shown" not in out


def test_grouped_records_are_counted_as_records():
    f = finding("TA105", ALPACA, tuple(range(2, 16)), "template markup in 14 turns", "k",
                (("count", 14), ("token", "</s>")))
    out = text(report(findings=(f,)))
    assert "TA105 template-leak  warning  1 finding, 14 records\n" in out
    assert "      lines 2, 3, 4, 5, 6 … and 9 more\n" in out


def test_summary_block(out):
    assert "Summary\n  records: 100 in 2 files\n" \
           "  findings: 3 errors, 4 warnings, 1 note (8 findings of 7 rules)\n" \
           "  prediction: 0.6123 (0.5712–0.6549), verdict go; no measured skill\n" in out
    none = text(report(prediction=None))
    assert "  prediction: none (needs the predictor model (models/tuneahead-v1 not found))\n" in none


def test_lines_not_truncated_when_few():
    f = finding("TA201", ALPACA, (3, 40), "near-duplicate pairs in 7.4% of examples", "k")
    out = text(report(findings=(f,)))
    assert "lines 3, 40\n" in out and "more" not in out


def test_skipped_rules_named_with_reason(out):
    assert "Skipped rules\n  TA301 probe-loss-gap: needs --probe\n" in out


def test_features_short_and_full(out):
    assert "Features (" not in out  # with a prediction, the SHAP table shows the features that move it
    short = text(report(prediction=None))
    assert "Features (8 of 10; --features lists all)" in short
    assert "lexical_overlap_eval" not in short
    full = text(show_features=True, width=140)
    assert "Features (10 of 10)" in full
    assert "knn_distance_mean          n/a   embeddings not computed" in full
    assert "data/alpaca_slice.jsonl:44" in full


def test_prediction_block(out):
    assert "score 0.6123 (interval 0.5712–0.6549); base model 0.5841 (+0.0282)" in out
    assert "verdict: go" in out and "trust: no grouped-CV skill recorded" in out
    assert "warning: the model card records no grouped cross-validation" in out
    assert "outside the predictor's training distribution" in out
    in_dist = text(report(prediction=Prediction(0.5, 0.4, 0.6, "m")))
    assert "training distribution" not in in_dist and "verdict" not in in_dist
    assert "Prediction" not in text(report(prediction=None))


def test_tally_is_last_line(out):
    assert out.endswith("\n3 errors, 4 warnings, 1 note in 2 files\n")
    assert text(report(findings=())).endswith("\nNo findings in 2 files\n")


def test_plain_by_default_width_respected_no_trailing_spaces(out):
    assert "\x1b[" not in out
    narrow = text(width=60)
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert all(line == line.rstrip() for line in out.splitlines())


def test_color_on_request():
    assert "\x1b[" in text(color=True)


def test_brackets_in_messages_are_not_markup():
    f = finding("TA101", ALPACA, (5,), "response is [bold]empty[/bold] :smile:", "k")
    assert "response is [bold]empty[/bold] :smile:" in text(report(findings=(f,)))


def test_skipped_rules_with_one_reason_share_a_row():
    from dataclasses import replace

    from tuneahead_lint.types import Skipped

    grouped = replace(report(), skipped=(Skipped("TA401", "no predictor"), Skipped("TA402", "no predictor")))
    out = render(grouped, Format.TEXT, RULES, width=100)
    assert "  TA401, TA402: no predictor\n" in out


def test_many_rules_firing_list_fewer_examples_each():
    from tuneahead_lint.ruleset.registry import load_rules

    rules = load_rules()
    record_rules = [r for r in rules if r.category in ("input", "record", "dataset")][:14]
    findings = tuple(_finding_of(r, n) for r in record_rules for n in range(1, 6))
    out = render(report(findings=findings, features=(), prediction=None), Format.TEXT, rules)
    assert len(out.splitlines()) <= 150
    assert out.count("… and 4 more (--show-all lists every finding)") == 14  # one example each
    assert "not shown: 56 findings" in out


def _finding_of(rule, n):
    from tuneahead_lint.types import Finding

    return Finding(rule.id, rule.name, rule.severity, f"{rule.name} {n}", ALPACA, (n,), (), rule.remedy,
                   f"{rule.id}{n}")
