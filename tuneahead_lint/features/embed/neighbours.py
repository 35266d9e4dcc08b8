"""Nearest other row of every row of unit vectors, exact or by an IVF
search, block by block through a block map. It was the static candidate
search of main's first cascade (nearest static neighbour >= 0.9 or the
closest 20%); the cascade now searches candidate pairs
(:func:`~.cascade.candidate_pairs`), so the lint does not call it; its
recall is measured by ``benchmarks/bench_static_index.py``.

Up to ``exact_max`` rows the search is exact (brute force, blocks of
:data:`BLOCK` query rows). Beyond, it is an inverted-file search (IVF):
seeded spherical k-means (faiss) cuts the space into ``nlist`` lists, each
row lives in the list of its nearest centroid and is compared with the rows
of the lists of its ``nprobe`` nearest centroids, by matrix products list by
list. A row's approximate value is a maximum over a subset of the rows, so
never above the exact one (up to float rounding); recall against the exact search is measured by
``benchmarks/bench_static_index.py``.

Both searches run block by block through a :data:`~.blocks.BlockMap`
(this process, or Ray tasks with ``--ray-address``); blocks are fixed by the
data, so the result does not depend on where or on how many workers they
run. faiss is imported inside the functions.
"""

from __future__ import annotations

import math

import numpy as np

from tuneahead_lint.features.embed.blocks import BlockMap, local_map

BLOCK = 4096  # query rows per block of the exact search
LISTS_PER_TASK = 64  # inverted lists per block of the IVF search
STATIC_EXACT_MAX = 100_000
NPROBE = 16
_SIMS_BUDGET = 1 << 24  # floats of one similarity block (64 MB)


def nearest_other(x: np.ndarray, exact_max: int = STATIC_EXACT_MAX, nprobe: int = NPROBE, seed: int = 0,
                  mapper: BlockMap = local_map) -> np.ndarray:
    """Cosine of each row to its nearest other row (-1 when alone): exact up
    to ``exact_max`` rows, IVF beyond."""
    x = np.ascontiguousarray(x, np.float32)
    if len(x) < 2:
        return np.full(len(x), -1.0, np.float32)
    if len(x) <= exact_max:
        return np.concatenate(mapper(_exact_block, range(0, len(x), BLOCK), x))
    return ivf_nearest_other(x, nprobe, seed, mapper)


def search_method(n: int, exact_max: int = STATIC_EXACT_MAX, nprobe: int = NPROBE) -> str:
    """What :func:`nearest_other` runs for ``n`` rows (for the report)."""
    return "exact" if n <= exact_max else f"ivf(nlist={n_lists(n)},nprobe={min(nprobe, n_lists(n))})"


def _exact_block(start: int, x: np.ndarray) -> np.ndarray:
    """Second-best cosine (the best is the row itself or a copy) of the rows
    ``start`` .. ``start + BLOCK`` against every row. numpy's matrix
    product, not faiss: faiss's result moves in the last bit with its
    thread count, numpy's does not (a Ray worker runs one thread)."""
    q = x[start:start + BLOCK]
    top = np.full((len(q), 2), -np.inf, np.float32)
    step = max(2, _SIMS_BUDGET // BLOCK)
    for first in range(0, len(x), step):
        sims = np.concatenate([top, q @ x[first:first + step].T], axis=1)
        top = np.partition(sims, sims.shape[1] - 2, axis=1)[:, -2:]
    return top.min(axis=1)


def n_lists(n: int) -> int:
    """Inverted lists for ``n`` rows: 4 sqrt(n) (4,000 at 1M), at most n / 39
    (faiss k-means wants 39 training rows per centroid)."""
    return max(1, min(n // 39, round(4 * math.sqrt(n))))


def ivf_lists(x: np.ndarray, nprobe: int, seed: int) -> np.ndarray:
    """(n, nprobe) list ids per row, nearest centroid first; the seeded
    k-means trains on at most 64 rows per list."""
    import faiss

    n, d = x.shape
    nlist = n_lists(n)
    rng = np.random.default_rng(seed)
    train = x[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
    km = faiss.Kmeans(d, nlist, niter=10, seed=seed, spherical=True, verbose=False)
    km.train(train)
    _, probes = faiss.knn(x, km.centroids, min(nprobe, nlist), faiss.METRIC_INNER_PRODUCT)
    return probes


def _csr(keys: np.ndarray, rows: np.ndarray, nlist: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by key (ascending within a key) and the group bounds."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(nlist + 1))
    return rows[order], bounds


def ivf_nearest_other(x: np.ndarray, nprobe: int, seed: int, mapper: BlockMap = local_map) -> np.ndarray:
    """Approximate :func:`nearest_other`: the best cosine among the rows of
    the ``nprobe`` lists nearest to each row (the row itself included, so
    the second best is the nearest other row)."""
    probes = ivf_lists(x, nprobe, seed)
    nlist = n_lists(len(x))
    members = _csr(probes[:, 0], np.arange(len(x)), nlist)
    queries = _csr(probes.ravel(), np.repeat(np.arange(len(x)), probes.shape[1]), nlist)
    parts = mapper(_ivf_block, range(0, nlist, LISTS_PER_TASK), x, *members, *queries)
    rows, first, second = (np.concatenate(p) for p in zip(*parts))
    return _second_best(len(x), np.concatenate([rows, rows]), np.concatenate([first, second]))


def _ivf_block(start: int, x: np.ndarray, m_rows: np.ndarray, m_bounds: np.ndarray,
               q_rows: np.ndarray, q_bounds: np.ndarray):
    """(query rows, best, second best) of lists ``start`` .. ``start + LISTS_PER_TASK``."""
    out = [_list_top2(x, m_rows[m_bounds[k]:m_bounds[k + 1]], q_rows[q_bounds[k]:q_bounds[k + 1]])
           for k in range(start, min(start + LISTS_PER_TASK, len(m_bounds) - 1))]
    return tuple(np.concatenate(p) for p in zip(*out)) if out else (np.zeros(0, np.int64),) + \
        (np.zeros(0, np.float32),) * 2


def _list_top2(x: np.ndarray, members: np.ndarray, queries: np.ndarray):
    """Best and second-best cosine of each query row among ``members``."""
    top = np.full((len(queries), 2), -np.inf, np.float32)
    if len(members) and len(queries):
        xm = x[members]
        step = max(1, _SIMS_BUDGET // len(members))
        for s in range(0, len(queries), step):
            sims = x[queries[s:s + step]] @ xm.T
            if len(members) > 1:
                sims = np.partition(sims, len(members) - 2, axis=1)[:, -2:]
                top[s:s + step] = sims[:, ::-1]
            else:
                top[s:s + step, 0] = sims[:, 0]
    return queries, top[:, 0], top[:, 1]


def _second_best(n: int, rows: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Per row, the second-highest of its ``sims`` (-1 when it has fewer than two)."""
    order = np.lexsort((-sims, rows))
    rows, sims = rows[order], sims[order]
    starts = np.searchsorted(rows, np.arange(n))
    counts = np.diff(np.append(starts, len(rows)))
    out = np.full(n, -1.0, np.float32)
    has = counts >= 2
    out[has] = sims[starts[has] + 1]
    return np.where(np.isfinite(out), out, -1.0).astype(np.float32)
