"""Similarity search, clusters and outlier scores on synthetic vectors."""

from __future__ import annotations

import numpy as np

from tuneahead_lint.features.embed.index import (
    clusters_from_pairs,
    local_fit_gaps,
    outlier_scores,
    pair_recall,
    similar_pairs,
)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _angles(*deg: float) -> np.ndarray:
    """Unit vectors in a plane at the given angles (degrees)."""
    rad = np.radians(deg)
    return _unit(np.stack([np.cos(rad), np.sin(rad)], axis=1))


def test_chain_is_not_one_cluster() -> None:
    # A~B and B~C (cos 0.961) but A, C only cos 0.848: never one cluster.
    x = _angles(0, 16, 32)
    pairs = similar_pairs(x, 0.95)
    assert {(int(a), int(b)) for a, b in zip(pairs.i, pairs.j)} == {(0, 1), (1, 2)}
    clusters = clusters_from_pairs(x, pairs, 0.95)
    assert [c.members for c in clusters] == [(0, 1)]
    assert clusters[0].min_sim >= 0.95


def test_every_member_pair_within_threshold() -> None:
    rng = np.random.default_rng(1)
    x = _angles(*np.sort(rng.uniform(0, 60, 200)))
    clusters = clusters_from_pairs(x, similar_pairs(x, 0.99), 0.99)
    assert clusters
    for c in clusters:
        sims = x[list(c.members)] @ x[list(c.members)].T
        assert sims.min() >= 0.99 - 1e-6
        assert abs(c.min_sim - sims.min()) < 1e-5


def test_representative_is_earliest_in_rank() -> None:
    x = _angles(0, 1, 2)
    pairs = similar_pairs(x, 0.99)
    assert clusters_from_pairs(x, pairs, 0.99)[0].members == (0, 1, 2)
    rank = np.array([2, 0, 1])  # row 1 comes first in (path, line) order
    assert clusters_from_pairs(x, pairs, 0.99, rank)[0].members == (1, 2, 0)


def _planted(n: int, groups: int, seed: int = 0) -> tuple[np.ndarray, set[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    x = _unit(rng.normal(size=(n, 64)))
    truth = set()
    for g in range(groups):
        src, dst = 2 * g, n - 1 - g
        x[dst] = _unit(x[src:src + 1] + 0.05 * rng.normal(size=(1, 64)) / 8)[0]
        truth.add((src, dst))
    return x, truth


def test_exact_search_finds_planted_pairs() -> None:
    x, truth = _planted(2000, 25)
    pairs = similar_pairs(x, 0.95)
    assert pairs.method == "exact"
    assert set(zip(pairs.i.tolist(), pairs.j.tolist())) == truth


def test_ivf_search_recall_is_measured() -> None:
    x, truth = _planted(3000, 40)
    pairs = similar_pairs(x, 0.95, exact_max=1000)
    assert pairs.method.startswith("ivf-join(")
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    assert len(found & truth) / len(truth) >= 0.95
    recall, exact_pairs, queries = pair_recall(x, pairs, 0.95, queries=3000)
    assert queries == 3000 and exact_pairs == len(truth)
    assert recall == len(found & truth) / len(truth)


def test_robust_outliers_are_not_masked() -> None:
    rng = np.random.default_rng(0)
    centre = _unit(rng.normal(size=(1, 32)))
    inliers = _unit(centre + 0.3 * rng.normal(size=(90, 32)) / np.sqrt(32))
    far = _unit(rng.normal(size=(10, 32)))
    dist, z, robust = outlier_scores(np.vstack([inliers, far]))
    assert set(np.flatnonzero(robust > 3)) == set(range(90, 100))
    assert len(dist) == 100 and z.shape == robust.shape


def test_local_fit_gap_is_positive_only_for_the_stranger() -> None:
    # two topics (prompts near 0 and 100 degrees); record 5's response sits in topic 1
    prompts, responses = _angles(0, 10, 20, 90, 100, 110), _angles(2, 12, 22, 92, 102, 5)
    keys = np.arange(6)
    gaps = local_fit_gaps(prompts, responses, keys, prompts, responses, keys, k=2)
    assert gaps[5] > 1.0  # own cosine -0.26; its nearest prompts and responses ~0.97
    assert (gaps[:5] < 0.05).all()


def test_local_fit_gap_leaves_out_the_same_prompt_text_and_needs_a_pool() -> None:
    prompts, responses = _angles(0, 0, 90, 100), _angles(60, 0, 92, 102)
    apart = local_fit_gaps(prompts, responses, np.arange(4), prompts, responses, np.arange(4), k=1)
    same = np.array([0, 0, 1, 2])  # record 1 repeats record 0's prompt: not its neighbour
    together = local_fit_gaps(prompts, responses, same, prompts, responses, same, k=1)
    assert together[0] < apart[0]  # its twin's response (cosine 1) no longer counts
    one = local_fit_gaps(prompts[:1], responses[:1], same[:1], prompts[:1], responses[:1], same[:1], k=3)
    assert np.isnan(one).all()

