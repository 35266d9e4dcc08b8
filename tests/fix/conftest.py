"""Planted sets (tests/fixtures/fix, see make_planted.py) and helpers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tuneahead_lint.cli import main
from tuneahead_lint.config import Config
from tuneahead_lint.fix import FixOptions, run_fix
from tuneahead_lint.readers.containers import pieces
from tuneahead_lint.ruleset.registry import load_rules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PLANTED = FIXTURES / "fix"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "instruct"
SEMANTIC_RULES = ("TA201", "TA202")  # need embeddings


def truth(name: str) -> list[dict]:
    """The planted records of ``name`` (see make_planted.py)."""
    stem = name.rsplit(".", 1)[0]
    return json.loads((PLANTED / f"{stem}.truth.json").read_text(encoding="utf-8"))


def expected(name: str, semantic: bool) -> dict[int, tuple[str, str]]:
    """record number -> (action, rule id) that fix must log."""
    return {t["record"]: (t["action"], t["rule"]) for t in truth(name)
            if semantic or t["rule"] not in SEMANTIC_RULES}


def logged(actions) -> dict[int, tuple[str, str]]:
    """record number -> (action, rule id) as fix logged it."""
    return {a.record: (a.action, a.rule_id) for a in actions}


def expected_output(name: str, semantic: bool) -> bytes:
    """The fixed file the truth implies: planted drops left out, stripped
    records back to their original bytes, everything else as it is."""
    fate = {t["record"]: t for t in truth(name) if semantic or t["rule"] not in SEMANTIC_RULES}
    with (PLANTED / name).open("rb") as fh:
        raws = [p.raw for p in pieces(name, fh)]
    kept = [fate[i]["original"].encode() if fate.get(i, {}).get("action") == "strip" else raw
            for i, raw in enumerate(raws, 1) if fate.get(i, {}).get("action") != "drop"]
    if name.endswith(".jsonl"):
        return b"".join(raw + b"\n" for raw in kept)
    return b"[" + b", ".join(kept) + b"]"


def source_slice(name: str) -> bytes:
    """The clean real slice a planted set was cut from (needs the shared data)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_planted", PLANTED / "make_planted.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.source_slice(name, SHARED)


needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/instruct")


def copy_fixture(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copyfile(PLANTED / name, dest)
    return dest


def fix(paths, relint: bool = False, **options):
    """run_fix with default config and rules; ``output``/``dry_run``/``in_place`` pass through."""
    where = {k: options.pop(k) for k in ("output", "dry_run", "in_place") if k in options}
    return run_fix([str(p) for p in paths], FixOptions(**options), Config(), load_rules(),
                   relint=relint, **where)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def state(path: Path) -> tuple[bytes, int]:
    """(bytes, mtime in ns): what "not modified" compares."""
    return path.read_bytes(), os.stat(path).st_mtime_ns


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory):
    """One embedding cache for the slow tests of this session."""
    old = os.environ.get("TUNEAHEAD_CACHE")
    os.environ["TUNEAHEAD_CACHE"] = str(tmp_path_factory.mktemp("tuneahead-cache"))
    yield
    if old is None:
        os.environ.pop("TUNEAHEAD_CACHE", None)
    else:
        os.environ["TUNEAHEAD_CACHE"] = old
