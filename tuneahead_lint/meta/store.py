"""The meta-dataset store: one SQLite file, append-only.

Each finished run is written in one transaction the moment it finishes, so a
crash or a killed command loses at most the runs in flight; ``build`` skips
every ``run_id`` already in ``runs``. Nothing is ever updated in place:

=============  ==============================================================
table          one row per
=============  ==============================================================
runs           finished fine-tune (spec, training measurements, times, host)
scores         (run, benchmark): acc, acc_norm, score, n, per-item correctness
baselines      (base model, suite, benchmark): the base model's scores
features       (run, feature name): value from the project's feature/probe code
feature_sets   (run, kind): that a feature computation ran (or why it failed)
metrics        (run, name): ground-truth measurements beyond the benchmark scores
               (in-domain held-out NLL of the run and of the base model, phase times)
failures       failed attempt (run_id, error, time); retried on the next build
=============  ==============================================================

WAL journal mode: readers (``meta report`` while a build runs) never block
the single writer, which is the process that schedules the runs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  config_id TEXT NOT NULL,        -- same recipe + hparams + base model + suite, any seed
  preset TEXT NOT NULL,
  spec_json TEXT NOT NULL,        -- RunSpec: rebuilds the run exactly
  recipe_id TEXT NOT NULL,
  variant TEXT NOT NULL,          -- recipe label
  seed INTEGER NOT NULL,
  base_model TEXT NOT NULL,
  suite_hash TEXT NOT NULL,
  sources_digest TEXT NOT NULL,   -- sha256 of the source files used
  records INTEGER NOT NULL,
  steps INTEGER NOT NULL,
  target_tokens INTEGER NOT NULL,
  loss_first REAL, loss_last REAL, loss_min REAL, grad_norm_max REAL,
  diverged INTEGER NOT NULL,
  build_s REAL NOT NULL, train_s REAL NOT NULL, eval_s REAL NOT NULL, total_s REAL NOT NULL,
  device TEXT NOT NULL, host TEXT NOT NULL, worker TEXT NOT NULL,
  code_version TEXT NOT NULL, torch_version TEXT NOT NULL,
  finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
  run_id TEXT NOT NULL, benchmark TEXT NOT NULL,
  acc REAL NOT NULL, acc_norm REAL NOT NULL, score REAL NOT NULL, n INTEGER NOT NULL,
  correct TEXT NOT NULL,          -- '0'/'1' per item, suite order
  PRIMARY KEY (run_id, benchmark)
);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL, name TEXT NOT NULL, value REAL,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS baselines (
  base_model TEXT NOT NULL, suite_hash TEXT NOT NULL, benchmark TEXT NOT NULL,
  acc REAL NOT NULL, acc_norm REAL NOT NULL, score REAL NOT NULL, n INTEGER NOT NULL,
  correct TEXT NOT NULL, eval_s REAL NOT NULL, device TEXT NOT NULL, finished_at REAL NOT NULL,
  PRIMARY KEY (base_model, suite_hash, benchmark)
);
CREATE TABLE IF NOT EXISTS features (
  run_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, value REAL,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS feature_sets (
  run_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, detail TEXT NOT NULL,
  seconds REAL NOT NULL, config_json TEXT NOT NULL, finished_at REAL NOT NULL,
  PRIMARY KEY (run_id, kind)
);
CREATE TABLE IF NOT EXISTS failures (
  run_id TEXT NOT NULL, spec_json TEXT NOT NULL, error TEXT NOT NULL, at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class ScoreRow:
    benchmark: str
    acc: float
    acc_norm: float
    score: float
    n: int
    correct: str
    margin: float | None = None  # mean per-item log-likelihood margin (gold minus best other choice)


class Store:
    """Append-only SQLite meta-dataset. Open one per process; writes are
    single transactions."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_DDL)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        for table in ("scores", "baselines"):
            self._add_column(table, "margin", "REAL")

    def _add_column(self, table: str, column: str, decl: str) -> None:
        """Add ``column`` to a store written before it existed (old rows: NULL)."""
        have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reads
    def done_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT run_id FROM runs")}

    def query(self, sql: str, args: Sequence = ()) -> list[sqlite3.Row]:
        with closing(self._db.cursor()) as cur:
            cur.row_factory = sqlite3.Row
            return cur.execute(sql, args).fetchall()

    def baseline(self, base_model: str, suite_hash: str) -> dict[str, ScoreRow]:
        rows = self.query("SELECT * FROM baselines WHERE base_model=? AND suite_hash=?",
                          (base_model, suite_hash))
        return {r["benchmark"]: ScoreRow(r["benchmark"], r["acc"], r["acc_norm"], r["score"], r["n"],
                                         r["correct"], r["margin"]) for r in rows}

    def feature_kinds(self, run_id: str) -> set[str]:
        return {r[0] for r in self._db.execute(
            "SELECT kind FROM feature_sets WHERE run_id=? AND status='ok'", (run_id,))}

    # -- appends (each one transaction)
    def add_run(self, run: dict, scores: Iterable[ScoreRow],
                metrics: Iterable[tuple[str, float | None]] = ()) -> None:
        """One finished run, its scores and metrics, in one transaction."""
        cols = ", ".join(run)
        marks = ", ".join("?" for _ in run)
        with self._tx():
            self._db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", tuple(run.values()))
            self._db.executemany(
                "INSERT INTO scores (run_id, benchmark, acc, acc_norm, score, n, correct, margin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run["run_id"], s.benchmark, s.acc, s.acc_norm, s.score, s.n, s.correct, s.margin)
                 for s in scores])
            self._db.executemany("INSERT INTO metrics VALUES (?, ?, ?)",
                                 [(run["run_id"], n, v) for n, v in metrics])

    def add_baseline(self, base_model: str, suite_hash: str, scores: Iterable[ScoreRow],
                     eval_s: float, device: str) -> None:
        now = time.time()
        with self._tx():
            self._db.executemany(
                "INSERT OR IGNORE INTO baselines (base_model, suite_hash, benchmark, acc, acc_norm, score, n, "
                "correct, eval_s, device, finished_at, margin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(base_model, suite_hash, s.benchmark, s.acc, s.acc_norm, s.score, s.n, s.correct,
                  eval_s, device, now, s.margin) for s in scores])

    def add_features(self, run_id: str, kind: str, values: Sequence[tuple[str, float]],
                     seconds: float, config: dict, status: str = "ok", detail: str = "") -> None:
        """Record one feature computation. A failed one (``status='error'``)
        is replaced by a later success; a success is never overwritten."""
        with self._tx():
            self._db.execute("DELETE FROM feature_sets WHERE run_id=? AND kind=? AND status!='ok'",
                             (run_id, kind))
            self._db.execute("INSERT OR IGNORE INTO feature_sets VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (run_id, kind, status, detail[:2000], seconds,
                              json.dumps(config, sort_keys=True), time.time()))
            self._db.executemany("INSERT OR IGNORE INTO features VALUES (?, ?, ?, ?)",
                                 [(run_id, kind, n, v) for n, v in values])

    def add_failure(self, run_id: str, spec_json: str, error: str) -> None:
        with self._tx():
            self._db.execute("INSERT INTO failures VALUES (?, ?, ?, ?)",
                             (run_id, spec_json, error[:4000], time.time()))

    def _tx(self):
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
