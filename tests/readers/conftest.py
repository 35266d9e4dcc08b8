"""Helpers for reader tests: write bytes to a file and read it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneahead_lint.readers import read
from tuneahead_lint.types import Example

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instruct"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "instruct"


def checks(example: Example) -> list[str]:
    """The problem check names of one example, in order."""
    return [p.check for p in example.problems]


@pytest.fixture
def lint_file(tmp_path: Path):
    """``lint_file(name, data, fmt=None)``: write ``data`` to ``tmp_path/name``, read all examples."""
    def write_and_read(name: str, data: bytes | str, fmt: str | None = None) -> list[Example]:
        path = tmp_path / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return list(read(str(path), fmt))
    return write_and_read
