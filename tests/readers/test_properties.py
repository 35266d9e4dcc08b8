"""Property tests: no input bytes or JSON values make the reader raise."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneahead_lint.readers import containers, is_file_note, read
from tuneahead_lint.types import Example

SETTINGS = settings(max_examples=100, deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=6,
)
KEYS = ["instruction", "input", "output", "response", "history", "system", "prompt", "completion",
        "messages", "conversations", "question", "answer", "chosen", "rejected", "instances",
        "role", "content", "from", "value", "text", "type", "tool_calls"]
# Records shaped like the known formats, with arbitrary values (nested shapes included).
record_like = st.recursive(
    json_values,
    lambda children: st.dictionaries(st.sampled_from(KEYS), children, max_size=5) | st.lists(children, max_size=3),
    max_leaves=10,
)
json_tokens = st.lists(st.sampled_from(
    ['[', ']', '{', '}', '"', '\\', ',', ':', ' ', '\n', '\r', 'a', '1', 'NaN', 'true', '"x"',
     '\\"', '\ufeff', '\xe9', '"instruction"', '"output"']), max_size=60).map("".join)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("props")


def read_bytes(folder: Path, name: str, data: bytes) -> list[Example]:
    """Read ``data`` as file ``name`` twice; both runs must agree."""
    path = folder / name
    path.write_bytes(data)
    first = list(read(str(path)))
    assert list(read(str(path))) == first
    for index, example in enumerate(first):
        assert isinstance(example, Example) and example.index == index and example.line >= 1
        assert example.ok or example.problems
        assert all(isinstance(t.role, str) and isinstance(t.content, str) for t in example.turns)
    return first


@SETTINGS
@given(data=st.binary(max_size=3000))
@pytest.mark.parametrize("name", ["x.jsonl", "x.json", "x.json.gz"])
def test_arbitrary_bytes_never_raise(folder, name, data):
    read_bytes(folder, name, data)


@SETTINGS
@given(data=st.binary(max_size=500))
def test_arbitrary_gzip_payload_never_raises(folder, data):
    packed = gzip.compress(data)
    read_bytes(folder, "g.jsonl.gz", packed[:len(packed) // 2] if data[:1] == b"x" else packed)


@SETTINGS
@given(text=json_tokens)
@pytest.mark.parametrize("name", ["t.jsonl", "t.json"])
def test_json_like_text_never_raises(folder, name, text):
    read_bytes(folder, name, text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(values=st.lists(record_like, max_size=6))
def test_json_values_as_lines_keep_count_and_lines(folder, values):
    lines = [json.dumps(v) for v in values]
    examples = [e for e in read_bytes(folder, "v.jsonl", "\n".join(lines).encode()) if not is_file_note(e)]
    assert [e.line for e in examples] == list(range(1, len(values) + 1))


@SETTINGS
@given(values=st.lists(record_like, max_size=6), indent=st.sampled_from([None, 0, 2, "\t"]),
       chunk=st.sampled_from([1, 3, 1 << 20]))
def test_json_values_as_array_split_exactly(folder, values, indent, chunk):
    data = json.dumps(values, indent=indent).encode()
    path = folder / "v.json"
    path.write_bytes(data)
    original, containers.CHUNK = containers.CHUNK, chunk
    try:
        with path.open("rb") as fh:
            parts = [p for p in containers.pieces(str(path), fh) if p.decodable]  # not the empty-file note
    finally:
        containers.CHUNK = original
    assert [json.loads(p.raw) for p in parts] == values
    lines = data.split(b"\n")
    assert all(lines[p.line - 1][p.column - 1:].startswith(p.raw.split(b"\n")[0]) for p in parts)
    assert len([e for e in read_bytes(folder, "v.json", data) if not is_file_note(e)]) == len(values)


@SETTINGS
@given(values=st.lists(record_like, max_size=6))
def test_non_ascii_json_values_never_raise(folder, values):
    lines = [json.dumps(v, ensure_ascii=False) for v in values]
    read_bytes(folder, "u.jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))


# --- file names and lone surrogates: the reports stay valid UTF-8, JSON and SARIF

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts_with_surrogates = st.lists(st.text(max_size=5) | surrogates, min_size=1, max_size=6).map("".join)
name_bytes = st.binary(min_size=1, max_size=24).filter(
    lambda b: b"/" not in b and b"\0" not in b and not b.startswith(b"."))


def _lint_bytes(capsysbinary, *argv: str) -> tuple[int, str, str]:
    from tuneahead_lint.cli import main

    code = main(list(argv))
    captured = capsysbinary.readouterr()
    return code, captured.out.decode("utf-8"), captured.err.decode("utf-8")  # strict


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompt=texts_with_surrogates, role=texts_with_surrogates)
def test_lone_surrogates_are_findings_and_reports_stay_valid(tmp_path, capsysbinary, prompt, role):
    record = {"messages": [{"role": role, "content": prompt}, {"role": "assistant", "content": "ok"}]}
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="ascii")  # surrogates as \udXXX escapes
    [example] = read(str(path))
    for turn in example.turns:  # raises on a surrogate left in the text
        turn.content.encode("utf-8"), turn.role.encode("utf-8")
    # a high+low pair written as two escapes decodes to one character: not lone
    lone = any(0xD800 <= ord(c) <= 0xDFFF for s in (prompt, role) for c in json.loads(json.dumps(s)))
    assert lone == any(p.check == "invalid_utf8" for p in example.problems)
    for fmt in ("json", "sarif", "text"):
        code, out, err = _lint_bytes(capsysbinary, "--fast", "-f", fmt, str(path))
        assert code in (0, 1) and "Traceback" not in out + err
        if fmt != "text":
            json.loads(out)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=name_bytes)
def test_any_file_name_gives_valid_reports(tmp_path, capsysbinary, name):
    folder = tmp_path / f"n{abs(hash(name))}"
    folder.mkdir(exist_ok=True)
    raw = os.path.join(os.fsencode(folder), name + b".jsonl")
    with open(raw, "wb") as fh:
        fh.write(b'{"prompt": "a", "completion": ""}\n')
    path = os.fsdecode(raw)
    for fmt in ("json", "sarif", "text"):
        code, out, err = _lint_bytes(capsysbinary, "--fast", "-f", fmt, path)
        assert code == 1 and "Traceback" not in out + err, err
        if fmt == "json":
            assert os.fsencode(json.loads(out)["findings"][0]["path"]) == raw
        if fmt == "sarif":
            [result] = json.loads(out)["runs"][0]["results"]
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert uri.isascii() and unquote_to_bytes(uri).endswith(name + b".jsonl")
