"""Streaming record checks (issue 15): the rules stage reads the files
instead of holding the records, and gives the same findings as over a list."""

from __future__ import annotations

import json
from collections import Counter

from tuneahead_lint.checks import STREAMS
from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.checks.stream import DigestLog, digest
from tuneahead_lint.config import Config
from tuneahead_lint.readers import RecordSource, discover
from tuneahead_lint.ruleset.evaluate import Context, run_rules
from tuneahead_lint.ruleset.registry import load_rules

PLANTED = "tests/fixtures/golden/planted.jsonl"
SETS = ["tests/fixtures/instruct"]


class CountingSource(RecordSource):
    """A RecordSource that counts how often the files are read."""

    reads = 0

    def __iter__(self):
        self.reads += 1
        return super().__iter__()


def _run(examples):
    ctx = Context(examples, frozenset({"records"}), {})
    return run_rules(load_rules(), Config(None, {}), ctx)


def _set_statistics_file(tmp_path):
    """Records that fire the rules that need a set statistic first."""
    rows = [(f"Summarise the text below.\nText number {i} about topic {i * 7}.",
             f"This is a complete summary of text number {i} with enough words.") for i in range(24)]
    rows += [("Summarise the text below.\nA text that is cut.",
              "This summary stops in the middle of a sentence because the writer ran out of")]
    rows += [("What is 2 + 2?", "4"), ("What is 2 + 2?", "5"), rows[3]]
    path = tmp_path / "stats.jsonl"
    path.write_text("".join(json.dumps({"instruction": p, "output": r}) + "\n" for p, r in rows))
    return str(path)


def test_streamed_findings_equal_findings_over_a_list(tmp_path):
    stats = _set_statistics_file(tmp_path)
    fired = set()
    for paths in ([PLANTED, *SETS, stats], [stats]):
        source = RecordSource(discover(paths))
        streamed, held = _run(source), _run(list(source))
        assert streamed.findings == held.findings and streamed.findings
        assert streamed.scan.summary() == held.scan.summary()
        fired |= {f.rule_id for f in streamed.findings}
    assert fired >= {"TA106", "TA117", "TA118", "TA203"}  # rules that need a set statistic first


def test_files_are_read_twice_only_for_two_pass_checks():
    source = CountingSource(discover([PLANTED]))
    _run(source)
    assert source.reads == 2  # TA106, TA110, TA117 ... need a set statistic first
    source = CountingSource(discover([PLANTED]))
    ctx = Context(source, frozenset({"records"}), {})
    run_rules([r for r in load_rules() if r.id in ("TA101", "TA107")], Config(None, {}), ctx)
    assert source.reads == 1


def test_every_record_rule_streams():
    load_all()
    record_rules = [r for r in load_rules() if r.check and set(r.requires) <= {"records", "tokenizer"}]
    assert record_rules and all(r.check in STREAMS for r in record_rules if r.check != "short_responses")


def test_digest_log_agrees_with_counter():
    texts = ["b", "a", "c", "a", "b", "d"]  # "b" and "a" tie: the first seen wins, as in Counter
    log = DigestLog()
    for t in texts:
        log.add(digest(t))
    top, n = Counter(texts).most_common(1)[0]
    assert log.most_common() == (digest(top), n) == (digest("b"), 2)
    assert log.repeated() == {digest("a"), digest("b")}
    assert log.at(2) == digest("c") and len(log) == 6
    assert DigestLog().most_common() is None and DigestLog().repeated() == set()
