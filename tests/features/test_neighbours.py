"""The static candidate search: exact up to ``exact_max`` rows, IVF beyond;
both the same whichever way their blocks are cut."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.conftest import planted_records
from tuneahead_lint.features.embed import neighbours
from tuneahead_lint.features.embed.static import static_encode, unit


@pytest.fixture(scope="module")
def static_records() -> np.ndarray:
    """Static record vectors of the planted alpaca_120 set, twice over with
    a word appended to each second copy (240 rows, every row has a close twin)."""
    recs, _, _ = planted_records()
    prompts = [r["instruction"] + "\n" + r["input"] for r in recs]
    prompts += [p + " please" for p in prompts]
    responses = [r["output"] for r in recs] * 2
    m = static_encode(prompts + responses)
    return unit(m[:len(prompts)] + m[len(prompts):])


def test_exact_search_is_the_brute_force_answer(static_records) -> None:
    x = static_records
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    assert np.allclose(neighbours.nearest_other(x), sims.max(axis=1), atol=1e-5)
    assert neighbours.search_method(len(x)) == "exact"


def test_ivf_finds_the_close_rows_and_never_beats_exact(static_records) -> None:
    x = static_records
    exact = neighbours.nearest_other(x)
    approx = neighbours.nearest_other(x, exact_max=0, nprobe=2)
    assert neighbours.search_method(len(x), 0, 2) == "ivf(nlist=6,nprobe=2)"
    assert np.all(approx <= exact + 1e-5)
    close = exact >= 0.9
    assert close.sum() >= 200 and np.mean(np.abs(approx[close] - exact[close]) < 1e-5) >= 0.95


def test_ivf_result_does_not_depend_on_the_blocks(static_records, monkeypatch) -> None:
    x = static_records
    one = neighbours.nearest_other(x, exact_max=0, nprobe=2, seed=5)
    monkeypatch.setattr(neighbours, "LISTS_PER_TASK", 1)
    seen: list[int] = []

    def counting_map(fn, blocks, *shared):
        seen.append(len(blocks))
        return [fn(b, *shared) for b in reversed(blocks)][::-1]

    assert np.array_equal(neighbours.nearest_other(x, exact_max=0, nprobe=2, seed=5, mapper=counting_map), one)
    assert seen == [6]
