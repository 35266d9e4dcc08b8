"""--baseline / --write-baseline: a pull request that adds 3 bad records to a
data repository with known problems fails naming only those 3, even though
it also shifts every old line (issue 13)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tuneahead_lint.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample" / "alpaca_sample.jsonl"
OLD_BAD = [  # problems the data repository already has (accepted in the baseline)
    {"instruction": "Name a colour.", "input": "", "output": "Blue<|endoftext|>"},
    {"instruction": "Say hello.", "input": "", "output": ""},
    {"instruction": "Count to three.", "input": "", "output": "### Response: 1, 2, 3"},
]
NEW_BAD = [  # what the pull request adds
    {"instruction": "Name a fruit.", "input": "", "output": "Apple<|endoftext|>"},
    {"instruction": "Translate 'cat' to French.", "input": "", "output": "  "},
    {"instruction": "Give a synonym of big.", "input": "", "output": "large</s>"},
]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def lint(capsys, *argv) -> tuple[int, str, str]:
    code = main(["--fast", "--no-color", "--fail-on", "warning", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def repo(tmp_path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for i, rec in zip((50, 120, 200), OLD_BAD):
        lines.insert(i, json.dumps(rec))
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", "data.jsonl")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "main")
    return tmp_path


def open_pr(repo: Path) -> list[int]:
    """Add NEW_BAD at the top, middle and end; return their lines."""
    lines = (repo / "data.jsonl").read_text(encoding="utf-8").splitlines()
    lines.insert(0, json.dumps(NEW_BAD[0]))
    lines.insert(150, json.dumps(NEW_BAD[1]))
    lines.append(json.dumps(NEW_BAD[2]))
    (repo / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [1, 151, len(lines)]


def test_pr_fails_on_only_its_three_new_records(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    code, _, _ = lint(capsys, "--write-baseline", "baseline.json", "data.jsonl")
    assert code == 1  # the repository's old problems fail without a baseline
    assert lint(capsys, "--baseline", "baseline.json", "data.jsonl")[0] == 0
    new_lines = open_pr(repo)
    code, out, err = lint(capsys, "--baseline", "baseline.json", "--format", "json", "data.jsonl")
    assert code == 1
    named = sorted(line for f in json.loads(out)["findings"] for line in f["lines"])
    assert named == new_lines
    leak = next(f for f in json.loads(out)["findings"] if f["line"] == 1)
    assert leak["message"] == "template markup '<|endoftext|>' in 1 assistant turn(s)"  # not the old 2
    assert "baseline baseline.json: 3 new, 3 in the baseline remain, 0 fixed" in err


def test_moving_records_is_not_new(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    lint(capsys, "--write-baseline", "baseline.json", "data.jsonl")
    lines = (repo / "data.jsonl").read_text(encoding="utf-8").splitlines()
    (repo / "data.jsonl").write_text("\n".join(lines[::-1]) + "\n", encoding="utf-8")
    code, _, err = lint(capsys, "--baseline", "baseline.json", "data.jsonl")
    assert code == 0 and "0 new, 3 in the baseline remain" in err


def test_fixing_an_old_problem_is_counted(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    lint(capsys, "--write-baseline", "baseline.json", "data.jsonl")
    text = (repo / "data.jsonl").read_text(encoding="utf-8").replace("Blue<|endoftext|>", "Blue")
    (repo / "data.jsonl").write_text(text, encoding="utf-8")
    code, _, err = lint(capsys, "--baseline", "baseline.json", "data.jsonl")
    assert code == 0 and "0 new, 2 in the baseline remain, 1 fixed" in err


def test_a_third_copy_of_a_duplicate_is_new(tmp_path, capsys):
    rec = json.dumps(NEW_BAD[0]).replace("<|endoftext|>", "")
    data = tmp_path / "d.jsonl"
    data.write_text(f"{rec}\n{rec}\n", encoding="utf-8")
    lint(capsys, "--write-baseline", tmp_path / "b.json", data)
    data.write_text(f"{rec}\n{rec}\n{rec}\n", encoding="utf-8")
    code, out, err = lint(capsys, "--baseline", tmp_path / "b.json", "--format", "concise", data)
    assert code == 1 and "1 new, 1 in the baseline remain" in err
    assert out.startswith(f"{data}:3: TA106")


@pytest.mark.parametrize("content", ["not json", '{"findings": [{"rule_id": 1}]}'])
def test_unreadable_baseline_exits_2(tmp_path, capsys, content):
    (tmp_path / "b.json").write_text(content)
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(OLD_BAD[0]) + "\n")
    code = main(["--fast", "--baseline", str(tmp_path / "b.json"), str(data)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"tuneahead-lint: error: {tmp_path / 'b.json'}: ") and "\n" == err[-1]
    assert err.count("\n") == 1


def test_missing_baseline_fails_before_linting(tmp_path, capsys, monkeypatch):
    import tuneahead_lint.pipeline as pipeline

    monkeypatch.setattr(pipeline, "lint", lambda *a, **k: pytest.fail("linted despite a bad baseline"))
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(OLD_BAD[0]) + "\n")
    code = main(["--fast", "--baseline", str(tmp_path / "nope.json"), str(data)])
    assert code == 2 and "nope.json: cannot read baseline" in capsys.readouterr().err
