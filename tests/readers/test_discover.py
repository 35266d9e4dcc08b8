"""discover(): expanding paths; InputError for unreadable paths."""

from __future__ import annotations

import os

import pytest

from tuneahead_lint.readers import InputError, discover, read


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")


def test_directories_are_searched_recursively_sorted_and_deduplicated(tmp_path):
    _touch(tmp_path, "b.jsonl", "a/z.json.gz", "a/y.parquet", "a/x.jsonl.gz", "c.json",
           "notes.txt", "data.csv", ".hidden/h.jsonl", ".h.jsonl", "a/.git/objects.json")
    found = discover([str(tmp_path), str(tmp_path / "c.json"), str(tmp_path / "a") + "/"])
    names = [os.path.relpath(p, tmp_path) for p in found]
    assert names == ["a/x.jsonl.gz", "a/y.parquet", "a/z.json.gz", "b.jsonl", "c.json"]
    assert found == sorted(found)


def test_explicit_files_are_kept_whatever_their_suffix(tmp_path):
    _touch(tmp_path, "data.txt")
    assert discover([str(tmp_path / "data.txt")]) == [str(tmp_path / "data.txt")]


def test_missing_path_is_an_input_error(tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(InputError) as info:
        discover([missing])
    assert (info.value.path, info.value.line) == (missing, None)
    assert str(info.value) == f"{missing}: no such file or directory"


def test_directory_without_data_files_is_an_input_error(tmp_path):
    _touch(tmp_path, "readme.md", ".hidden/x.jsonl")
    with pytest.raises(InputError, match="no data files"):
        discover([str(tmp_path)])


def test_input_error_with_a_line():
    assert str(InputError("a.jsonl", 3, "bad")) == "a.jsonl:3: bad"


def test_read_rejects_missing_files_and_directories_at_the_call(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read(str(tmp_path / "nope.jsonl"))
    with pytest.raises(InputError, match="is a directory"):
        read(str(tmp_path))
