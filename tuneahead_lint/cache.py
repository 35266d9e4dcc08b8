"""Content-addressed cache for per-text model outputs (embeddings, perplexities).

One SQLite file, ``<cache_root>/features.sqlite``, table ``entries(ns, key,
value)``. ``ns`` names the producer: a sha256 over the model id and every
parameter that changes the numbers (see :func:`namespace`); ``key`` is the
sha256 of the text; ``value`` is a float16 (embeddings) or float64
(perplexity statistics) vector. Writes are transactions (atomic: a killed run
leaves whole rows or none) and WAL mode lets concurrent runs read while one
writes. A changed model, backend or truncation length is a different ``ns``,
so stale numbers are never returned.

A cache file SQLite cannot read (corrupt, truncated, not a database) is moved
aside to ``features.sqlite.corrupt-<time>``, a warning names both files on
stderr, and a fresh cache is built: a cache can always be rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (ns TEXT, key BLOB, value BLOB, PRIMARY KEY (ns, key))"
_CHUNK = 900  # stays under SQLite's default limit of 999 bound parameters


def namespace(kind: str, params: dict[str, Any]) -> str:
    """Stable id for one producer: ``kind`` plus sorted JSON of ``params``."""
    blob = json.dumps({"kind": kind, **params}, sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


def text_key(text: str) -> bytes:
    """32-byte sha256 of the UTF-8 text (surrogates kept, never an error)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class VectorCache:
    """Vectors of one dtype keyed by text hash inside one namespace.

    ``root=None`` disables storage (every lookup misses, puts are dropped),
    which keeps callers free of ``if cache`` branches."""

    def __init__(self, root: Path | None, ns: str, dtype: str = "float16") -> None:
        self.ns = ns
        self.dtype = np.dtype(dtype)
        self._db: sqlite3.Connection | None = None
        self.path = None if root is None else root / "features.sqlite"
        if self.path is not None:
            root.mkdir(parents=True, exist_ok=True)
            self._db = self._guard(self._open, self._open)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=60)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            db.execute("SELECT count(*) FROM entries WHERE ns = ?", (self.ns,)).fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _guard(self, action: Callable[[], Any], retry: Callable[[], Any]) -> Any:
        """Run ``action``; when the file turns out corrupt, move it aside,
        open a fresh cache and run ``retry`` instead."""
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            if not corrupt(exc):
                raise
            self._move_aside(exc)
            return retry()

    def _move_aside(self, exc: Exception) -> None:
        if self._db is not None:
            self._db.close()
        aside = f"{self.path}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.replace(f"{self.path}{suffix}", aside + suffix)
        sys.stderr.write(f"tuneahead-lint: warning: {self.path}: unreadable feature cache ({exc}); "
                         f"moved to {aside}, rebuilding\n")
        self._db = self._open()

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Cached vectors for those keys that are present."""
        return self._guard(lambda: self._get_many(keys), dict)

    def _get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        if self._db is None:
            return found
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _CHUNK):
            part = unique[i:i + _CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT key, value FROM entries WHERE ns = ? AND key IN ({marks})",  # noqa: S608
                (self.ns, *part))
            for key, value in rows:
                found[bytes(key)] = np.frombuffer(value, dtype=self.dtype)
        return found

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors (cast to the cache dtype) in one transaction."""
        if self._db is None:
            return
        rows = [(self.ns, k, np.ascontiguousarray(v, dtype=self.dtype).tobytes()) for k, v in items]
        self._guard(lambda: self._insert(rows), lambda: self._insert(rows))

    def _insert(self, rows: list[tuple[str, bytes, bytes]]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def corrupt(exc: sqlite3.DatabaseError) -> bool:
    """True for errors that mean the file itself is damaged (not e.g. 'locked')."""
    text = str(exc).lower()
    return not isinstance(exc, sqlite3.OperationalError) or "malformed" in text or "not a database" in text


def cached_values(texts: Sequence[str], cache: VectorCache,
                  compute: Callable[[list[str]], Iterable[np.ndarray]],
                  label: str = "") -> tuple[list[np.ndarray], int]:
    """One value per text, in input order: each distinct text is looked up
    in ``cache``; ``compute`` runs once on the misses, whose values are
    stored (and returned as stored, cast to the cache dtype, so a cold and a
    warm run give identical numbers). With ``label``, a progress bar of the
    misses (on a terminal; ``compute`` calls ``progress.advance``).
    Returns the values and the miss count."""
    keys = [text_key(t) for t in texts]
    have = cache.get_many(keys)
    todo = {k: t for k, t in zip(keys, texts) if k not in have}
    if todo:
        from tuneahead_lint import progress

        with progress.task(label, len(todo) if label else 0):
            fresh = [(k, np.asarray(v, dtype=cache.dtype)) for k, v in zip(todo, compute(list(todo.values())))]
        cache.put_many(fresh)
        have.update(fresh)
    return [have[k] for k in keys], len(todo)


def distinct_rows(texts: Sequence[str]) -> tuple[list[bytes], list[str], np.ndarray]:
    """The distinct texts (keys and texts, in order of first use) and, per
    input text, its row among them."""
    index: dict[bytes, int] = {}
    keys, firsts = [], []
    rows = np.empty(len(texts), np.int64)
    for k, text in enumerate(texts):
        key = text_key(text)
        row = index.get(key)
        if row is None:
            row = index[key] = len(keys)
            keys.append(key)
            firsts.append(text)
        rows[k] = row
    return keys, firsts, rows


def cached_rows(texts: Sequence[str], cache: VectorCache, compute: Callable[[list[str]], np.ndarray],
                dim: int, dtype: Any = np.float32, chunk: int = 262_144) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cached_values` for fixed-width vectors, without a Python
    object per text: a ``(distinct texts, dim)`` matrix of ``dtype`` filled
    in place from ``cache`` and from ``compute`` on the misses (``chunk``
    misses at a time, in order of first use, stored as the cache dtype), and
    the row of that matrix for each input text."""
    keys, firsts, rows = distinct_rows(texts)
    out = np.empty((len(keys), dim), dtype)
    missing: list[int] = []
    for start in range(0, len(keys), chunk):
        part = keys[start:start + chunk]
        have = cache.get_many(part)
        for at, key in enumerate(part, start):
            if key in have:
                out[at] = have[key]
            else:
                missing.append(at)
    for start in range(0, len(missing), chunk):
        todo = missing[start:start + chunk]
        values = np.asarray(compute([firsts[i] for i in todo]), cache.dtype)
        for at in range(0, len(todo), _PUT_ROWS):
            cache.put_many(zip((keys[i] for i in todo[at:at + _PUT_ROWS]), values[at:at + _PUT_ROWS]))
        out[todo] = values
    return out, rows


_PUT_ROWS = 16_384  # rows per cache transaction of cached_rows (bounds the bytes held for SQLite)
