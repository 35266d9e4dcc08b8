"""Probe result cache: one JSON file per key under ``cache_root()/probe/``.

The key is the sha256 of the sorted-key JSON of everything that determines
the result (data hash, model, hyperparameters, budget, code version).
Writes are atomic (temp file + ``os.replace``), so a reader never sees half a
file and concurrent writers of the same key are harmless.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tuneahead_lint.atomic import write_atomic
from tuneahead_lint.basemodel import cache_root


def make_key(parts: dict[str, Any]) -> str:
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _path(key: str) -> Path:
    return cache_root() / "probe" / f"{key}.json"


def load(key: str) -> dict[str, Any] | None:
    """The stored object, or None when absent or unreadable."""
    try:
        return json.loads(_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(key: str, obj: dict[str, Any]) -> Path:
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(obj, sort_keys=True))
    return path
