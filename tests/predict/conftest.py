"""The committed meta-dataset (real fine-tuning runs from ``meta build``) is
the training data of these tests; they skip, saying so, when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
META_CANDIDATES = ("data/meta/cpu-small.csv", "data/meta/meta.csv")
MIN_ROWS = 5  # train (2), early-stopping, calibration and test rows of a split
# The committed CPU meta-dataset holds a handful of runs: leaves of one row let the trees split.
SMALL = {"min_child_samples": 1, "n_estimators": 60, "early_stopping_rounds": 20}


def committed_meta_csv() -> Path | None:
    if os.environ.get("TUNEAHEAD_TEST_META_CSV"):  # run the tests on another meta-dataset
        return Path(os.environ["TUNEAHEAD_TEST_META_CSV"])
    for rel in META_CANDIDATES:
        if (ROOT / rel).is_file():
            return ROOT / rel
    found = sorted((ROOT / "data" / "meta").glob("*.csv")) if (ROOT / "data" / "meta").is_dir() else []
    return found[0] if found else None


@pytest.fixture(scope="session")
def meta_csv() -> Path:
    path = committed_meta_csv()
    if path is None:
        pytest.skip("no committed meta-dataset CSV under data/meta/ (run `meta build ... --csv`)")
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    if rows < MIN_ROWS:
        pytest.skip(f"{path} has {rows} runs; these tests need at least {MIN_ROWS}")
    return path
