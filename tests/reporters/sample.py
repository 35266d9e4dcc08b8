"""A hand-built report for the reporter tests.

The findings describe real records of the Stanford Alpaca 5k sample and the
MosaicML dolly_hhrlhf slice (see /work/shared/data/MANIFEST.md): the empty
output of "Retrieve the following data from the World Bank database", the
one-word answer "TV", the Alpaca template left inside dolly prompts. Line
numbers are those of a JSONL slice of them, as a reader would report.
"""

from __future__ import annotations

from tuneahead_lint.ruleset.registry import Rule
from tuneahead_lint.types import (FileSummary, Finding, Measure, Prediction, Report, Severity,
                                  Skipped, Summary, text_hash)

ALPACA = "data/alpaca_slice.jsonl"
DOLLY = "data/dolly_slice.jsonl"


def rule(rid: str, name: str, category: str, severity: str, summary: str, remedy: str,
         requires: tuple[str, ...] = ("records",)) -> Rule:
    """A registry rule with short but complete docs."""
    docs = (("what", f"Reports {summary[0].lower()}{summary[1:]}\n"),
            ("why", "Fine-tuning learns from every record, including bad ones.\n"),
            ("example", '{"instruction": "Name a colour", "output": ""}\n'),
            ("fix", '{"instruction": "Name a colour", "output": "Red"}\n'))
    return Rule(id=rid, name=name, category=category, severity=Severity(severity),
                requires=requires, summary=summary, message="{value}", remedy=remedy,
                trigger=(("check", name.replace("-", "_")),), options=(), docs=docs)


RULES = (
    rule("TA001", "invalid-json", "input", "error", "A line is not valid JSON.",
         "Repair or delete the line; every record must be one complete JSON object."),
    rule("TA101", "empty-response", "record", "error", "An assistant turn is empty or whitespace only.",
         "Delete the record, or write the missing answer (tuneahead-lint fix drops such records)."),
    rule("TA110", "short-response", "record", "note", "The response is a single short token.",
         "Check that one-word answers are intended; raise min_chars to silence."),
    rule("TA105", "template-leak", "record", "warning", "Chat-template markup is left inside the text.",
         "Strip template markup and let the trainer apply the chat template."),
    rule("TA106", "exact-duplicate", "record", "warning", "The record repeats an earlier record.",
         "Keep one copy (tuneahead-lint fix removes exact duplicates, keeping the first)."),
    rule("TA201", "near-duplicates", "dataset", "warning", "Many examples are near-duplicates.",
         "Deduplicate: tuneahead-lint fix --dedupe data/*.jsonl"),
    rule("TA202", "constant-instruction", "dataset", "warning", "Every record has the same instruction.",
         "Vary the instructions or move the constant into the system prompt."),
    rule("TA301", "probe-loss-gap", "probe", "warning", "The LoRA probe loss does not fall.",
         "Inspect the records with the highest probe loss.", requires=("probe",)),
    rule("TA401", "predicted-regression", "prediction", "error", "Fine-tuning is predicted to hurt.",
         "Fix the findings above and re-run with --probe.", requires=("predictor",)),
)


def finding(rid: str, path: str, lines: tuple[int, ...], message: str, key: str,
            evidence: tuple = (), related: tuple = (), lines_total: int = 0,
            severity: str | None = None) -> Finding:
    """A finding of rule ``rid`` as the rule evaluator would build it."""
    r = next(r for r in RULES if r.id == rid)
    return Finding(rule_id=rid, rule_name=r.name, severity=Severity(severity or r.severity.value),
                   message=message, path=path, lines=lines, evidence=evidence, remedy=r.remedy,
                   fingerprint=text_hash(rid, path, key)[:32], related=related,
                   lines_total=lines_total)


FINDINGS = (
    finding("TA001", ALPACA, (7,), "invalid JSON: Expecting ',' delimiter: line 1 column 48 (char 47)",
            "line-7-raw", (("reason", "Expecting ',' delimiter"),)),
    finding("TA101", ALPACA, (12,), "empty response: assistant turn is empty (0 characters)",
            "Retrieve the following data from the World Bank database", (("detail", "0 characters"),)),
    finding("TA101", ALPACA, (31,), "empty response: assistant turn is empty (0 characters)",
            "Convert 20 inches to centimetres", (("detail", "0 characters"),)),
    finding("TA106", ALPACA, (40, 3), "duplicate of line 3 (2 copies in total)",
            "Give three tips for staying healthy.", (("copies", 2), ("partner", "line 3"))),
    finding("TA110", ALPACA, (19,), "response is 2 characters (minimum 3): 'TV'",
            "Name a popular household item.", (("threshold", 3), ("value", 2))),
    finding("TA201", ALPACA, (3, 40, 41, 57, 88, 90, 102, 130),
            "near-duplicate pairs in 7.4% of examples (threshold 5.0%)", "dup-groups",
            (("threshold", 0.05), ("value", 0.07400000000000001)),
            related=((DOLLY, 5), (DOLLY, 17)), lines_total=23),
    finding("TA202", ALPACA, (), "all 60 instructions are identical (\"Answer this question truthfully\")",
            "Answer this question truthfully", (("value", 1.0),)),
    finding("TA105", DOLLY, (2, 9), "template markup '### Instruction:' inside user turn 1 "
            "(38 of 40 records)", "### Instruction:",
            (("role", "user"), ("token", "### Instruction:"), ("turn", 1)), lines_total=38),
)

SUMMARY = Summary(
    files=(FileSummary(DOLLY, "prompt-response", 40, 0), FileSummary(ALPACA, "alpaca", 60, 1)),
    records=100,
    formats=(("alpaca", 60), ("prompt-response", 40)),
    stats=(("prompt_chars_mean", 143.23333), ("prompt_chars_p95", 402.0), ("prompt_chars_max", 1187.0),
           ("response_chars_mean", 388.61), ("response_chars_p95", 1204.5), ("response_chars_max", 2950.0),
           ("response_tokens_mean", 91.4), ("response_tokens_p95", 280.0), ("response_tokens_max", 711.0)),
)

FEATURES = (
    ("n_records", Measure(100.0)),
    ("near_dup_rate", Measure(0.07400000000000001, ((ALPACA, 3), (ALPACA, 40)), "23 records in 9 groups")),
    ("empty_response_rate", Measure(0.02, ((ALPACA, 12), (ALPACA, 31)))),
    ("template_leak_rate", Measure(0.38, ((DOLLY, 2),), "'### Instruction:' in prompts")),
    ("response_chars_mean", Measure(388.61)),
    ("response_chars_cv", Measure(1.2345678)),
    ("type_token_ratio", Measure(0.41873)),
    ("instruction_entropy", Measure(5.0321)),
    ("knn_distance_mean", Measure(float("nan"), (), "embeddings not computed")),
    ("lexical_overlap_eval", Measure(0.0123456789, ((ALPACA, 44),), "MMLU 5-gram overlap")),
)

PREDICTION = Prediction(score=0.6123, low=0.5712, high=0.6549, model="tuneahead-v1",
                        base_score=0.5841, in_distribution=False, verdict="go")

SKIPPED = (Skipped("TA401", "needs the predictor model (models/tuneahead-v1 not found)"),
           Skipped("TA301", "needs --probe"))


def report(**changes) -> Report:
    """The sample report; keyword arguments replace fields."""
    fields = dict(tool_version="0.1.0", summary=SUMMARY, findings=FINDINGS, skipped=SKIPPED,
                  features=FEATURES, prediction=PREDICTION, config_path="pyproject.toml")
    fields.update(changes)
    return Report(**fields)
