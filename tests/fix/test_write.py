"""Containers are written back faithfully: untouched records byte for byte,
the file's separators, indentation, line endings, BOM, gzip and Parquet schema
kept; changed records in the record's own JSON style."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from .conftest import FIXTURES, fix
from tuneahead_lint.fix.source import load
from tuneahead_lint.fix.strip import dumps_like
from tuneahead_lint.fix.write import render

A = '{"instruction": "Arrange the following musical notes", "input": "G, B, E", "output": "E, G, B"}'
B = '{"instruction": "Name a major American city", "input": "", "output": "New York City."}'
EMPTY = '{"instruction": "Summarise the text", "input": "The quick brown fox.", "output": " "}'
LEAK = '{"prompt": "Classify: great movie!", "completion": "positive<|endoftext|>"}'


def fixed(tmp_path: Path, name: str, data: bytes | str, **options) -> bytes:
    src = tmp_path / name
    src.write_bytes(data.encode() if isinstance(data, str) else data)
    out = tmp_path / ("out-" + name)
    fix([src], fast=True, output=str(out), **options)
    return out.read_bytes()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_jsonl_keeps_line_endings_and_blank_lines(tmp_path, newline):
    data = newline.join([A, "", B, A, EMPTY, B]) + newline
    assert fixed(tmp_path, "d.jsonl", data) == newline.join([A, "", B]).encode() + newline.encode()


def test_jsonl_last_line_without_newline(tmp_path):
    assert fixed(tmp_path, "d.jsonl", A + "\n" + A) == (A + "\n").encode()
    assert fixed(tmp_path, "e.jsonl", B + "\n" + A) == (B + "\n" + A).encode()


def test_jsonl_bom_is_kept_when_first_record_is_dropped(tmp_path):
    data = b"\xef\xbb\xbf" + (EMPTY + "\n" + A + "\n").encode()
    assert fixed(tmp_path, "d.jsonl", data) == b"\xef\xbb\xbf" + (A + "\n").encode()


def test_changed_jsonl_record_is_one_line_in_its_style(tmp_path):
    compact = '{"prompt":"Classify: great movie!","completion":"positive<|endoftext|>"}'
    assert fixed(tmp_path, "d.jsonl", compact + "\n") == \
        b'{"prompt":"Classify: great movie!","completion":"positive"}\n'


@pytest.mark.parametrize("drop", [0, 4, 9])
def test_pretty_printed_array_keeps_indentation(tmp_path, drop):
    """code_alpaca_2k slice: 10 elements, 6-space indentation; an empty copy
    planted at position ``drop`` is removed and the file is as it was."""
    src = (FIXTURES / "instruct/code_alpaca_2k/code_alpaca_2k.json").read_bytes()
    records = json.loads(src)
    parts = src.split(b"\n      },\n      {")
    assert len(parts) == 10
    empty = dict(records[drop], output="")
    blob = json.dumps(empty, indent=6).replace("\n", "\n      ").encode()
    planted = src.replace(b"[\n      {", b"[\n      " + blob + b",\n      {", 1) if drop == 0 else None
    if planted is None:
        head, tail = b"\n      },\n      {".join(parts[:drop]), b"\n      },\n      {".join(parts[drop:])
        planted = head + b"\n      },\n      " + blob + b",\n      {" + tail
    assert len(json.loads(planted)) == 11
    assert fixed(tmp_path, "code.json", planted) == src


def test_pretty_printed_changed_record_is_reindented(tmp_path):
    data = '[\n  {\n    "prompt": "Classify: great movie!",\n    "completion": "positive</s>"\n  }\n]\n'
    assert fixed(tmp_path, "d.json", data).decode() == data.replace("</s>", "")


def test_one_line_array_separator_and_last_element(tmp_path):
    assert fixed(tmp_path, "d.json", f"[{A}, {B}, {EMPTY}]") == f"[{A}, {B}]".encode()
    assert fixed(tmp_path, "e.json", f"[{EMPTY}, {A},{B}]") == f"[{A},{B}]".encode()


def test_broken_array_is_repaired_with_the_file_separator(tmp_path):
    assert fixed(tmp_path, "d.json", f"[{A}, {B},, {A}]") == f"[{A}, {B}]".encode()
    assert fixed(tmp_path, "e.json", f"[{A}, {B},]\n") == f"[{A}, {B}]\n".encode()
    assert fixed(tmp_path, "f.json", f"[{A}, {B}, {A}") == f"[{A}, {B}]\n".encode()


def test_all_records_dropped_leaves_an_empty_array(tmp_path):
    assert json.loads(fixed(tmp_path, "d.json", f"[{EMPTY}]\n")) == []


def test_gzip_is_recompressed_and_stable(tmp_path):
    data = gzip.compress((A + "\n" + A + "\n" + B + "\n").encode(), mtime=0)
    out = fixed(tmp_path, "d.jsonl.gz", data)
    assert gzip.decompress(out) == (A + "\n" + B + "\n").encode()
    assert out == fixed(tmp_path, "e.jsonl.gz", data)


def test_parquet_keeps_schema_and_codec(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [json.loads(x) for x in (A, B, A, EMPTY)]
    table = pa.Table.from_pylist(rows).replace_schema_metadata({b"origin": b"test"})
    src = tmp_path / "d.parquet"
    pq.write_table(table, src, compression="gzip")
    out = tmp_path / "out.parquet"
    result = fix([src], fast=True, output=str(out))
    assert [a.record for a in result.plan.actions] == [3, 4]
    back = pq.read_table(out)
    assert back.schema == table.schema and back.schema.metadata == table.schema.metadata
    assert back.to_pylist() == rows[:2]
    assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "GZIP"


def test_parquet_stripped_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist([json.loads(LEAK)]), src)
    out = tmp_path / "out.parquet"
    fix([src], fast=True, output=str(out))
    assert pq.read_table(out).to_pylist() == [{"prompt": "Classify: great movie!", "completion": "positive"}]


def test_render_without_changes_is_the_input(tmp_path):
    for name, data in (("a.jsonl", f"{A}\n\n{B}\r\n"), ("b.json", f"[ {A} ,\n {B} ]\n"),
                       ("c.json", f"{A}\n{B}\n")):
        path = tmp_path / name
        path.write_text(data)
        assert render(load(str(path)), frozenset(), {}) == data.encode()


@pytest.mark.parametrize("raw, value, want", [
    (b'{"a": "x", "b": "\\u00e9"}', {"a": "y", "b": "\u00e9"}, b'{"a": "y", "b": "\\u00e9"}'),
    ('{"a": "x", "b": "\u00e9"}'.encode(), {"a": "y", "b": "\u00e9"}, '{"a": "y", "b": "\u00e9"}'.encode()),
    (b'{"b":"x","a":1}', {"b": "y", "a": 1}, b'{"b":"y","a":1}'),
    (b'{\n\t"a": "x"\n}', {"a": "y"}, b'{\n\t"a": "y"\n}'),
])
def test_dumps_like_keeps_style(raw, value, want):
    assert dumps_like(value, raw) == want


def test_concatenated_pretty_values(tmp_path):
    one = '{\n  "prompt": "Classify: great movie!",\n  "completion": "positive"\n}'
    two = '{\n  "prompt": "Classify: awful movie!",\n  "completion": "negative"\n}'
    assert fixed(tmp_path, "d.json", f"{one}\n{two}\n{one}\n").decode() == f"{one}\n{two}\n"
    assert fixed(tmp_path, "e.json", f"{one}\n\n{one}\n{two}").decode() == f"{one}\n\n{two}"
