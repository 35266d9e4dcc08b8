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
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead_lint import progress
from tuneahead_lint.basemodel import model_id
from tuneahead_lint.types import Example, text_hash

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from tuneahead_lint.features.config import FeatureConfig
    from tuneahead_lint.features.embed.index import Cluster, Pairs
    from tuneahead_lint.features.pmi import PairPmi

WORD = re.compile(r"\w+")


def instruction_key(prompt: str) -> str:
    """First non-empty line, whitespace-collapsed and lower-cased (200 chars)."""
    for line in prompt.splitlines():
        if line.strip():
            return " ".join(line.split()).lower()[:200]
    return ""


@dataclass(frozen=True, slots=True)
class InstructionGroup:
    """The records that start with the most common instruction
    (:func:`instruction_key`): their (path, line) and 1-based record numbers
    in (path, line) order; ``valid`` counts all valid records."""

    instruction: str
    members: tuple[tuple[str, int], ...]
    records: tuple[int, ...]
    valid: int


def instruction_group(examples: Sequence[Example]) -> InstructionGroup | None:
    """The largest group of valid ``examples`` sharing one instruction (the
    first in (path, line) order on a tie); None without valid records."""
    valid = sorted((e for e in examples if e.ok), key=lambda e: (e.path, e.line, e.index))
    return group_of([e.prompt for e in valid], [(e.path, e.line) for e in valid], [e.index for e in valid])


def group_of(prompts: Sequence[str], refs: Sequence[tuple[str, int]],
             indices: Sequence[int]) -> InstructionGroup | None:
    """:func:`instruction_group` of records given as prompts, (path, line)
    and 0-based record indices, in (path, line) order."""
    if not prompts:
        return None
    keys = [instruction_key(p) for p in prompts]
    top, _ = Counter(keys).most_common(1)[0]
    group = [k for k, key in enumerate(keys) if key == top]
    return InstructionGroup(top, tuple(refs[k] for k in group), tuple(int(indices[k]) + 1 for k in group),
                            len(prompts))
MAX_REFS = 10
PMI_CANDIDATE_Z = -1.0  # TA207: own cosine at this robust z or below may be scored by the base model
RANDOM_PAIRS = 512  # seeded records a pair is compared with (random_share)
PMI_MIN_SHARE = 0.01  # TA207: pairs that beat more random pairs than 99% are not scored
PMI_OTHER_PROMPTS = 3  # TA207: prompts nearest to a candidate response it is also scored after
PMI_MIN_WORDS = 5  # TA207: a per-token PMI of a shorter response is noise ("List", "The")
LOCAL_GAP_FLOOR = 0.1  # TA207: with min_gap on, records whose local fit gap reaches this are candidates
POOL_PER_NEIGHBOUR = 120  # TA207: one neighbour per 120 pool records in the local fit gap (10 in 1,200)


