"""Content-addressed cache for per-text model outputs (embeddings, perplexities).

One SQLite file, ``<cache_root>/features.sqlite``, table ``entries(ns, key,
value)``. ``ns`` names the producer: a sha256 over the model id and every
parameter that changes the numbers (see :func:`namespace`); ``key`` is the
sha256 of the text; ``value`` is a float16 (embeddings) or float64
(perplexity statistics) vector. Writes are transactions (atomic: a killed run
leaves whole rows or none) and WAL mode lets concurrent runs read while one
writes. A changed model, backend or truncation length is a different ``ns``,
so stale numbers are never returned.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
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
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(root / "features.sqlite"), timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Cached vectors for those keys that are present."""
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
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


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
