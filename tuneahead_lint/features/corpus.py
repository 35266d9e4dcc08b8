"""The valid records of a dataset and the model outputs that features share.

A :class:`Corpus` computes each stage once, on first use: base-model token
counts (``tokenizer``), embeddings (``embeddings``), near-duplicate search and
outlier scores, and sampled reference perplexity (``base_model``). A feature
function reads only the attributes it needs, so the models load lazily and
a stage nobody asked for never runs. Stage times land in ``timings``.
"""

from __future__ import annotations

import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead_lint import progress
from tuneahead_lint.basemodel import model_id
from tuneahead_lint.types import Example, text_hash

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from tuneahead_lint.features.config import FeatureConfig
    from tuneahead_lint.features.embed.index import Cluster, Pairs

WORD = re.compile(r"\w+")
MAX_REFS = 10
PAIR_CANDIDATE_Z = -1.0  # TA207 z limits below 1 find nothing more


@dataclass(frozen=True, slots=True)
class Vectors:
    """Unit vectors per record: prompt, response and record
    (normalised prompt + response)."""

    prompt: np.ndarray
    response: np.ndarray
    record: np.ndarray


class Corpus:
    """Valid examples in (path, line) order plus lazily computed stages."""

    def __init__(self, examples: Sequence[Example], cfg: FeatureConfig) -> None:
        valid = sorted((e for e in examples if e.ok), key=lambda e: (e.path, e.line, e.index))
        self.examples = tuple(valid)
        self.cfg = cfg
        self.prompts = [e.prompt for e in valid]
        self.responses = [e.response for e in valid]
        self.refs = [(e.path, e.line) for e in valid]
        self.timings: dict[str, float] = {}
        self.samples: dict[str, int] = {}
        self.stats: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.examples)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage (added to ``timings``); print it when ``progress``."""
        if self.cfg.progress:
            print(f"features: {name} ({len(self)} records) ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            with progress.enabled(self.cfg.progress):
                yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def refs_at(self, rows: Sequence[int] | np.ndarray) -> tuple[tuple[str, int], ...]:
        """(path, line) of the first :data:`MAX_REFS` rows."""
        return tuple(self.refs[int(r)] for r in list(rows)[:MAX_REFS])

    @cached_property
    def content_keys(self) -> list[str]:
        """``text_hash(prompt, response)`` per record (fingerprints, not lines)."""
        return [text_hash(p, r) for p, r in zip(self.prompts, self.responses)]

    # --- records -----------------------------------------------------------------

    @cached_property
    def prompt_words(self) -> list[list[str]]:
        """Lower-cased Unicode ``\\w+`` runs of each prompt (CJK runs are not split)."""
        with self.stage("words"):
            return [WORD.findall(p.lower()) for p in self.prompts]

    @cached_property
    def response_words(self) -> list[list[str]]:
        with self.stage("words"):
            return [WORD.findall(r.lower()) for r in self.responses]

    # --- tokenizer ---------------------------------------------------------------

    @cached_property
    def token_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Base-model tokens per prompt and per response (no special tokens),
        cached per distinct text like the embeddings."""
        from tuneahead_lint.cache import VectorCache, cached_values, namespace

        with self.stage("tokenize"):
            ns = namespace("tokens", {"model": model_id(self.cfg.base_model)})
            cache = VectorCache(self.cfg.cache_path(), ns, dtype="int64")
            try:
                values, _ = cached_values(self.prompts + self.responses, cache, self._count_tokens)
            finally:
                cache.close()
            counts = np.array(values, np.int64).reshape(-1)
            return counts[:len(self)], counts[len(self):]

    def _count_tokens(self, texts: list[str]) -> list[list[int]]:
        from tuneahead_lint.basemodel import fast_tokenizer

        tok = fast_tokenizer(self.cfg.base_model)
        return [[len(e.ids)] for e in tok.encode_batch(texts, add_special_tokens=False)]

    # --- embeddings --------------------------------------------------------------

    @cached_property
    def vectors(self) -> Vectors:
        from tuneahead_lint.cache import VectorCache, namespace
        from tuneahead_lint.features.embed.embedder import Embedder, embed_texts

        with self.stage("embed"):
            emb = Embedder(self.cfg.embedder, max_tokens=self.cfg.embed_max_tokens,
                           backend=self.cfg.embed_backend, device=self.cfg.device)
            cache = VectorCache(self.cfg.cache_path(), namespace("embedding", emb.get_params()))
            try:
                mat, counts = embed_texts(self.prompts + self.responses, emb, cache)
            finally:
                cache.close()
            self.stats["embedding"] = {**emb.get_params(), **counts,
                                       "backend": getattr(emb, "backend_", "cache")}
            n = len(self)
            prompt, response = mat[:n], mat[n:]
            record = prompt + response
            record /= np.maximum(np.linalg.norm(record, axis=1, keepdims=True), 1e-12)
            return Vectors(prompt, response, record)

    @cached_property
    def pairs(self) -> Pairs:
        from tuneahead_lint.features.embed.index import pair_recall, similar_pairs

        x = self.vectors.record
        with self.stage("near-duplicates"):
            pairs = similar_pairs(x, self.cfg.dup_threshold, exact_max=self.cfg.exact_max,
                                  assign=self.cfg.ivf_assign, seed=self.cfg.seed)
            info: dict[str, Any] = {"method": pairs.method, "pairs": int(len(pairs.i))}
            if pairs.method != "exact":
                recall, exact_pairs, queries = pair_recall(
                    x, pairs, self.cfg.dup_threshold, seed=self.cfg.seed)
                info.update(recall=round(recall, 4), recall_exact_pairs=exact_pairs,
                            recall_queries=queries)
            self.stats["search"] = info
            return pairs

    @cached_property
    def clusters(self) -> list[Cluster]:
        from tuneahead_lint.features.embed.index import clusters_from_pairs

        pairs = self.pairs
        with self.stage("near-duplicates"):
            # Rows are in (path, line) order, so leaders are the earliest records.
            return clusters_from_pairs(self.vectors.record, pairs, self.cfg.dup_threshold)

    @cached_property
    def outlier_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance to mean record vector, z, robust z) per record."""
        from tuneahead_lint.features.embed.index import outlier_scores

        x = self.vectors.record
        with self.stage("outliers"):
            return outlier_scores(x)

    @cached_property
    def local_outlier_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cosine distance to the k-th nearest record, z, robust z) per
        record, k = ``outlier_k``: the evidence of TA202 and of ``fix``."""
        from tuneahead_lint.features.embed.index import local_outlier_scores

        with self.stage("outliers"):
            return local_outlier_scores(self.vectors.record, self.cfg.outlier_k)

    @cached_property
    def pair_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(cosine of each prompt and its response, its robust z-score, the
        response's best cosine to another record's prompt, that record's row
        or -1). Only records whose own cosine has a robust z at or below
        ``PAIR_CANDIDATE_Z`` are searched (the others: NaN, -1)."""
        from tuneahead_lint.features.embed.index import best_other_prompt

        v = self.vectors
        with self.stage("pairs"):
            own = np.einsum("ij,ij->i", v.prompt, v.response).astype(np.float64)
            med = float(np.median(own))
            mad = 1.4826 * float(np.median(np.abs(own - med)))
            z = (own - med) / mad if mad > 0 else np.zeros_like(own)
            keys = {p: i for i, p in enumerate(dict.fromkeys(self.prompts))}
            same = np.array([keys[p] for p in self.prompts], np.int64)
            rows = np.flatnonzero(z <= PAIR_CANDIDATE_Z)
            best, row = best_other_prompt(v.prompt, v.response, same, rows=rows)
            return own, z, best, row

    # --- base model --------------------------------------------------------------

    @cached_property
    def sample_rows(self) -> np.ndarray:
        """Seeded sample of rows for perplexity (sorted; all rows if fewer)."""
        n, k = len(self), self.cfg.ppl_sample
        if n <= k:
            return np.arange(n)
        return np.sort(np.random.default_rng(self.cfg.seed).choice(n, size=k, replace=False))

    @cached_property
    def perplexity(self) -> np.ndarray:
        """Per-token perplexity of each sampled record under the base model."""
        from tuneahead_lint.features.scoring import record_perplexities

        rows = self.sample_rows
        self.samples["reference_ppl"] = len(rows)
        with self.stage("perplexity"):
            texts = [_ppl_text(self.prompts[r], self.responses[r]) for r in rows]
            ppl, info = record_perplexities(texts, self.cfg)
            self.stats["perplexity"] = info
            return ppl


def _ppl_text(prompt: str, response: str) -> str:
    return f"{prompt}\n\n{response}" if prompt else response
