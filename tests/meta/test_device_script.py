"""The GPU build script in smoke mode on CPU (LEASE_SMOKE=1): build with its
own deadline, export, card, the store copied out, all under $OUT."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_build_v2_smoke(tmp_path, tiny_model_dir):
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, OUT=str(out), LEASE_SMOKE="1", LEASE_PY=sys.executable, SMOKE_BASE_MODEL=tiny_model_dir,
               LEASE_WORK=str(tmp_path / "w"), SMOKE_LIMIT="2", BUILD_LIMIT="400")
    proc = subprocess.run(["bash", "benchmarks/device/build_v2.sh"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=450)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "build rc=0" in (out / "build.log").read_text()
    assert len(list(out.iterdir())) <= 8  # what a device call can bring back (before sqlite adds -wal/-shm)
    with sqlite3.connect(out / "gpu-v2.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
        sources = {r[0] for r in db.execute("SELECT config_json FROM feature_sets WHERE kind='probe'")}
    assert all('"source": "run"' in s for s in sources)  # probe read from the run
    rows = list(csv.DictReader((out / "gpu-v2.csv").open()))
    assert len(rows) == 2 and all(r["y_indomain"] != "" for r in rows)
    assert "| y_indomain |" in (out / "CARD.md").read_text()
