"""``fix --in-place`` killed at every system call of its write path.

A forked child runs the CLI with ``os.open/write/fsync/close/link/replace/
unlink/chmod/rename/mkdir`` wrapped: once the in-place write starts, the N-th
such call sends SIGKILL to the child itself. For every N until a run finishes:
the input holds exactly the old or the new bytes (never a part), a backup is
whole or absent, and a plain rerun finishes the job (exit 0, new content, the
old content in ``.bak``, no temporary file left).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tuneahead_lint.cli import main

GOOD = {"instruction": "Name a primary colour", "input": "", "output": "Red"}
OTHER = {"instruction": "Add 2 and 3", "input": "", "output": "5"}
OLD = "".join(json.dumps(r) + "\n" for r in (GOOD, OTHER, GOOD, OTHER)).encode()
NEW = "".join(json.dumps(r) + "\n" for r in (GOOD, OTHER)).encode()
WRAPPED = ("open", "write", "fsync", "close", "link", "replace", "unlink", "chmod", "rename", "mkdir")
ARGS = ["fix", "--fast", "--in-place", "data.jsonl"]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _arm(kill_at: int) -> None:
    """In the child: count wrapped os calls made inside ``replace_in_place``; die at ``kill_at``."""
    import tuneahead_lint.fix as fix

    state = {"armed": False, "calls": 0}
    original = fix.replace_in_place

    def armed(path: str, data: bytes) -> str:
        state["armed"] = True
        return original(path, data)
    fix.replace_in_place = armed
    for name in WRAPPED:
        def wrapper(*args, _f=getattr(os, name), **kwargs):
            if state["armed"]:
                state["calls"] += 1
                if state["calls"] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
            return _f(*args, **kwargs)
        setattr(os, name, wrapper)


def _run_killed(folder: Path, kill_at: int) -> int:
    """Exit status of a child running ``fix --in-place`` (-9 when killed)."""
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.chdir(folder)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            _arm(kill_at)
            code = main(ARGS)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_fix_in_place_survives_sigkill_at_every_step(tmp_path, monkeypatch, capsys):
    killed_at = []
    for kill_at in range(1, 60):
        folder = tmp_path / f"k{kill_at}"
        folder.mkdir()
        (folder / "data.jsonl").write_bytes(OLD)
        status = _run_killed(folder, kill_at)
        data = (folder / "data.jsonl").read_bytes()
        assert data in (OLD, NEW), (kill_at, data)
        bak = folder / "data.jsonl.bak"
        assert not bak.exists() or bak.read_bytes() == OLD, kill_at
        if status != -signal.SIGKILL:
            assert status == 0 and data == NEW and bak.read_bytes() == OLD
            assert _temp_files(folder) == []
            break
        killed_at.append((kill_at, "new" if data == NEW else "old", bak.exists()))
        monkeypatch.chdir(folder)
        assert main(ARGS) == 0, kill_at  # the rerun recovers
        capsys.readouterr()
        assert (folder / "data.jsonl").read_bytes() == NEW and bak.read_bytes() == OLD, kill_at
        assert _temp_files(folder) == [], kill_at
    else:
        pytest.fail("fix --in-place never finished")
    # the write path has several steps, killed both before and after the switch to the new file
    print("kill points:", killed_at)
    assert len(killed_at) >= 6, killed_at
    assert {state for _, state, _ in killed_at} == {"old", "new"}, killed_at
