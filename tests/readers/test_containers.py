"""Containers: JSON Lines, JSON arrays, gzip, Parquet, and broken files."""

from __future__ import annotations

import gzip
import hashlib
import json
import tracemalloc

import pytest

from tuneahead_lint.readers import containers, read

from .conftest import FIXTURES, checks

ALPACA = {"instruction": "Name a colour", "output": "Red"}
LIMA = FIXTURES / "lima_llamafactory" / "lima.json"
SHAREGPT = FIXTURES / "sharegpt_v3_unfiltered_first1500" / \
    "ShareGPT_V3_unfiltered_cleaned_split.first1500.json"
GSM8K = FIXTURES / "gsm8k_train" / "train.jsonl"


def _brace_lines(path) -> list[int]:
    """Lines of a pretty-printed array that open an element ('  {')."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return [i + 1 for i, text in enumerate(lines) if text.rstrip() in ("  {", "{")]


def test_array_element_lines_are_their_opening_brace():
    examples = list(read(str(LIMA)))
    assert [e.line for e in examples] == _brace_lines(LIMA)[:len(examples)]
    assert [e.index for e in examples] == list(range(5))
    assert all(e.ok and not e.problems for e in examples)


def test_compact_array_elements_share_line_one():
    examples = list(read(str(FIXTURES / "alpaca_5k_subset" / "alpaca_5000.json")))
    assert len(examples) == 10 and {e.line for e in examples} == {1}


def test_array_elements_match_json_load():
    reference = json.loads(SHAREGPT.read_text(encoding="utf-8"))
    with SHAREGPT.open("rb") as fh:
        parts = list(containers.pieces(str(SHAREGPT), fh))
    assert [json.loads(p.raw) for p in parts] == reference


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
@pytest.mark.parametrize("path", [SHAREGPT, LIMA, GSM8K], ids=["sharegpt", "lima", "gsm8k"])
def test_chunk_size_does_not_change_results(monkeypatch, path, chunk):
    expected = list(read(str(path)))
    monkeypatch.setattr(containers, "CHUNK", chunk)
    assert list(read(str(path))) == expected


def test_strings_with_brackets_quotes_and_escapes(lint_file):
    element = {"instruction": 'a "]" }, {\\', "input": "[{\n,", "output": "\\\"]"}
    data = "[\n" + json.dumps(element) + ",\n" + json.dumps(ALPACA) + "\n]\n"
    examples = lint_file("x.json", data)
    assert [(e.line, e.ok) for e in examples] == [(2, True), (3, True)]
    assert examples[0].turns[0].content == element["instruction"] + "\n\n" + element["input"]


def test_jsonl_lines_blank_lines_and_crlf(lint_file):
    line = json.dumps(ALPACA)
    examples = lint_file("x.jsonl", f"{line}\r\n\n   \n{line}\r\n{line}")
    assert [e.line for e in examples] == [1, 4, 5]
    assert {e.raw_hash for e in examples} == {hashlib.sha256(line.encode()).hexdigest()}


def test_gzip_jsonl_fixture():
    examples = list(read(str(FIXTURES / "hh_rlhf_harmless_base_test" / "test.jsonl.gz")))
    assert [e.line for e in examples] == [1, 2, 3, 4, 5]
    assert all(e.format == "chosen_rejected" and e.ok for e in examples)


def test_gzip_array_is_detected_by_magic(lint_file):
    data = gzip.compress(b"[\n" + json.dumps(ALPACA).encode() + b"\n]")
    examples = lint_file("x.json.gz", data)
    assert [(e.line, e.format) for e in examples] == [(2, "alpaca")]


def test_truncated_gzip_keeps_earlier_records(lint_file):
    data = gzip.compress((json.dumps(ALPACA) + "\n").encode() * 50)
    examples = lint_file("x.jsonl.gz", data[:-12])
    assert examples[0].ok
    assert checks(examples[-1]) == ["invalid_json"] and "gzip" in examples[-1].problems[0].detail


def test_parquet_lines_are_row_numbers(lint_file, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()]
    path = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=3)
    examples = list(read(str(path)))
    assert [e.line for e in examples] == list(range(1, 11))
    assert [e.turns for e in examples] == [e.turns for e in read(str(GSM8K))]
    assert all(e.format == "question_answer" for e in examples)


def test_corrupt_parquet_is_one_problem(lint_file):
    examples = lint_file("x.parquet", b"PAR1 not really")
    assert [(e.line, checks(e)) for e in examples] == [(1, ["invalid_json"])]


def test_truncated_array_reports_the_unfinished_element(lint_file):
    data = "[\n  " + json.dumps(ALPACA) + ",\n  {\n    \"instruction\": \"cut"
    examples = lint_file("x.json", data)
    assert examples[0].ok
    assert (examples[1].line, checks(examples[1])) == (3, ["invalid_json"])
    assert "truncated" in examples[1].problems[0].detail
    assert len(examples) == 2


def test_unclosed_array_after_complete_element(lint_file):
    examples = lint_file("x.json", "[\n" + json.dumps(ALPACA) + ",\n" + json.dumps(ALPACA) + "\n")
    assert [e.ok for e in examples] == [True, True, False]
    assert "not closed" in examples[2].problems[0].detail and examples[2].line == 3


def test_trailing_garbage_after_array(lint_file):
    examples = lint_file("x.json", "[" + json.dumps(ALPACA) + "]\n\nextra")
    assert [e.ok for e in examples] == [True, False]
    assert (examples[1].line, checks(examples[1])) == (3, ["invalid_json"])


def test_empty_elements_and_trailing_comma(lint_file):
    examples = lint_file("x.json", "[" + json.dumps(ALPACA) + ",,\n" + json.dumps(ALPACA) + ",\n]")
    assert [(e.line, e.ok) for e in examples] == [(1, True), (1, False), (2, True), (3, False)]
    assert "trailing comma" in examples[3].problems[0].detail


def test_broken_element_does_not_spill_into_the_next(lint_file):
    data = '[\n{"instruction": "a" "output": "b"},\n' + json.dumps(ALPACA) + "\n]"
    examples = lint_file("x.json", data)
    assert [(e.line, e.ok) for e in examples] == [(2, False), (3, True)]
    assert "line 2, column 21" in examples[0].problems[0].detail


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_invalid_json(lint_file, literal):
    examples = lint_file("x.jsonl", '{"question": "q", "answer": "a", "score": %s}\n' % literal)
    assert checks(examples[0]) == ["invalid_json"] and literal in examples[0].problems[0].detail
    assert not examples[0].ok


@pytest.mark.parametrize("name, body", [
    ("x.jsonl", json.dumps(ALPACA)),
    ("x.json", "[\n" + json.dumps(ALPACA) + "\n]"),
])
def test_bom_is_reported_and_record_still_parsed(lint_file, name, body):
    examples = lint_file(name, b"\xef\xbb\xbf" + body.encode())
    assert len(examples) == 1 and examples[0].ok
    assert checks(examples[0]) == ["bom"]
    assert examples[0].line == (1 if name.endswith("l") else 2)


def test_invalid_utf8_names_the_byte_offset(lint_file):
    good = json.dumps(ALPACA).encode() + b"\n"
    examples = lint_file("x.jsonl", good + b'{"instruction": "caf\xe9", "output": "x"}\n' + good)
    assert [e.ok for e in examples] == [True, False, True]
    assert checks(examples[1]) == ["invalid_utf8"]
    assert f"offset {len(good) + 20}" in examples[1].problems[0].detail


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 100,
    '[{"instruction": "a", "output": "b"}]'.encode("utf-16"),
])
def test_binary_file_is_one_problem_and_stops(lint_file, data):
    examples = lint_file("x.jsonl", data)
    assert [(e.line, checks(e)) for e in examples] == [(1, ["invalid_utf8"])]
    assert "binary" in examples[0].problems[0].detail


def test_non_object_records(lint_file):
    examples = lint_file("x.jsonl", '[1, 2]\n"text"\n3\nnull\ntrue\n{}\n')
    assert [checks(e) for e in examples] == [["not_object"]] * 5 + [["missing_field"]]


def test_pretty_printed_single_object_is_one_record(lint_file):
    examples = lint_file("x.json", json.dumps(ALPACA, indent=2) + "\n" + json.dumps(ALPACA, indent=2))
    assert [(e.line, e.ok) for e in examples] == [(1, True), (5, True)]


def test_empty_and_whitespace_files_have_only_an_empty_file_note(lint_file):
    for name, data in (("a.jsonl", b""), ("b.json", b" \n\n "), ("c.json", b"[]")):
        [note] = lint_file(name, data)
        assert not note.ok and [p.check for p in note.problems] == ["empty_file"]


def test_50_mb_single_line(lint_file):
    text = "x" * (50 << 20)
    record = json.dumps({"prompt": "p", "completion": text})
    examples = lint_file("x.jsonl", record + "\n" + json.dumps({"prompt": "q", "completion": "c"}))
    assert [(e.line, e.ok) for e in examples] == [(1, True), (2, True)]
    assert len(examples[0].response) == len(text)


def test_50_mb_array_element(lint_file):
    text = "y\\n" * (17 << 20)
    examples = lint_file("x.json", '[\n{"prompt": "p", "completion": "%s"},\n{"prompt": "q", "completion": "c"}\n]' % text)
    assert [(e.line, e.ok) for e in examples] == [(2, True), (3, True)]


def test_array_memory_does_not_grow_with_file_size(tmp_path):
    path = tmp_path / "big.json"
    record = json.dumps({"instruction": "i" * 5000, "output": "o\\n" * 2000})
    with path.open("w") as fh:
        fh.write("[\n" + ",\n".join([record] * 2000) + "\n]\n")  # ~22 MB
    tracemalloc.start()
    try:
        count = sum(1 for _ in read(str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 8 << 20, f"peak {peak} bytes while reading a {path.stat().st_size} byte array"


def _snapshot(root) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_reading_never_writes_its_input():
    before = _snapshot(FIXTURES)
    for path in before:
        for _ in read(str(path)):
            pass
    assert _snapshot(FIXTURES) == before
