"""Similarity search over unit vectors: near-duplicate pairs, clusters, outliers.

Pairs: every (i, j) with cosine >= threshold. Up to ``EXACT_MAX`` vectors the
search is exact (faiss ``IndexFlatIP`` range search). Beyond, an inverted-file
join (:func:`_ivf_join`: faiss spherical k-means lists, each row in its
``assign`` nearest lists, pairs searched inside each list) finds them
approximately; :func:`pair_recall` measures its recall against exact search
on a seeded sample of queries, and the report carries it.

Clusters (:func:`clusters_from_pairs`) are complete-linkage cliques grown
greedily from leaders in record order: **every two members of a cluster have
cosine >= threshold** (the cluster diameter is bounded; A~B and B~C never put A
and C together unless A~C). The leader (earliest record) is the kept
representative. faiss is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuneahead_lint.features.embed.blocks import BlockMap, local_map

EXACT_MAX = 50_000
LIST_SIZE = 2000  # rows per inverted list (with multi-assignment)
_QUERY_BLOCK = 4096
_JOIN_BLOCK = 512  # rows per block of the in-list join
_LISTS_PER_TASK = 32  # inverted lists per block of the join (a Ray task with --ray-address)


@dataclass(frozen=True, slots=True)
class Pairs:
    """Similar pairs with ``i < j`` (int64 arrays) and their cosine (float32).

    ``method`` is ``exact`` or ``ivf-join(nlist=..,assign=..)``."""

    i: np.ndarray
    j: np.ndarray
    sim: np.ndarray
    method: str


def similar_pairs(x: np.ndarray, threshold: float, exact_max: int = EXACT_MAX,
                  assign: int = 2, seed: int = 0, mapper: BlockMap = local_map) -> Pairs:
    """All pairs of rows of ``x`` (n, d float32, unit norm) with cosine >=
    ``threshold``: exact up to ``exact_max`` rows, an IVF join beyond, whose
    lists ``mapper`` joins (this process, or Ray tasks: same pairs)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if len(x) > exact_max:
        return _ivf_join(x, threshold, assign, seed, mapper)
    i, j, s = _range_pairs(_flat_index(x), x, threshold)
    return Pairs(i, j, s, "exact")


