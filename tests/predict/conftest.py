"""The committed meta-dataset (real fine-tuning runs from ``meta build``) is
the training data of these tests; they skip, saying so, when it is absent
or too small."""

from __future__ import annotations

from pathlib import Path

import pytest

from predict.helpers import MIN_ROWS, committed_meta_csv


@pytest.fixture(scope="session")
def meta_csv() -> Path:
    path = committed_meta_csv()
    if path is None:
        pytest.skip("no committed meta-dataset CSV under data/meta/ (run `meta build ... --csv`)")
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    if rows < MIN_ROWS:
        pytest.skip(f"{path} has {rows} runs; these tests need at least {MIN_ROWS}")
    return path
