"""The one atomic write path: whole or absent, links followed, devices kept."""

from __future__ import annotations

import os
import stat

import pytest

from tuneahead_lint import atomic
from tuneahead_lint.errors import OutputError, UserError


def test_replaces_whole_and_fsyncs_file_and_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_IFMT(os.fstat(fd).st_mode)), real_fsync(fd)))
    target = tmp_path / "out.txt"
    target.write_text("old")
    atomic.write_atomic(target, "new \udcff")
    assert target.read_bytes() == b"new \\udcff"
    assert stat.S_IFREG in synced and stat.S_IFDIR in synced
    assert os.listdir(tmp_path) == ["out.txt"]


def test_symlink_is_followed_and_kept(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "link.txt").symlink_to("real.txt")
    atomic.write_atomic(tmp_path / "link.txt", "new")
    assert (tmp_path / "link.txt").is_symlink() and (tmp_path / "real.txt").read_text() == "new"


def test_device_is_written_not_replaced(tmp_path):
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError:
        pytest.skip("cannot make device nodes here")
    atomic.write_atomic(null, "report")
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_temp_file_removed_on_failure(tmp_path, monkeypatch):
    def boom(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OutputError, match="out.txt: cannot write: No space left on device"):
        atomic.write_atomic(tmp_path / "out.txt", "x")
    assert os.listdir(tmp_path) == []


def test_stale_temp_of_a_dead_process_is_removed(tmp_path):
    (tmp_path / ".out.txt.tmp999999999").write_text("partial")
    (tmp_path / f".out.txt.tmp{os.getpid()}x").write_text("not ours")  # not a pid suffix: kept
    atomic.write_atomic(tmp_path / "out.txt", "new")
    assert sorted(os.listdir(tmp_path)) == [f".out.txt.tmp{os.getpid()}x", "out.txt"]


def test_errors_share_one_base():
    from tuneahead_lint.config import ConfigError
    from tuneahead_lint.readers import InputError

    assert issubclass(ConfigError, UserError) and issubclass(InputError, UserError)
    assert issubclass(OutputError, UserError)


def test_offline_unless_a_hub_id_is_asked_for(monkeypatch, tmp_path):
    from tuneahead_lint.basemodel import OFFLINE_VARS, offline_unless_hub

    for var in (*OFFLINE_VARS, "ORT_DISABLE_TELEMETRY"):
        monkeypatch.delenv(var, raising=False)
    assert not offline_unless_hub(None, "sentence-transformers/all-mpnet-base-v2")
    assert all(var not in os.environ for var in OFFLINE_VARS)
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1"
    assert offline_unless_hub(None, str(tmp_path), "all-minilm-l6-v2")
    assert all(os.environ[var] == "1" for var in OFFLINE_VARS)
