"""Shared by the predict tests: where the committed meta-dataset is and
the LightGBM settings its few rows need."""

from __future__ import annotations

import os
from pathlib import Path

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
