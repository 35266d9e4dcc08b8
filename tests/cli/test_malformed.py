"""Every case of benchmarks/malformed_inputs.py: exit 0/1/2 with the expected
message, no traceback, inputs unchanged, outputs checked.

Most cases run in-process through ``main`` (fast); cases that drop
capabilities (file modes as root), need a bounded wall time (ReDoS) or load
the embedded models run as a subprocess like the benchmark does.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tuneahead_lint.cli import main

_SPEC = importlib.util.spec_from_file_location(
    "malformed_inputs", Path(__file__).resolve().parents[2] / "benchmarks" / "malformed_inputs.py")
malformed = importlib.util.module_from_spec(_SPEC)
sys.modules["malformed_inputs"] = malformed
_SPEC.loader.exec_module(malformed)

SLOW = {"corrupt feature cache and a planted pickle"}


def _param(case):
    marks = [pytest.mark.slow] if case.name in SLOW else []
    return pytest.param(case, id=case.name, marks=marks)


def test_there_are_at_least_84_cases():
    assert len(malformed.CASES) >= 84
    assert len({c.name for c in malformed.CASES}) == len(malformed.CASES)


@pytest.mark.parametrize("case", [_param(c) for c in malformed.CASES])
def test_malformed_case(case, tmp_path, capsysbinary, monkeypatch):
    folder = tmp_path / "case"
    if case.unprivileged or case.timeout != 120:
        if case.unprivileged and not malformed.file_modes_apply():
            pytest.skip("root without CAP_SETPCAP: file modes do not apply")
        try:
            result = malformed.run_case(case, folder)
        finally:
            malformed.unlock(folder)
        assert not result.problems, (result.message, result.problems)
        return
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TUNEAHEAD_CACHE", str(folder / "cache"))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    argv = case.build(folder)
    before = malformed.snapshot(folder)
    code = main(argv)
    captured = capsysbinary.readouterr()
    out, err = captured.out.decode("utf-8"), captured.err.decode("utf-8")  # strict: valid UTF-8
    found = malformed.problems_of(case, folder, before, code, out, err)
    assert not found, (malformed.message(code, out, err), found)