def _flat_index(x: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    return index


def _ivf_join(x: np.ndarray, threshold: float, assign: int, seed: int, mapper: BlockMap = local_map) -> Pairs:
    """Approximate pairs: spherical k-means (faiss) cuts the space into
    inverted lists of about ``LIST_SIZE`` rows; every row joins the lists of
    its ``assign`` nearest centroids; pairs are searched inside each list by
    blocked matrix products (BLAS speed, unlike per-query IVF scans). A pair
    is found when both rows share a list; recall is measured, not assumed."""
    import faiss

    n, d = x.shape
    nlist = max(16, (assign * n) // LIST_SIZE)
    rng = np.random.default_rng(seed)
    train = x[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
    km = faiss.Kmeans(d, nlist, niter=10, seed=seed, spherical=True, verbose=False)
    km.train(train)
    quantizer = faiss.IndexFlatIP(d)
    quantizer.add(km.centroids)
    _, lists = quantizer.search(x, assign)
    lists = _inverted_lists(lists)
    groups = [lists[k:k + _LISTS_PER_TASK] for k in range(0, len(lists), _LISTS_PER_TASK)]
    found = [part for done in mapper(_join_lists, groups, x, threshold) for part in done]
    i, j, s = (np.concatenate(part) for part in zip(*found)) if found else (np.zeros(0, np.int64),) * 3
    i, j, s = _canonical(i, j, s.astype(np.float32))
    return Pairs(i, j, s, f"ivf-join(nlist={nlist},assign={assign})")


def _inverted_lists(lists: np.ndarray) -> list[np.ndarray]:
    """Row ids per list (ascending), from each row's (assign,) list ids."""
    flat = lists.ravel()
    rows = np.repeat(np.arange(len(lists)), lists.shape[1])
    order = np.argsort(flat, kind="stable")
    flat, rows = flat[order], rows[order]
    cuts = np.flatnonzero(np.diff(flat)) + 1
    return [m for m in np.split(rows, cuts) if len(m) > 1]


def _join_lists(group: list[np.ndarray], x: np.ndarray, threshold: float) -> list:
    """One block of the join: the pairs inside each list of ``group``."""
    return [_join_list(x, members, threshold) for members in group]


def _join_list(x: np.ndarray, members: np.ndarray, threshold: float):
    """Pairs inside one inverted list (``members`` ascending): each block of
    rows against itself and the rows after it only, so the upper triangle
    of the similarity matrix is computed (about half the FLOPs of the full
    square) in cache-sized pieces."""
    xm = x[members]
    out_i, out_j, out_s = [], [], []
    for start in range(0, len(members), _JOIN_BLOCK):
        sims = xm[start:start + _JOIN_BLOCK] @ xm[start:].T
        r, c = np.nonzero(sims >= threshold)
        keep = r < c  # column c is row start + c: strictly after row start + r
        r, c = r[keep], c[keep]
        out_i.append(members[start + r])
        out_j.append(members[start + c])
        out_s.append(sims[r, c])
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_s)


def _range_pairs(index, x: np.ndarray, threshold: float, rows: np.ndarray | None = None):
    """Pairs (i < j) found by range-searching ``rows`` (default: all) of x."""
    rows = np.arange(len(x)) if rows is None else rows
    # faiss keeps results with inner product > radius; step just below threshold.
    radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
    found_i, found_j, found_s = [], [], []
    for start in range(0, len(rows), _QUERY_BLOCK):
        q = rows[start:start + _QUERY_BLOCK]
        lims, sims, ids = index.range_search(x[q], radius)
        src = np.repeat(q, np.diff(lims).astype(np.int64))
        keep = (ids != src) & (sims >= threshold)
        found_i.append(src[keep])
        found_j.append(ids[keep])
        found_s.append(sims[keep])
    i = np.concatenate(found_i).astype(np.int64) if found_i else np.zeros(0, np.int64)
    j = np.concatenate(found_j).astype(np.int64) if found_j else np.zeros(0, np.int64)
    s = np.concatenate(found_s).astype(np.float32) if found_s else np.zeros(0, np.float32)
    return _canonical(i, j, s)


def _canonical(i: np.ndarray, j: np.ndarray, s: np.ndarray):
    """Each unordered pair once, as (min, max), sorted."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    if len(lo) == 0:
        return lo, hi, s
    order = np.lexsort((hi, lo))
    lo, hi, s = lo[order], hi[order], s[order]
    first = np.ones(len(lo), bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[first], hi[first], s[first]


def pair_recall(x: np.ndarray, pairs: Pairs, threshold: float, queries: int = 2000,
                seed: int = 0) -> tuple[float, int, int]:
    """Recall of ``pairs`` against exact search for a seeded sample of query
    rows: (recall, exact pairs touching the sample, sample size). Recall is
    1.0 when the sample touches no exact pair. The exact side indexes only
    the sample and streams ``x`` past it, so no second copy of ``x`` is made."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(x), size=min(len(x), queries), replace=False))
    sample = _flat_index(np.ascontiguousarray(x[rows], np.float32))
    radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
    ti, tj = [], []
    for start in range(0, len(x), _QUERY_BLOCK):
        block = np.ascontiguousarray(x[start:start + _QUERY_BLOCK], np.float32)
        lims, sims, ids = sample.range_search(block, radius)
        src = start + np.repeat(np.arange(len(block)), np.diff(lims).astype(np.int64))
        hit = rows[ids]
        keep = (hit != src) & (sims >= threshold)
        ti.append(np.minimum(src[keep], hit[keep]))
        tj.append(np.maximum(src[keep], hit[keep]))
    exact = set(zip(np.concatenate(ti).tolist(), np.concatenate(tj).tolist()))
    if not exact:
        return 1.0, 0, len(rows)
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    return len(exact & found) / len(exact), len(exact), len(rows)


@dataclass(frozen=True, slots=True)
class Cluster:
    """Row indices (leader first, then ascending), min and max pairwise cosine."""

    members: tuple[int, ...]
    min_sim: float
    max_sim: float


def clusters_from_pairs(x: np.ndarray, pairs: Pairs, threshold: float,
                        rank: np.ndarray | None = None) -> list[Cluster]:
    """Greedy complete-linkage clusters of the similar pairs.

    Leaders are visited in ``rank`` order (default: row order; pass the
    (path, line) rank for a deterministic representative). A leader takes its
    unassigned neighbours, most similar first, each only if its cosine to
    every member already taken is >= ``threshold`` (checked on the vectors,
    so pairs an approximate index missed cannot slip a member in)."""
    n = len(x)
    rank = np.arange(n) if rank is None else np.asarray(rank)
    neighbours = _adjacency(pairs, rank)
    assigned = np.zeros(n, bool)
    out = []
    for leader in sorted(neighbours, key=lambda r: rank[r]):
        if assigned[leader]:
            continue
        members, lo, hi = _grow(x, leader, neighbours[leader], assigned, threshold)
        if len(members) > 1:
            assigned[members] = True
            tail = sorted(members[1:], key=lambda r: rank[r])
            out.append(Cluster((leader, *tail), lo, hi))
    return out


def _adjacency(pairs: Pairs, rank: np.ndarray) -> dict[int, list[int]]:
    """Neighbours of each row, most similar first, ties by rank."""
    if len(pairs.i) == 0:
        return {}
    src = np.concatenate([pairs.i, pairs.j])
    dst = np.concatenate([pairs.j, pairs.i])
    sim = np.concatenate([pairs.sim, pairs.sim])
    order = np.lexsort((rank[dst], -sim, src))
    src, dst = src[order], dst[order]
    cuts = np.flatnonzero(np.diff(src)) + 1
    return {int(s[0]): d.tolist() for s, d in zip(np.split(src, cuts), np.split(dst, cuts)) if len(s)}


def _grow(x: np.ndarray, leader: int, candidates: list[int], assigned: np.ndarray,
          threshold: float) -> tuple[list[int], float, float]:
    members = [leader]
    lo, hi = 1.0, -1.0
    for c in candidates:
        if assigned[c]:
            continue
        sims = x[members] @ x[c]
        if sims.min() >= threshold:
            members.append(c)
            lo, hi = min(lo, float(sims.min())), max(hi, float(sims.max()))
    return members, lo, hi


def outlier_scores(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: Euclidean distance to the mean vector, its z-score, and its
    robust z-score ((d - median) / (1.4826 * MAD))."""
    if len(x) == 0:
        return _scores(np.zeros(0))
    return _scores(np.linalg.norm(x - x.mean(axis=0), axis=1).astype(np.float64))


def knn_distances(x: np.ndarray, k: int) -> np.ndarray:
    """Cosine distance (1 - cosine) of each row to its ``k``-th nearest other
    row (exact, faiss inner-product search); ``k`` is capped at n - 1. A
    tight group of fewer than ``k`` similar rows stays far from its k-th
    neighbour, so it cannot make itself look dense."""
    import faiss

    n = len(x)
    if n < 2:
        return np.zeros(n)
    k = min(k, n - 1)
    xs = np.ascontiguousarray(x, dtype=np.float32)
    index = faiss.IndexFlatIP(xs.shape[1])
    index.add(xs)
    out = np.empty(n)
    for start in range(0, n, _QUERY_BLOCK):
        sims, _ = index.search(xs[start:start + _QUERY_BLOCK], k + 1)
        out[start:start + _QUERY_BLOCK] = 1.0 - sims[:, k]  # column 0 is the row itself (or a copy)
    return np.clip(out, 0.0, 2.0)


def local_outlier_scores(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: distance to the k-th nearest neighbour, its z-score and its
    robust z-score (median / 1.4826 MAD), as :func:`outlier_scores`."""
    return _scores(knn_distances(x, k))


def _scores(dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(dist) == 0:
        return dist, dist, dist
    std = dist.std()
    z = (dist - dist.mean()) / std if std > 0 else np.zeros_like(dist)
    med = np.median(dist)
    mad = 1.4826 * np.median(np.abs(dist - med))
    robust = (dist - med) / mad if mad > 0 else np.zeros_like(dist)
    return dist, z, robust


def best_other_prompt(prompt: np.ndarray, response: np.ndarray, same: np.ndarray,
                      k: int = 8, max_prompt_sim: float = 0.6,
                      rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each response row: the cosine to, and row of, the most similar
    prompt among the other rows whose prompt text differs (``same[i]`` is a
    key of row i's prompt text) and whose prompt is not a paraphrase of row
    i's own (prompt-prompt cosine below ``max_prompt_sim``: a response that
    fits two ways of asking the same task is not misplaced). -1 and NaN when
    none is found among the ``k`` nearest prompts."""
    import faiss

    n = len(prompt)
    best = np.full(n, np.nan)
    row = np.full(n, -1, np.int64)
    if n < 2:
        return best, row
    index = faiss.IndexFlatIP(prompt.shape[1])
    index.add(np.ascontiguousarray(prompt, dtype=np.float32))
    sims, ids = index.search(np.ascontiguousarray(response, dtype=np.float32), min(k, n))
    for i in range(n):
        for s, j in zip(sims[i], ids[i]):
            if j >= 0 and same[j] != same[i] and float(prompt[i] @ prompt[j]) < max_prompt_sim:
                best[i], row[i] = s, j
                break
    return best, row


def local_fit_gaps(prompt: np.ndarray, response: np.ndarray, key: np.ndarray,
                   pool_prompt: np.ndarray, pool_response: np.ndarray, pool_key: np.ndarray,
                   k: int, block: int = 2048) -> np.ndarray:
    """Per row: how much worse its prompt and response fit each other than
    they fit their nearest counterparts in the pool (cosine, float64).

    The mean of the ``k`` highest cosines of the response to the pool's
    prompts and the mean of the ``k`` highest cosines of the prompt to the
    pool's responses, averaged, minus the row's own prompt/response cosine
    (cross-domain similarity local scaling, Lample et al. 2018). Pool rows
    whose prompt text is the row's own (``key``, ``pool_key``) are left out.
    A clean pair fits better than its neighbourhood (gap below 0); a
    response that answers another prompt fits like a stranger (gap above 0)."""
    out = np.full(len(prompt), np.nan)
    k = min(k, len(pool_key) - 1)
    if k < 1:
        return out
    for start in range(0, len(prompt), block):
        part = slice(start, start + block)
        other = key[part, None] != pool_key[None, :]
        by_response = _top_mean(response[part] @ pool_prompt.T, other, k)
        by_prompt = _top_mean(prompt[part] @ pool_response.T, other, k)
        own = np.einsum("ij,ij->i", prompt[part], response[part]).astype(np.float64)
        out[part] = (by_response + by_prompt) / 2 - own
    return out


def _top_mean(sims: np.ndarray, keep: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` highest kept values per row (a left-out value counts as -1)."""
    sims = np.where(keep, sims, -1.0).astype(np.float64)
    return -np.partition(-sims, k - 1, axis=1)[:, :k].mean(axis=1)
