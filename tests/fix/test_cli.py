"""``tuneahead-lint fix`` from the command line (record-level, --fast):
the input is never modified, --in-place keeps a backup, --dry-run writes
nothing, the same input gives the same bytes, errors are one line (exit 2)."""

from __future__ import annotations

import json
import os

import pytest

from .conftest import cli, copy_fixture, expected, state

NAME = "gsm8k_planted.jsonl"


def test_fix_writes_output_log_and_summary(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    before = state(src)
    out, log = tmp_path / "clean.jsonl", tmp_path / "removed.jsonl"
    code, stdout, _ = cli(capsys, "fix", "--fast", str(src), "-o", str(out), "--log", str(log))
    assert code == 0
    assert state(src) == before  # bytes and mtime
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert list(entries[0]) == ["path", "line", "record", "action", "reason", "detail"]
    assert {e["record"]: (e["action"], e["reason"].split()[0]) for e in entries} == \
        expected(NAME, semantic=False)
    assert "records: 165 read, 13 dropped, 3 changed, 152 written" in stdout
    assert "before -> after" in stdout and "TA106 exact-duplicate" in stdout
    assert "suggested training config" in stdout and "learning rate" in stdout


def test_log_on_stdout_names_every_line(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    code, stdout, _ = cli(capsys, "fix", "--fast", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert code == 0
    for record, (action, rule) in expected(NAME, semantic=False).items():
        assert f"{src}:{record}: {action} {rule} " in stdout


def test_text_log_file(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    log = tmp_path / "removed.log"
    cli(capsys, "fix", "--fast", str(src), "-o", str(tmp_path / "o.jsonl"), "--log", str(log))
    assert log.read_text().splitlines()[0] == f"{src}:6: drop TA106 exact-duplicate: duplicate of line 5"


def test_dry_run_writes_nothing(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    before = state(src)
    listing = sorted(os.listdir(tmp_path))
    code, stdout, _ = cli(capsys, "fix", "--fast", "--dry-run", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert code == 0
    assert sorted(os.listdir(tmp_path)) == listing and state(src) == before
    assert "dry run" in stdout and "13 would be dropped" in stdout
    assert "drop TA106" in stdout  # what would change, line by line


def test_in_place_keeps_backup_and_replaces(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    original = src.read_bytes()
    os.chmod(src, 0o640)
    code, _, _ = cli(capsys, "fix", "--fast", "--in-place", str(src))
    assert code == 0
    assert (tmp_path / (NAME + ".bak")).read_bytes() == original
    assert len(src.read_bytes().splitlines()) == 152
    assert os.stat(src).st_mode & 0o777 == 0o640
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]
    code, _, err = cli(capsys, "fix", "--fast", "--in-place", str(src))  # nothing left to fix
    assert code == 0


def test_in_place_refuses_to_overwrite_a_backup(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    (tmp_path / (NAME + ".bak")).write_text("older backup")
    before = state(src)
    code, _, err = cli(capsys, "fix", "--fast", "--in-place", str(src))
    assert code == 2 and "backup already exists" in err and len(err.strip().splitlines()) == 1
    assert state(src) == before


def test_same_input_same_bytes(tmp_path, capsys):
    src = copy_fixture(tmp_path, NAME)
    outs = []
    for i in range(2):
        out, log = tmp_path / f"o{i}.jsonl", tmp_path / f"l{i}.jsonl"
        cli(capsys, "fix", "--fast", str(src), "-o", str(out), "--log", str(log))
        outs.append((out.read_bytes(), log.read_bytes()))
    assert outs[0] == outs[1]


@pytest.mark.parametrize("flag, rule", [("--no-exact-dedup", "TA106"), ("--keep-empty", "TA101"),
                                        ("--keep-empty", "TA001"), ("--no-strip-templates", "TA105")])
def test_switches(tmp_path, capsys, flag, rule):
    src = copy_fixture(tmp_path, NAME)
    log = tmp_path / "l.jsonl"
    cli(capsys, "fix", "--fast", flag, str(src), "-o", str(tmp_path / "o.jsonl"), "--log", str(log))
    reasons = {json.loads(x)["reason"].split()[0] for x in log.read_text().splitlines()}
    assert rule not in reasons and reasons


def test_several_inputs_need_a_folder(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "sub" / "b.jsonl"
    b.parent.mkdir()
    for p in (a, b):
        p.write_text(f'{{"prompt": "{p.name}", "completion": "c"}}\n' * 2)
    code, _, err = cli(capsys, "fix", "--fast", str(a), str(b), "-o", str(tmp_path / "x.jsonl"))
    assert code == 2 and "must be a directory" in err
    code, stdout, _ = cli(capsys, "fix", "--fast", str(a), str(b), "-o", str(tmp_path / "out") + "/")
    assert code == 0
    assert (tmp_path / "out/a.jsonl").read_text().count("\n") == 1
    assert (tmp_path / "out/sub/b.jsonl").read_text().count("\n") == 1


def test_duplicates_across_files_name_the_other_file(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"prompt": "p", "completion": "c"}\n')
    b.write_text('{"prompt": "q", "completion": "d"}\n{"prompt": "P", "completion": "c"}\n')
    code, stdout, _ = cli(capsys, "fix", "--fast", str(a), str(b), "-o", str(tmp_path / "out") + "/")
    assert f"{b}:2: drop TA106 exact-duplicate: duplicate of {a}:1 (line 1)" in stdout


@pytest.mark.parametrize("args, message", [
    (["fix", "--fast", "missing.jsonl", "-o", "x.jsonl"], "no such file"),
    (["fix", "--fast", "{src}"], "-o/--output"),
    (["fix", "--fast", "{src}", "-o", "{src}"], "never overwrites its input"),
    (["fix", "--fast", "{src}", "--in-place", "-o", "x.jsonl"], "cannot be combined"),
    (["fix", "--fast", "{src}", "-o", "x.parquet"], "parquet"),
    (["fix", "--fast", "{src}", "-o", "x.jsonl", "--dedup-threshold", "1.5"], "1.5"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    src = copy_fixture(tmp_path, NAME)
    before = state(src)
    argv = [a.replace("{src}", str(src)) for a in args]
    code, out, err = cli(capsys, *argv)
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tuneahead-lint: error:"), err
    assert message in lines[0]
    assert state(src) == before


def test_binary_input_is_refused(tmp_path, capsys):
    src = tmp_path / "bin.jsonl"
    src.write_bytes(b"\x00\x01\x02garbage")
    code, _, err = cli(capsys, "fix", "--fast", str(src), "-o", str(tmp_path / "o.jsonl"))
    assert code == 2 and "binary file" in err
