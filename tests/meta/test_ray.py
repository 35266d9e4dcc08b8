"""Ray path: a local Ray cluster on CPU runs the tiny preset into the store."""

from __future__ import annotations

import sqlite3

import pytest

from tests.meta.conftest import EVAL, INSTRUCT
from tuneahead_lint.cli import main

ray = pytest.importorskip("ray", reason="pip install 'tuneahead-lint[ray]'")


@pytest.mark.slow
def test_local_ray_cluster_builds_and_resumes(tmp_path, tiny_model_dir, capsys, monkeypatch):
    # the Ray workers import the package and the tests' tiny model by path
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    store = tmp_path / "m.sqlite"
    args = ["meta", "build", "--preset", "tiny", "--store", str(store), "--base-model", tiny_model_dir,
            "--data-dir", str(INSTRUCT), "--eval-dir", str(EVAL), "--features", "none",
            "--ray-address", "local", "--workers", "2"]
    try:
        assert main(args) == 0, capsys.readouterr().err
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
            assert db.execute("SELECT COUNT(DISTINCT worker) FROM runs").fetchone()[0] >= 1
        assert main(args) == 0
        assert "0 to run" in capsys.readouterr().err
    finally:
        ray.shutdown()
