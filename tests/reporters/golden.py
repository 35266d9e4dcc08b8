"""Golden-file helper: compare output byte for byte with a stored file.

Use from any test module (``tests/`` is on ``sys.path`` under pytest's
default import mode)::

    from reporters.golden import assert_golden

    def test_report(request):
        assert_golden("report.txt", render(...), request)

Golden files live in a ``golden/`` folder next to the calling test file;
``pytest --update-golden`` rewrites them from the current output.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest


def golden_path(name: str, request: pytest.FixtureRequest) -> Path:
    """``golden/<name>`` beside the test module that asks."""
    return Path(request.path).parent / "golden" / name


def assert_golden(name: str, text: str, request: pytest.FixtureRequest) -> None:
    """Fail with a unified diff unless ``text`` equals ``golden/<name>``
    byte for byte; with ``--update-golden`` write ``text`` there instead."""
    path = golden_path(name, request)
    data = text.encode("utf-8")
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    if not path.exists():
        pytest.fail(f"{path} missing: run pytest --update-golden and review the file")
    expected = path.read_bytes()
    if expected != data:
        diff = difflib.unified_diff(expected.decode("utf-8", "replace").splitlines(keepends=True),
                                    text.splitlines(keepends=True), f"{path} (golden)", "output")
        pytest.fail(f"output differs from {path} (pytest --update-golden to accept):\n"
                    + "".join(list(diff)[:200]), pytrace=False)
