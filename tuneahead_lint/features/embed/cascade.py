"""The semantic cascade: which records MiniLM embeds when a dataset is
larger than ``FeatureConfig.semantic_sample``.

* every record gets a static embedding (:mod:`.static`, ~100x cheaper);
* MiniLM embeds a seeded sample of ``semantic_sample`` records: the
  dataset-level features (io similarity, output diversity, centroid
  outliers) and TA202's local-density scores come from it, each with its
  standard error;
* near-duplicate candidates (:func:`dup_candidates`): records whose nearest
  static neighbour is close, absolutely or relative to the dataset; MiniLM
  embeds them and exact search among them confirms the pairs;
* mismatched-pair candidates (:func:`mismatch_candidates`): records whose
  static prompt/response cosine is low for the dataset; MiniLM rescores them
  and embeds the prompts their responses fit best (:func:`partner_rows`).

Recall of the candidates against exact all-pairs MiniLM is measured on the
14 instruction sets by ``benchmarks/bench_cascade.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tuneahead_lint.features.embed.neighbours import nearest_other


def _flat(x: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(np.ascontiguousarray(x, np.float32))
    return index


def dup_candidates(x: np.ndarray, share: float, threshold: float,
                   nearest: Callable[[np.ndarray], np.ndarray] = nearest_other) -> np.ndarray:
    """Rows (ascending) whose nearest static neighbour has cosine >=
    ``threshold``, or is among the closest ``share`` of the dataset.
    ``nearest``: each row's cosine to its nearest other row
    (:func:`~.neighbours.nearest_other`: exact, or IVF for large inputs)."""
    top = nearest(x)
    keep = top >= threshold
    ranked = np.argsort(-top, kind="stable")[:math.ceil(share * len(x))]
    keep[ranked] = True
    return np.flatnonzero(keep)


def robust_z(values: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """(v - median) / (1.4826 MAD) of ``ref`` (default: ``values``); 0 when MAD is 0."""
    ref = values if ref is None else ref
    med = float(np.median(ref)) if len(ref) else 0.0
    mad = 1.4826 * float(np.median(np.abs(ref - med))) if len(ref) else 0.0
    return (values - med) / mad if mad > 0 else np.zeros_like(values)


def mismatch_candidates(prompt: np.ndarray, response: np.ndarray, limit: float) -> np.ndarray:
    """Rows whose static prompt/response cosine has a robust z <= ``limit``."""
    own = np.einsum("ij,ij->i", prompt, response).astype(np.float64)
    return np.flatnonzero(robust_z(own) <= limit)


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
