"""The semantic cascade: which records MiniLM embeds when a dataset is
larger than ``FeatureConfig.semantic_sample``.

* every record gets a static embedding (:mod:`.static`, ~100x cheaper);
* MiniLM embeds a seeded sample of ``semantic_sample`` records: the
  dataset-level features (io similarity, output diversity, centroid
  outliers) and TA202's local-density scores come from it, each with its
  standard error;
* near-duplicate candidates (:func:`candidate_pairs`): pairs of records
  whose static vectors are close, or which share a MinHash LSH bucket
  (lexical near-duplicates); MiniLM embeds their prompts, drops the pairs
  whose prompts are not close (:func:`close_pairs`), embeds the responses of
  the rest, and exact search among those records confirms the pairs;
* mismatched-pair candidates (:func:`mismatch_candidates`): records whose
  static prompt/response cosine is low for the dataset; MiniLM rescores them
  and embeds the prompts their responses fit best (:func:`partner_rows`).

When the candidate pairs and the sample cover ``cascade_max_share`` of the
records (:func:`candidate_share`), MiniLM would embed nearly every record and
the cascade costs more than the exact path: the corpus falls back to it
(measured by ``benchmarks/bench_cascade_fallback.py``).

Recall of the candidates against exact all-pairs MiniLM is measured on the
14 instruction sets by ``benchmarks/bench_cascade.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from tuneahead_lint.features.embed.blocks import BlockMap, local_map

_BLOCK = 4096
_WORD = re.compile(r"\w+")


def _flat(x: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(np.ascontiguousarray(x, np.float32))
    return index


def nearest_other(x: np.ndarray) -> np.ndarray:
    """Cosine of each row to its nearest other row (exact; -1 when alone)."""
    if len(x) < 2:
        return np.full(len(x), -1.0, np.float32)
    index, xs = _flat(x), np.ascontiguousarray(x, np.float32)
    out = np.empty(len(x), np.float32)
    for start in range(0, len(x), _BLOCK):
        sims, _ = index.search(xs[start:start + _BLOCK], 2)
        out[start:start + _BLOCK] = sims[:, 1]  # column 0 is the row itself (or a copy)
    return out


def shingles(prompt: str, response: str, width: int = 3, words: int = 128) -> set[bytes]:
    """Word ``width``-grams (lower-cased) of the first ``words`` words of the
    prompt and of the response, each tagged by its side (MiniLM, too, reads
    both halves and only their beginnings); single words when a side is shorter."""
    out: set[bytes] = set()
    for side, text in (("p", prompt), ("r", response)):
        toks = _WORD.findall(text.lower())[:words]
        step = width if len(toks) >= width else 1
        out.update(f"{side}:{' '.join(toks[k:k + step])}".encode() for k in range(len(toks) - step + 1))
    return out


def minhash_pairs(prompts: Sequence[str], responses: Sequence[str], threshold: float = 0.5,
                  num_perm: int = 64, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows (i < j) that share a MinHash LSH bucket: lexical
    near-duplicates, estimated word 3-gram Jaccard of about ``threshold`` or
    more. datasketch computes the signatures (streamed into one
    (rows, num_perm) array) and picks the bands, as its ``MinHashLSH``;
    rows share a bucket when one band of their signatures is equal, which
    numpy finds by sorting (no Python object per row and band: 1M records
    in ~0.3 GB instead of several)."""
    from datasketch import MinHash, MinHashLSH

    bands = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = MinHash.generator((shingles(p, r) for p, r in zip(prompts, responses)), num_perm=num_perm, seed=seed)
    sig = np.empty((len(prompts), num_perm), np.uint32)
    for k, m in enumerate(hashes):
        sig[k] = m.hashvalues
    found = [band_pairs(sig[:, start:end]) for start, end in bands.hashranges]
    return merge_pairs(*[a for pair in found for a in pair]) if found else _pair_arrays([])


