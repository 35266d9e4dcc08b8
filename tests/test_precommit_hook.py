"""The pre-commit hook, for real: a snapshot of this checkout as a hook
repository, a temporary data repository with ``pre-commit install``, a
``git commit`` of a bad file blocked and of a good file allowed.

pre-commit builds its own virtualenv and pip-installs this checkout (core
dependencies only: the fast hook needs no torch), so this needs the package
index; it is skipped when pre-commit or git is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GOOD = '{"instruction": "Arrange the following musical notes", "input": "G, B, E", "output": "E, G, B"}\n'
BAD = '{"instruction": "Summarise the text", "input": "The quick brown fox.", "output": ""}\n'


def test_hooks_file_declares_fast_and_manual_hooks():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    fast, probe = hooks["tuneahead-lint"], hooks["tuneahead-lint-probe"]
    assert fast["require_serial"] and "--fast" in fast["entry"]
    import re

    rx = re.compile(fast["files"])
    for name in ("a.jsonl", "a.json", "a.jsonl.gz", "d/a.json.gz", "a.parquet"):
        assert rx.search(name), name
    assert not rx.search("a.py")
    assert probe["stages"] == ["manual"] and "--probe" in probe["entry"]
    for hook in (fast, probe):  # only the staged files, never the whole repository
        assert hook["pass_filenames"] is True and not hook.get("always_run")
        assert not any(a.endswith("/") or a == "." for a in hook["entry"].split()[1:])


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.mark.slow
def test_commit_blocked_then_allowed(tmp_path):
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists() or shutil.which("git") is None:
        pytest.skip("pre-commit or git not installed")
    # pre-commit clones hook repos from git: snapshot the working tree.
    src = tmp_path / "hookrepo"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", "scratch", "benchmarks"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        assert _git(src, *args).returncode == 0
    rev = _git(src, "rev-parse", "HEAD").stdout.strip()
    repo = tmp_path / "data"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [
        {"repo": str(src), "rev": rev, "hooks": [{"id": "tuneahead-lint"}]}]}))
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    env["PATH"] = f"{Path(pre_commit).parent}{os.pathsep}{env['PATH']}"
    installed = subprocess.run([pre_commit, "install"], cwd=repo, capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr

    def commit(content: str) -> subprocess.CompletedProcess:
        (repo / "train.jsonl").write_text(content)
        _git(repo, "add", "-A")
        return subprocess.run(["git", "commit", "-m", "data"], cwd=repo, capture_output=True,
                              text=True, timeout=1200,
                              env={**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})

    blocked = commit(GOOD + BAD)
    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    assert "TA101" in blocked.stdout + blocked.stderr
    assert _git(repo, "rev-parse", "HEAD").returncode != 0  # nothing committed
    allowed = commit(GOOD)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert _git(repo, "log", "--oneline").stdout.count("\n") == 1
    # a bad file that is not staged is not linted
    (repo / "scratch.jsonl").write_text(BAD)
    (repo / "more.jsonl").write_text(GOOD.replace("musical", "these"))
    _git(repo, "add", "more.jsonl")
    staged_only = subprocess.run(["git", "commit", "-m", "more"], cwd=repo, capture_output=True, text=True,
                                 timeout=1200, env={**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                                    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
    assert staged_only.returncode == 0, staged_only.stdout + staged_only.stderr
    assert "scratch.jsonl" not in staged_only.stdout + staged_only.stderr
