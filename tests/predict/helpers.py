"""Shared by the predict tests: where the committed meta-dataset is and
the LightGBM settings its few rows need."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
META_CANDIDATES = ("data/meta/gpu-lease-converged.csv", "data/meta/meta.csv")
MIN_ROWS = 20  # enough recipes for grouped folds
# Fewer trees and folds than the shipped model, for test time.
SMALL = {"n_estimators": 60, "cv_folds": 5}
FAST = ["--n-estimators", "60", "--cv-folds", "5"]


def committed_meta_csv() -> Path | None:
    if os.environ.get("TUNEAHEAD_TEST_META_CSV"):  # run the tests on another meta-dataset
        return Path(os.environ["TUNEAHEAD_TEST_META_CSV"])
    for rel in META_CANDIDATES:
        if (ROOT / rel).is_file():
            return ROOT / rel
    found = sorted((ROOT / "data" / "meta").glob("*.csv")) if (ROOT / "data" / "meta").is_dir() else []
    return found[0] if found else None
