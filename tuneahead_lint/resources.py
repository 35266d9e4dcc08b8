"""Locate the data folders shipped beside the package (``rules/``, ``models/``).

In a source checkout they sit next to ``tuneahead_lint/``; in a wheel they are
force-included under ``tuneahead_lint/_data/``.
"""

from __future__ import annotations

from pathlib import Path


def data_dir(name: str) -> Path:
    """Path of the top-level ``name`` folder (``rules`` or ``models``)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_data" / name, here.parent / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"{name}/ directory not found next to tuneahead_lint")