def _join_parts(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Pair arrays as one int64 array: their lengths, then their values."""
    return np.concatenate([np.array([len(p) for p in parts], np.int64),
                           *[np.asarray(p, np.int64) for p in parts]])


def _split_parts(flat: np.ndarray, count: int = 4) -> tuple[np.ndarray, ...]:
    """Inverse of :func:`_join_parts` for ``count`` arrays."""
    sizes, out, at = flat[:count].tolist(), [], count
    for size in sizes:
        out.append(np.array(flat[at:at + size], np.int64))
        at += size
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Vectors:
    """Unit vectors per record: prompt, response and record
    (normalised prompt + response)."""

    prompt: np.ndarray
    response: np.ndarray
    record: np.ndarray


class Corpus:
    """Valid examples in (path, line) order plus lazily computed stages.
    ``embedder`` (``encode``, ``get_params``) replaces the one
    ``cfg.embedder`` names (None: load that one)."""

    def __init__(self, examples: Iterable[Example], cfg: FeatureConfig, embedder: Any = None) -> None:
        valid = sorted(((e.path, e.line, e.index, e.prompt, e.response, sum(t.role == "user" for t in e.turns))
                        for e in examples if e.ok), key=lambda r: r[:3])  # no Example is kept (1M records: -0.5 GB)
        self.cfg = cfg
        self.embedder = embedder
        self.prompts = [r[3] for r in valid]
        self.responses = [r[4] for r in valid]
        self.refs = [(r[0], r[1]) for r in valid]
        self.indices = np.fromiter((r[2] for r in valid), np.int64, len(valid))
        self.user_turns = np.fromiter((r[5] for r in valid), np.int64, len(valid))
        del valid
        self.timings: dict[str, float] = {}
        self.samples: dict[str, int] = {}
        self.stats: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.prompts)

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
    def instruction_group(self) -> InstructionGroup | None:
        """Feature ``top_instruction_share`` and TA203 constant-instruction read it."""
        return group_of(self.prompts, self.refs, self.indices)

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

    @property
    def cascade_eligible(self) -> bool:
        """The dataset has more than twice ``semantic_sample`` (> 0) valid
        records (below that the sample and the candidates cover most records
        anyway)."""
        return 0 < self.cfg.semantic_sample and 2 * self.cfg.semantic_sample < len(self)

    @cached_property
    def cascade(self) -> bool:
        """MiniLM embeds a sample and candidates, not every record: the
        dataset is :attr:`cascade_eligible` and the cascade does not fall
        back (:attr:`cascade_fallback`)."""
        return self.cascade_eligible and not self.cascade_fallback

    @cached_property
    def cascade_fallback(self) -> bool:
        """The near-duplicate candidates and the seeded sample cover at least
        ``cascade_max_share`` of the records: MiniLM would embed nearly every
        record, and the exact path is cheaper (stated in ``stats['cascade']``)."""
        from tuneahead_lint.features.embed.cascade import candidate_share, seeded_rows

        if not self.cascade_eligible:
            return False
        sample = seeded_rows(len(self), self.cfg.semantic_sample, self.cfg.seed)
        share = candidate_share(self._candidate_parts, sample, len(self))
        fallback = share >= self.cfg.cascade_max_share
        self.stats["cascade"] = {"candidate_share": round(share, 4), "max_share": self.cfg.cascade_max_share,
                                 "fallback": fallback}
        return fallback

    @property
    def fallback_note(self) -> str:
        """'' unless the cascade fell back, else the clause saying so."""
        if not self.cascade_fallback:
            return ""
        share = self.stats["cascade"]["candidate_share"]
        return (f"cascade fallback: near-duplicate candidates and sample cover {share:.1%} of records "
                f"(>= {self.cfg.cascade_max_share:.0%}), every record embedded")

    @cached_property
    def semantic_rows(self) -> np.ndarray:
        """Seeded sample of rows behind the sampled semantic features (all
        rows unless :attr:`cascade`)."""
        from tuneahead_lint.features.embed.cascade import seeded_rows

        rows = seeded_rows(len(self), self.cfg.semantic_sample if self.cascade else 0, self.cfg.seed)
        self.samples["semantic"] = len(rows)
        return rows

    @cached_property
    def _embedder(self):
        from tuneahead_lint.features.embed.embedder import Embedder

        return self.embedder or Embedder(self.cfg.embedder, max_tokens=self.cfg.embed_max_tokens,
                                         backend=self.cfg.embed_backend, device=self.cfg.device)

    @cached_property
    def _text_vectors(self) -> dict[str, np.ndarray]:
        """MiniLM vector per distinct text embedded so far in this run."""
        return {}

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM vectors of ``texts`` (in that order, (len, dim) float32);
        each distinct text is embedded once per run and looked up in the
        cache first."""
        memo = self._text_vectors
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            self._embed_new(todo)
        dim = self._embedder.dim_ if hasattr(self._embedder, "dim_") else 0
        return np.array([memo[t] for t in texts], np.float32).reshape(len(texts), -1 if texts else dim)

    def embed_rows(self, rows: np.ndarray) -> Vectors:
        """MiniLM vectors of ``rows`` (in that order)."""
        rows = np.asarray(rows, np.int64).tolist()
        prompt = self.embed_texts([self.prompts[r] for r in rows])
        response = self.embed_texts([self.responses[r] for r in rows])
        self._embedded_rows.update(rows)
        if "embedding" in self.stats:
            self.stats["embedding"]["records"] = len(self._embedded_rows)
        return Vectors(prompt, response, _unit(prompt + response))

    @cached_property
    def _embedded_rows(self) -> set[int]:
        return set()

    def _embed_new(self, todo: list[str]) -> None:
        from tuneahead_lint.cache import VectorCache, namespace
        from tuneahead_lint.features.embed.embedder import embed_texts

        emb = self._embedder
        with self.stage("embed"):
            cache = VectorCache(self.cfg.cache_path(), namespace("embedding", emb.get_params()))
            try:
                remote = self._encode_misses(emb)
                mat, counts = embed_texts(todo, emb, cache, encode=remote)
            finally:
                cache.close()
            self._text_vectors.update(zip(todo, mat))
            info = self.stats.setdefault("embedding", {**emb.get_params(), "texts": 0, "distinct": 0,
                                                       "cached": 0, "encoded": 0, "records": 0})
            for key, value in counts.items():
                info[key] += value
            info["backend"] = getattr(emb, "backend_", "cache")
            if remote is not None and counts["encoded"]:  # encoded on the cluster, not loaded here
                info["backend"] = emb.resolved_backend()

    @cached_property
    def _map(self):
        """Where embedding and candidate-search blocks run (``ray_address``)."""
        from tuneahead_lint.features.embed.blocks import block_map

        return block_map(self.cfg.ray_address)

    def _encode_misses(self, emb: Any):
        """The MiniLM encode of the cache misses: on the Ray cluster when
        ``ray_address`` is set (and the embedder is the built-in kind)."""
        from tuneahead_lint.features.embed.embedder import Embedder, encode_on

        if not self.cfg.ray_address or not isinstance(emb, Embedder):
            return None
        return partial(encode_on, self._map, emb)

    @cached_property
    def vectors(self) -> Vectors:
        """MiniLM vectors of every record (the exact, non-cascade path)."""
        return self.embed_rows(np.arange(len(self)))

    @cached_property
    def sample_vectors(self) -> Vectors:
        """MiniLM vectors of :attr:`semantic_rows` (every record unless :attr:`cascade`)."""
        return self.vectors if not self.cascade else self.embed_rows(self.semantic_rows)

    @cached_property
    def static_vectors(self) -> Vectors:
        """Static (model2vec) vectors of every record: the cascade's first
        stage, each distinct text encoded once and cached (float32) like the
        MiniLM vectors. Prompt and response vectors are float16 above
        ``static_half_above`` records; record vectors are float32."""
        from tuneahead_lint.cache import VectorCache, cached_rows, namespace
        from tuneahead_lint.features.embed.static import STATIC_MODEL, static_encode

        with self.stage("static-embed"):
            ns = namespace("static", {"model": STATIC_MODEL, "max_tokens": self.cfg.embed_max_tokens})
            cache = VectorCache(self.cfg.cache_path(), ns, dtype="float32")
            encode = partial(static_encode, max_tokens=self.cfg.embed_max_tokens, mapper=self._map)
            dtype = np.float16 if len(self) > self.cfg.static_half_above else np.float32
            try:
                table, rows = cached_rows(self.prompts + self.responses, cache, encode, 256, dtype)
            finally:
                cache.close()
            n = len(self)
            prompt, response = table[rows[:n]], table[rows[n:]]
            del table, rows
            return Vectors(prompt, response, record_vectors(prompt, response))

    @cached_property
    def dup_rows(self) -> np.ndarray:
        """Rows the near-duplicate search runs over: every row, or in the
        cascade the rows of the candidate pairs (:func:`~.cascade.candidate_pairs`:
        static cosine or MinHash) whose MiniLM prompts are close
        (``dup_prompt_cosine``): MiniLM embeds the candidates' prompts first,
        and the responses only of the pairs left."""
        from tuneahead_lint.features.embed.cascade import merge_pairs

        if not self.cascade:
            return np.arange(len(self))
        with self.stage("candidates"):
            i, j = merge_pairs(*self._candidate_parts)
        kept_i, kept_j = self._close_prompts(i, j)
        rows = np.union1d(kept_i, kept_j)
        self.stats["candidates"] = {"pairs": int(len(i)), "prompt_rows": int(len(np.union1d(i, j))),
                                    "pairs_close_prompts": int(len(kept_i)), "rows": int(len(rows))}
        return rows

    @cached_property
    def _candidate_parts(self) -> tuple[np.ndarray, ...]:
        """Static and MinHash candidate pairs (:func:`~.cascade.candidate_parts`),
        cached under the dataset's content and the candidate settings."""
        from tuneahead_lint.cache import VectorCache, namespace, text_key
        from tuneahead_lint.features.embed.cascade import candidate_parts
        from tuneahead_lint.features.embed.static import STATIC_MODEL

        params = {"static": STATIC_MODEL, "max_tokens": self.cfg.embed_max_tokens,
                  "cosine": self.cfg.dup_candidate_cosine, "jaccard": self.cfg.dup_candidate_jaccard}
        cache = VectorCache(self.cfg.cache_path(), namespace("candidates", params), dtype="int64")
        key = text_key("\n".join(self.content_keys))
        try:
            found = cache.get_many([key]).get(key)
            if found is not None:
                return _split_parts(found)
            with self.stage("candidates"):
                parts = candidate_parts(self.static_vectors.record, self.cfg.dup_candidate_cosine,
                                        self.prompts, self.responses, self.cfg.dup_candidate_jaccard, self._map)
            cache.put_many([(key, _join_parts(parts))])
        finally:
            cache.close()
        return _split_parts(_join_parts(parts))

    def _close_prompts(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs whose MiniLM prompts have cosine >= ``dup_prompt_cosine``,
        or where one record's static prompt and the other's static response
        have cosine >= ``dup_cross_cosine`` (a conversation split into
        records: one turn's answer is the next record's prompt)."""
        from tuneahead_lint.features.embed.cascade import pair_cosines

        rows = np.union1d(i, j)
        if not len(rows):
            return i, j
        cross, st = self.cfg.dup_cross_cosine, self.static_vectors
        prompts = self.embed_texts([self.prompts[r] for r in rows.tolist()])
        at_i, at_j = np.searchsorted(rows, i), np.searchsorted(rows, j)
        keep = pair_cosines(prompts, prompts, at_i, at_j) >= self.cfg.dup_prompt_cosine
        keep |= pair_cosines(st.prompt, st.response, i, j) >= cross
        keep |= pair_cosines(st.response, st.prompt, i, j) >= cross
        return i[keep], j[keep]

    @cached_property
    def pairs(self) -> Pairs:
        """Near-duplicate pairs, as rows of :attr:`dup_rows` (use
        :attr:`clusters` for rows of the corpus)."""
        from tuneahead_lint.features.embed.index import pair_recall, similar_pairs

        x = self.embed_rows(self.dup_rows).record
        with self.stage("near-duplicates"):
            pairs = similar_pairs(x, self.cfg.dup_threshold, exact_max=self.cfg.exact_max,
                                  assign=self.cfg.ivf_assign, seed=self.cfg.seed, mapper=self._map)
            method = pairs.method if not self.cascade else \
                f"cascade: {pairs.method} among {len(x)} static candidates"
            if self.cascade_fallback:
                method = f"{method} ({self.fallback_note})"
            info: dict[str, Any] = {"method": method, "pairs": int(len(pairs.i)),
                                    "candidates": len(x)}
            if pairs.method != "exact":
                recall, exact_pairs, queries = pair_recall(
                    x, pairs, self.cfg.dup_threshold, seed=self.cfg.seed)
                info.update(recall=round(recall, 4), recall_exact_pairs=exact_pairs,
                            recall_queries=queries)
            self.stats["search"] = info
            return pairs

    @cached_property
    def clusters(self) -> list[Cluster]:
        """Near-duplicate clusters; members are corpus rows."""
        from tuneahead_lint.features.embed.index import Cluster, clusters_from_pairs

        pairs, rows = self.pairs, self.dup_rows
        with self.stage("near-duplicates"):
            # Rows are in (path, line) order, so leaders are the earliest records.
            found = clusters_from_pairs(self.embed_rows(rows).record, pairs, self.cfg.dup_threshold)
            return [Cluster(tuple(int(rows[m]) for m in k.members), k.min_sim, k.max_sim) for k in found]

    @cached_property
    def outlier_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance to mean record vector, z, robust z) per row of :attr:`semantic_rows`."""
        from tuneahead_lint.features.embed.index import outlier_scores

        x = self.sample_vectors.record
        with self.stage("outliers"):
            return outlier_scores(x)

    @cached_property
    def outlier_rows(self) -> np.ndarray:
        """Rows TA202 scores: every row, or in the cascade the seeded sample
        plus the static candidates, rows whose local-density score on the
        static vectors of every record (k = ``outlier_k``) has a z or robust
        z above ``outlier_candidate_z``."""
        from tuneahead_lint.features.embed.index import local_outlier_scores

        if not self.cascade:
            return np.arange(len(self))
        with self.stage("candidates"):
            _, z, robust = local_outlier_scores(self.static_vectors.record, self.cfg.outlier_k)
            static = np.flatnonzero(np.maximum(z, robust) > self.cfg.outlier_candidate_z)
        self.stats["outlier_candidates"] = int(len(static))
        return np.union1d(self.semantic_rows, static)

    @cached_property
    def local_outlier_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cosine distance to the k-th nearest record, z, robust z) per row
        of :attr:`outlier_rows`, k = ``outlier_k``: the evidence of TA202 and
        of ``fix``. In the cascade (MiniLM) the distance is to the k-th
        nearest sampled record, k scaled to the sample, and the scores are
        against the sampled records' own distances
        (:func:`~.cascade.sample_density_scores`)."""
        from tuneahead_lint.features.embed.cascade import sample_density_scores
        from tuneahead_lint.features.embed.index import local_outlier_scores

        if not self.cascade:
            x = self.sample_vectors.record
            with self.stage("outliers"):
                return local_outlier_scores(x, self.outlier_k)
        sample, query = self.sample_vectors.record, self.embed_rows(self.outlier_rows).record
        with self.stage("outliers"):
            return sample_density_scores(query, self.outlier_rows, sample, self.semantic_rows, self.outlier_k)

    @property
    def outlier_k(self) -> int:
        """``outlier_k``, or in the cascade the neighbour rank that keeps the
        same density in the sample (k x sample / records, at least 2)."""
        if not self.cascade:
            return self.cfg.outlier_k
        return max(2, round(self.cfg.outlier_k * len(self.semantic_rows) / len(self)))

    @cached_property
    def pair_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cosine of each prompt and its response, its robust
        z-score, the response's best cosine to another record's prompt,
        that record's row or -1) for the rows scored: every row, or in the
        cascade the static candidates, of which only those whose own cosine
        has a robust z at or below ``-mismatch_z`` (TA207's limit) are
        searched (the others: NaN, -1). z is against the sample's cosines."""
        from tuneahead_lint.features.embed.cascade import robust_z

        rows = self._mismatch_rows()
        v = self.embed_rows(rows)
        with self.stage("pairs"):
            own = np.einsum("ij,ij->i", v.prompt, v.response).astype(np.float64)
            s = self.sample_vectors
            z = robust_z(own, np.einsum("ij,ij->i", s.prompt, s.response).astype(np.float64))
            searched = rows[z <= -self.cfg.mismatch_z] if self.cascade else rows
            best, row = self._best_other_prompt(rows, searched)
            return rows, own, z, best, row

    def _mismatch_rows(self) -> np.ndarray:
        from tuneahead_lint.features.embed.cascade import mismatch_candidates

        if not self.cascade:
            return np.arange(len(self))
        st = self.static_vectors
        with self.stage("candidates"):
            static = mismatch_candidates(st.prompt, st.response, self.cfg.mismatch_candidate_z)
        # Records MiniLM embeds anyway (sample, near-duplicate candidates) are scored too.
        return np.union1d(static, np.union1d(self.outlier_rows, self.dup_rows))

    def _best_other_prompt(self, rows: np.ndarray, searched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """best_other_prompt over the prompts the search may reach: every
        prompt, or in the cascade the static nearest prompts of the searched
        responses (plus the searched rows themselves), of which MiniLM
        embeds only the prompts."""
        from tuneahead_lint.features.embed.cascade import partner_rows
        from tuneahead_lint.features.embed.index import best_other_prompt

        same = self._prompt_keys
        pool = np.arange(len(self)) if not self.cascade else np.union1d(
            searched, partner_rows(self.static_vectors.prompt, self.static_vectors.response,
                                   searched, self.cfg.mismatch_partners))
        at = {int(r): k for k, r in enumerate(pool)}
        qrows = np.array([at[int(r)] for r in searched], np.int64)
        prompts, responses = self._pool_vectors(pool, qrows)
        best_q, row_q = best_other_prompt(prompts, responses, same[pool], rows=qrows)
        best = np.full(len(rows), np.nan)
        row = np.full(len(rows), -1, np.int64)
        where = {int(r): k for k, r in enumerate(rows)}
        for q, r in zip(qrows, searched):
            best[where[int(r)]] = best_q[q]
            row[where[int(r)]] = pool[row_q[q]] if row_q[q] >= 0 else -1
        return best, row

    def _pool_vectors(self, pool: np.ndarray, qrows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """MiniLM prompts of the ``pool`` rows and responses of its rows at
        ``qrows`` (the only ones searched; zero rows elsewhere)."""
        if not self.cascade:
            v = self.embed_rows(pool)
            return v.prompt, v.response
        prompts = self.embed_texts([self.prompts[r] for r in pool.tolist()])
        responses = np.zeros_like(prompts)
        if len(qrows):
            responses[qrows] = self.embed_texts([self.responses[r] for r in pool[qrows].tolist()])
        return prompts, responses

    @cached_property
    def local_gaps(self) -> np.ndarray:
        """Per row of :attr:`pair_scores`: the local fit gap
        (:func:`~.index.local_fit_gaps`; all NaN when ``mismatch_min_gap``
        is 0, TA207's default) against every record, or in the
        cascade against the seeded sample, k = :attr:`gap_neighbours`; NaN
        (not judged) for a response of fewer than :data:`PMI_MIN_WORDS` words
        (too little for MiniLM to tell what it answers) and for a
        conversation with more than one user turn (MiniLM reads the start of
        the conversation, the response answers its last turn)."""
        from tuneahead_lint.features.embed.index import local_fit_gaps

        rows = self.pair_scores[0]
        if self.cfg.mismatch_min_gap <= 0:
            return np.full(len(rows), np.nan)
        keys = self._prompt_keys
        v, s, pool = self.embed_rows(rows), self.sample_vectors, self.semantic_rows
        with self.stage("pairs"):
            gap = local_fit_gaps(v.prompt, v.response, keys[rows], s.prompt, s.response, keys[pool],
                                 self.gap_neighbours)
            gap[~np.array([self._gap_judged(r) for r in rows.tolist()], bool)] = np.nan
            return gap

    def _gap_judged(self, row: int) -> bool:
        """The local fit gap of ``row`` means something (see :attr:`local_gaps`)."""
        return len(self.responses[row].split()) >= PMI_MIN_WORDS and self.user_turns[row] <= 1

    @property
    def gap_neighbours(self) -> int:
        """k of the local fit gap: one per :data:`POOL_PER_NEIGHBOUR` records
        of the pool (the sample in the cascade), at least 3."""
        return max(3, round(len(self.semantic_rows) / POOL_PER_NEIGHBOUR))

    @cached_property
    def _prompt_keys(self) -> np.ndarray:
        """Per row, an int naming its prompt text (equal texts, equal keys)."""
        keys = {p: i for i, p in enumerate(dict.fromkeys(self.prompts))}
        return np.array([keys[p] for p in self.prompts], np.int64)

    @cached_property
    def random_share(self) -> np.ndarray:
        """Per row of :attr:`pair_scores` (0 above ``PMI_CANDIDATE_Z``): of
        :data:`RANDOM_PAIRS` seeded records of the semantic sample, the share
        of responses at least as close to the row's prompt as its own
        response, and of prompts at least as close to its response; the
        smaller of the two. A random pairing scores about 0.5, an answer 0."""
        rows, own, z, _, _ = self.pair_scores
        share = np.zeros(len(rows))
        low = np.flatnonzero(z <= PMI_CANDIDATE_Z)
        if not len(low):
            return share
        s = self.sample_vectors
        rng = np.random.default_rng(self.cfg.seed)
        pick = np.sort(rng.choice(len(s.prompt), size=min(RANDOM_PAIRS, len(s.prompt)), replace=False))
        v = self.embed_rows(rows[low])
        with self.stage("pairs"):
            mine = own[low, None]
            by_response = (v.prompt @ s.response[pick].T >= mine).mean(1)
            by_prompt = (v.response @ s.prompt[pick].T >= mine).mean(1)
            share[low] = np.minimum(by_response, by_prompt)
        return share

    @cached_property
    def pmi_candidates(self) -> np.ndarray:
        """Corpus rows whose pair the base model checks (TA207): own cosine
        at robust z ``PMI_CANDIDATE_Z`` or below, random share at least
        :data:`PMI_MIN_SHARE`, a response of :data:`PMI_MIN_WORDS` or more; at most
        ``cfg.pmi_candidates``, the most random-looking first (sorted)."""
        rows, _, z, _, _ = self.pair_scores
        share = self.random_share
        keep = np.flatnonzero((z <= PMI_CANDIDATE_Z) & (share >= PMI_MIN_SHARE))
        keep = np.array([k for k in keep if len(self.responses[rows[k]].split()) >= PMI_MIN_WORDS], np.int64)
        keep = keep[np.argsort(-share[keep], kind="stable")[:max(self.cfg.pmi_candidates, 0)]]
        return np.sort(rows[keep]) if len(keep) else np.zeros(0, np.int64)

    def nearest_other_prompts(self, cand: np.ndarray) -> list[list[int]]:
        """Per candidate row, the :data:`PMI_OTHER_PROMPTS` prompts (of the
        rows MiniLM embedded) most similar to its response, other prompt
        texts only."""
        pool = self.pair_scores[0]
        pv, cv = self.embed_rows(pool), self.embed_rows(cand)
        sims = cv.response @ pv.prompt.T
        out = []
        for k, r in enumerate(cand):
            order = pool[np.argsort(-sims[k], kind="stable")[:64]]
            out.append([int(j) for j in order if self.prompts[j] != self.prompts[r]][:PMI_OTHER_PROMPTS])
        return out

    # --- base model --------------------------------------------------------------

    @cached_property
    def end_candidates(self) -> np.ndarray:
        """Corpus rows whose end-of-turn probability is scored (TA118): open
        endings (:func:`~.pmi.open_ending`); at most ``cfg.end_candidates``
        (a seeded sample of them beyond that)."""
        from tuneahead_lint.features.pmi import open_ending

        rows = np.array([i for i, r in enumerate(self.responses) if open_ending(r)], np.int64)
        cap = max(self.cfg.end_candidates, 0)
        if len(rows) > cap:
            rows = np.sort(np.random.default_rng(self.cfg.seed).choice(rows, size=cap, replace=False))
        return rows

    @cached_property
    def base_scores(self) -> tuple[PairPmi, dict[int, float]]:
        """One base-model pass over the pairs of TA207 and TA118: the PMI gap
        of each :attr:`pmi_candidates` row (own prompt against its nearest
        other prompts) and the end-of-turn log-probability per corpus row of
        :attr:`end_candidates`, and of every PMI candidate whose whole
        response fits (that row serves both)."""
        from tuneahead_lint.features.pmi import PairPmi, PairScore, pair_scores

        wanted = self.cfg.pmi_candidates > 0 and "embeddings" not in self.cfg.skip
        cand = self.pmi_candidates if wanted else np.zeros(0, np.int64)
        if not len(cand) and not len(self.end_candidates):
            return PairPmi(cand, np.zeros(0)), {}
        others = self.nearest_other_prompts(cand) if len(cand) else []
        full = [k for k, near in enumerate(others) if len(near) == PMI_OTHER_PROMPTS]
        cand, others = cand[full], [others[k] for k in full]
        width = 1 + PMI_OTHER_PROMPTS
        ends = [int(r) for r in self.end_candidates]
        prompts = [self.prompts[j] for r, near in zip(cand, others) for j in (r, *near)] + \
            [self.prompts[r] for r in ends]
        responses = [self.responses[r] for r in cand for _ in range(width)] + [self.responses[r] for r in ends]
        tails = [False] * (len(cand) * width) + [True] * len(ends)
        with self.stage("pair-scores"):
            score, info = pair_scores(prompts, responses, tails, self.cfg)
            self.stats["pair_scores"] = {**info, "pmi_candidates": len(cand), "end_candidates": len(ends)}
        n = len(cand) * width
        pmi = PairScore(score.logp[:n], score.tokens[:n], score.end_logp[:n])
        end = {int(r): float(e) for r, e in zip(cand, pmi.end_logp[::width]) if not np.isnan(e)}
        end.update({r: float(e) for r, e in zip(ends, score.end_logp[n:])})
        return PairPmi.from_scores(cand, pmi, width), end

    @cached_property
    def sample_rows(self) -> np.ndarray:
        """Seeded sample of rows for perplexity (sorted; all rows if fewer)."""
        n, k = len(self), self.cfg.ppl_sample
        if n <= k:
            return np.arange(n)
        return np.sort(np.random.default_rng(self.cfg.seed).choice(n, size=k, replace=False))

    @cached_property
    def perplexity(self) -> np.ndarray:
        """Per-token perplexity of each sampled record under the base model
        (from :meth:`start_perplexity`'s thread when it was started)."""
        pending = self.__dict__.pop("_perplexity_job", None)
        if pending is not None:
            return pending.result()
        return self._perplexity()

    def start_perplexity(self) -> None:
        """Score the perplexity sample in a background thread, torch on one
        thread, while this one embeds (ONNX Runtime and torch release the
        GIL): on 2 cores the two stages overlap instead of taking turns.
        :attr:`perplexity` waits for it and raises what it raised."""
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tuneahead-perplexity")
        self.__dict__["_perplexity_job"] = pool.submit(self._perplexity, 1)
        pool.shutdown(wait=False)

    def _perplexity(self, torch_threads: int = 0) -> np.ndarray:
        from tuneahead_lint.features.scoring import record_perplexities

        rows = self.sample_rows
        self.samples["reference_ppl"] = len(rows)
        # no bar from the background thread: one live bar at a time (the embedding's)
        with self.stage("perplexity"), progress.enabled(torch_threads == 0 and self.cfg.progress):
            texts = [_ppl_text(self.prompts[r], self.responses[r]) for r in rows]
            ppl, info = record_perplexities(texts, self.cfg, torch_threads)
            self.stats["perplexity"] = info
            return ppl


def record_vectors(prompt: np.ndarray, response: np.ndarray, block: int = 65536) -> np.ndarray:
    """float32 unit(prompt + response) per row, by blocks (no full-size temporary)."""
    out = np.empty(prompt.shape, np.float32)
    for start in range(0, len(out), block):
        part = out[start:start + block]
        np.add(prompt[start:start + block], response[start:start + block], out=part, dtype=np.float32)
        part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _ppl_text(prompt: str, response: str) -> str:
    return f"{prompt}\n\n{response}" if prompt else response
