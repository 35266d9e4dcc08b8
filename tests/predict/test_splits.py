"""Seeded random and grouped splits: sizes, disjointness, groups kept whole."""

import numpy as np
import pytest

from tuneahead_lint.predict.splits import group_kfold, group_split, random_split
from tuneahead_lint.predict.table import PredictError


def test_random_split_is_a_seeded_partition():
    parts = random_split(50, (0.28, 0.14, 0.12), seed=3)
    assert [len(p) for p in parts] == [14, 7, 6, 23]
    assert sorted(np.concatenate(parts).tolist()) == list(range(50))
    again = random_split(50, (0.28, 0.14, 0.12), seed=3)
    assert all((a == b).all() for a, b in zip(parts, again))
    other = random_split(50, (0.28, 0.14, 0.12), seed=4)
    assert any((a != b).any() for a, b in zip(parts, other) if len(a) == len(b))


def test_random_split_refuses_too_few_rows():
    with pytest.raises(PredictError):
        random_split(3, (0.28, 0.14, 0.12), seed=0)


def test_group_split_keeps_groups_whole():
    groups = [f"g{i % 9}" for i in range(60)]
    parts = group_split(groups, (0.28, 0.14, 0.12), seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(60))
    seen = [{groups[i] for i in p} for p in parts]
    for a in range(4):
        assert seen[a], f"part {a} is empty"
        for b in range(a + 1, 4):
            assert not seen[a] & seen[b]


def test_group_split_needs_a_group_per_part():
    with pytest.raises(PredictError, match="too few"):
        group_split(["a", "a", "b", "b", "c"], (0.28, 0.14, 0.12), seed=0)


def test_group_kfold_keeps_groups_whole_and_balances_rows():
    groups = [f"g{i % 9}" for i in range(60)]
    fold = group_kfold(groups, 4, seed=3)
    assert set(fold.tolist()) == {0, 1, 2, 3}
    for g in set(groups):
        assert len({fold[i] for i in range(60) if groups[i] == g}) == 1
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= 7  # at most one group (6-7 rows) apart
    assert np.array_equal(fold, group_kfold(groups, 4, seed=3))
    assert set(group_kfold(["a", "b"], 5, seed=0).tolist()) == {0, 1}  # k cut to the groups
