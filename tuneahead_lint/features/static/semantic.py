"""Embedding-space descriptors: near-duplicates, outliers, prompt/response
similarity and response diversity (all-MiniLM-L6-v2 by default).

A record's vector is the normalised sum of its prompt and response vectors,
so two records are near-duplicates only when both halves are close.
"""

from __future__ import annotations

import numpy as np

from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.types import Measure


def near_dup_ratio(c: Corpus) -> Measure:
    """Share of records a dedup would drop: sum over clusters of (size - 1),
    divided by the record count. Clusters are complete-linkage: every two
    members have cosine >= ``dup_threshold``."""
    if not len(c):
        return Measure(float("nan"))
    clusters = c.clusters
    dropped = sum(len(k.members) - 1 for k in clusters)
    biggest = sorted(clusters, key=lambda k: (-len(k.members), k.members[0]))
    search = c.stats["search"]
    where = search["method"] + (f", recall {search['recall']:.3f}" if "recall" in search else "")
    return Measure(dropped / len(c), c.refs_at([k.members[0] for k in biggest]),
                   f"{len(clusters)} clusters, {dropped} removable records "
                   f"(cosine >= {c.cfg.dup_threshold}, {where})")


def _sampled(c: Corpus) -> str:
    """'' for the exact computation, else the sample clause of a detail."""
    if not c.cascade:
        return ""
    return f"seeded sample of {len(c.semantic_rows)} of {len(c)} records"


def _outlier_measure(c: Corpus, scores: np.ndarray, label: str) -> Measure:
    if not len(c):
        return Measure(float("nan"))
    from tuneahead_lint.features.embed.cascade import share_se

    rows = np.flatnonzero(scores > c.cfg.outlier_sigma)
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    detail = f"{len(rows)} records with {label} > {c.cfg.outlier_sigma}"
    if c.cascade:
        se = share_se(len(rows), len(scores), len(c))
        detail += f" in a {_sampled(c)}, SE {se:.4f}"
    return Measure(len(rows) / len(scores), c.refs_at(c.semantic_rows[rows]), detail)


def embedding_outlier_ratio(c: Corpus) -> Measure:
    """Share of records whose distance to the mean record vector is more than
    ``outlier_sigma`` standard deviations above the mean distance."""
    _, z, _ = c.outlier_scores
    return _outlier_measure(c, z, "z")


def embedding_outlier_ratio_robust(c: Corpus) -> Measure:
    """As :func:`embedding_outlier_ratio` with median and MAD (x1.4826)
    instead of mean and standard deviation: not masked by the outliers."""
    _, _, robust = c.outlier_scores
    return _outlier_measure(c, robust, "robust z")


def io_semantic_similarity(c: Corpus) -> Measure:
    """Mean cosine between each prompt and its response."""
    if not len(c):
        return Measure(float("nan"))
    from tuneahead_lint.features.embed.cascade import mean_se

    v = c.sample_vectors
    sims = np.einsum("ij,ij->i", v.prompt, v.response)
    refs = c.refs_at(c.semantic_rows[np.argsort(sims, kind="stable")])
    if not c.cascade:
        return Measure(float(sims.mean()), refs, "least related prompt/response pairs as evidence")
    mean, se = mean_se(sims.astype(np.float64), len(c))
    c.samples["io_semantic_similarity"] = len(sims)
    return Measure(mean, refs, f"{_sampled(c)}, SE {se:.4f}; least related pairs as evidence")


def output_semantic_diversity(c: Corpus) -> Measure:
    """Mean pairwise cosine distance between responses, over all pairs i != j,
    computed exactly in O(n): mean cos = (|sum v|^2 - n) / (n (n - 1))."""
    r = c.sample_vectors.response
    n = len(r)
    if n < 2:
        return Measure(float("nan"), detail="needs 2 records")
    c.samples["output_semantic_diversity"] = n
    if c.cascade:
        from tuneahead_lint.features.embed.cascade import diversity_se

        value, se = diversity_se(r, len(c))
        return Measure(value, detail=f"{_sampled(c)}, SE {se:.4f}")
    total = r.sum(axis=0, dtype=np.float64)
    self_sim = float(np.einsum("ij,ij->", r, r, dtype=np.float64))
    mean_cos = (float(total @ total) - self_sim) / (n * (n - 1))
    return Measure(1.0 - mean_cos, detail=f"exact over {n * (n - 1) // 2} pairs")