def band_pairs(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows (i < j) whose rows of ``band`` are equal."""
    if len(band) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = np.ascontiguousarray(band).view(np.dtype((np.void, band.dtype.itemsize * band.shape[1]))).ravel()
    order = np.argsort(keys, kind="stable")
    cuts = np.flatnonzero(keys[order][1:] != keys[order][:-1]) + 1
    groups = [g for g in np.split(order, cuts) if len(g) > 1]
    if not groups:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i, j = zip(*(_within(np.sort(g)) for g in groups))
    return np.concatenate(i), np.concatenate(j)


def _within(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.triu_indices(len(rows), 1)
    return rows[a], rows[b]


def _pair_arrays(found: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(sorted(found), np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def candidate_pairs(static: np.ndarray, cosine: float, prompts: Sequence[str], responses: Sequence[str],
                    jaccard: float, mapper: BlockMap = local_map) -> tuple[np.ndarray, np.ndarray]:
    """Near-duplicate candidate pairs (i < j, unique, sorted): static record
    cosine >= ``cosine`` or a shared MinHash bucket at ``jaccard``. Above
    ``EXACT_MAX`` records the static search is an IVF join whose lists
    ``mapper`` joins (this process, or Ray tasks: the same pairs)."""
    return merge_pairs(*candidate_parts(static, cosine, prompts, responses, jaccard, mapper))


def candidate_parts(static: np.ndarray, cosine: float, prompts: Sequence[str], responses: Sequence[str],
                    jaccard: float, mapper: BlockMap = local_map) -> tuple[np.ndarray, ...]:
    """(i, j) of the static pairs and (i, j) of the MinHash pairs of
    :func:`candidate_pairs`, not yet merged."""
    from tuneahead_lint.features.embed.index import similar_pairs

    near = similar_pairs(static, cosine, mapper=mapper)
    return (near.i, near.j, *minhash_pairs(prompts, responses, jaccard))


def merge_pairs(*parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique sorted (i, j) of pair arrays given as i1, j1, i2, j2, ..."""
    i = np.concatenate([np.asarray(p, np.int64) for p in parts[0::2]])
    j = np.concatenate([np.asarray(p, np.int64) for p in parts[1::2]])
    both = np.unique(np.stack([i, j], axis=1).reshape(-1, 2), axis=0)
    return both[:, 0], both[:, 1]


def candidate_share(parts: Sequence[np.ndarray], sample: np.ndarray, n: int) -> float:
    """Share of ``n`` records that are in a candidate pair or the sample:
    about the share whose prompts MiniLM embeds in the cascade."""
    rows = np.union1d(sample, np.concatenate([np.asarray(p, np.int64) for p in parts]))
    return len(rows) / n if n else 0.0


def pair_cosines(a: np.ndarray, b: np.ndarray, i: np.ndarray, j: np.ndarray, block: int = 65536) -> np.ndarray:
    """Cosine of ``a[i[k]]`` and ``b[j[k]]`` for each pair k (unit rows), in
    blocks, in float32 (float16 rows are widened block by block)."""
    out = np.zeros(len(i), np.float32)
    for start in range(0, len(i), block):
        out[start:start + block] = np.einsum("ij,ij->i", _wide(a[i[start:start + block]]),
                                             _wide(b[j[start:start + block]]))
    return out


def _wide(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32)


def row_cosines(a: np.ndarray, b: np.ndarray, block: int = 65536) -> np.ndarray:
    """Cosine of ``a[k]`` and ``b[k]`` for every row k (unit rows), float64, in blocks."""
    out = np.empty(len(a), np.float64)
    for start in range(0, len(a), block):
        out[start:start + block] = np.einsum("ij,ij->i", _wide(a[start:start + block]), _wide(b[start:start + block]))
    return out


def sample_density_scores(query: np.ndarray, query_rows: np.ndarray, sample: np.ndarray,
                          sample_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TA202's local-density scores against a seeded sample: per query row,
    the cosine distance to its ``k``-th nearest sample row (itself
    excluded), and its z and robust z against the sample rows' own such
    distances (as :func:`~.index.local_outlier_scores` on the sample)."""
    from tuneahead_lint.features.embed.index import knn_distances

    ref = knn_distances(sample, k).astype(np.float64)
    k = min(k, len(sample) - 1)
    if k < 1 or not len(query):
        zero = np.zeros(len(query))
        return zero, zero, zero
    sims, _ = _flat(sample).search(np.ascontiguousarray(query, np.float32), k + 1)
    col = np.where(np.isin(query_rows, sample_rows), k, k - 1)  # a sampled row finds itself first
    dist = np.clip(1.0 - sims[np.arange(len(query)), col].astype(np.float64), 0.0, 2.0)
    std = ref.std()
    z = (dist - ref.mean()) / std if std > 0 else np.zeros_like(dist)
    return dist, z, robust_z(dist, ref)


def robust_z(values: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """(v - median) / (1.4826 MAD) of ``ref`` (default: ``values``); 0 when MAD is 0."""
    ref = values if ref is None else ref
    med = float(np.median(ref)) if len(ref) else 0.0
    mad = 1.4826 * float(np.median(np.abs(ref - med))) if len(ref) else 0.0
    return (values - med) / mad if mad > 0 else np.zeros_like(values)


def mismatch_candidates(prompt: np.ndarray, response: np.ndarray, limit: float) -> np.ndarray:
    """Rows whose static prompt/response cosine has a robust z <= ``limit``."""
    return np.flatnonzero(robust_z(row_cosines(prompt, response)) <= limit)


def partner_rows(prompt: np.ndarray, response: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` static prompts nearest to each of ``rows``' responses."""
    if not len(rows) or len(prompt) < 2:
        return np.zeros(0, np.int64)
    _, ids = _flat(prompt).search(np.ascontiguousarray(response[rows], np.float32), min(k, len(prompt)))
    return np.unique(ids[ids >= 0])


def seeded_rows(n: int, k: int, seed: int) -> np.ndarray:
    """A seeded sample of ``k`` rows (ascending); every row when ``n <= k``."""
    if k <= 0 or n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def fpc(sample: int, total: int) -> float:
    """Finite-population correction: 0 when the sample is the whole set."""
    return math.sqrt(max(0.0, (total - sample) / max(total - 1, 1)))


def mean_se(values: np.ndarray, total: int) -> tuple[float, float]:
    """Mean of a simple random sample and its standard error."""
    n = len(values)
    if n < 2:
        return float(values.mean()) if n else float("nan"), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(n) * fpc(n, total))


def share_se(hits: int, sample: int, total: int) -> float:
    """Standard error of a sampled share; the share is shrunk towards 1/2 by
    one pseudo-count each side, so a sample with no hit does not claim SE 0."""
    p = (hits + 1) / (sample + 2)
    return math.sqrt(p * (1 - p) / sample) * fpc(sample, total)


def diversity_se(r: np.ndarray, total: int) -> tuple[float, float]:
    """1 - mean pairwise cosine of the sample's unit rows (a U-statistic) and
    its standard error 2 sd(h1) / sqrt(n), h1(i) = mean cosine of row i to
    the others."""
    n = len(r)
    s = r.sum(axis=0, dtype=np.float64)
    self_sim = np.einsum("ij,ij->i", r, r, dtype=np.float64)
    h1 = (r.astype(np.float64) @ s - self_sim) / (n - 1)
    mean_cos = float(h1.mean())
    return 1.0 - mean_cos, 2.0 * float(h1.std(ddof=1)) / math.sqrt(n) * fpc(n, total)
