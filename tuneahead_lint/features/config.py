"""Parameters of a feature run (:class:`FeatureConfig`), below the corpus and the features that read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuneahead_lint.basemodel import cache_root
from tuneahead_lint.features.embed.index import EXACT_MAX

# Cascade break-even (benchmarks/results/issue15_cascade_fallback.md): at this share of records
# in candidate pairs or the sample, the cascade costs more than embedding every record.
CASCADE_MAX_SHARE = 0.95


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Parameters of a feature run. Every field that changes a cached number
    is part of its cache key, so a changed setting never reads stale values.

    :param base_model: ``--base-model`` (HF id, folder or .gguf); ``None``:
        the embedded SmolLM2-135M-Instruct. Tokenizer and perplexity.
    :param embedder: ``--embedder``; ``None``: packaged all-MiniLM-L6-v2.
    :param seed: seeds the perplexity sample and the IVF k-means.
    :param ppl_sample: records scored for perplexity (seeded sample).
    :param ppl_max_tokens: base-model tokens scored per record.
    :param ppl_dtype: ``auto`` (bfloat16 on a CPU with native bf16, else
        float32: :func:`~tuneahead_lint.basemodel.scoring_dtype`),
        ``float32`` or ``bfloat16``; cached under the dtype that ran.
    :param dup_threshold: cosine for near-duplicates (TA201 min_similarity).
    :param outlier_sigma: z / robust-z limit for the outlier ratios and evidence.
    :param outlier_k: neighbour whose distance scores the outlier evidence
        (TA202, fix): above the size of any junk cluster to be caught.
    :param semantic_sample: records MiniLM embeds for the dataset-level
        semantic features and TA202's reference (seeded sample, standard
        errors in the feature detail); datasets of more than twice as many
        records run the cascade (:mod:`~tuneahead_lint.features.embed.cascade`).
        0: every record, no cascade.
    :param cascade_max_share: the cascade falls back to the exact path
        when its near-duplicate candidates and sample cover this share of
        the records (measured break-even, :data:`CASCADE_MAX_SHARE`).
    :param dup_candidate_cosine: cascade: pairs of records whose static
        vectors are at least this close are near-duplicate candidates.
    :param dup_candidate_jaccard: cascade: so are pairs sharing a MinHash
        LSH bucket at this word 3-gram Jaccard (datasketch).
    :param dup_prompt_cosine: cascade: MiniLM embeds the candidates'
        prompts first; only pairs whose prompts are at least this close have
        their responses embedded and their record cosine checked.
    :param dup_cross_cosine: cascade: so have pairs where one record's
        static prompt is this close to the other's static response (a
        conversation split into records, one turn's answer the next prompt).
    :param outlier_candidate_z: cascade: records whose local-density score
        on the static vectors has a z or robust z above this are scored by
        MiniLM for TA202, besides the seeded sample.
    :param mismatch_candidate_z: cascade: records whose static prompt/response
        cosine has a robust z at or below this are rescored by MiniLM (TA207).
    :param mismatch_partners: cascade: static nearest prompts per such
        response that MiniLM embeds to find the prompt it fits best.
    :param mismatch_z: TA207 ``z``: in the cascade only responses whose
        MiniLM prompt/response cosine is this many robust deviations low
        are searched for a better-fitting prompt.
    :param mismatch_min_gap: TA207 ``min_gap``: 0 skips the local fit gap;
        above 0, records whose gap reaches ``max(0.1, min_gap)`` are kept
        as candidates.
    :param pmi_candidates: most pairs TA207 has the base model check (own
        prompt and 3 nearest prompts each, cached); 0 turns that check off.
    :param end_candidates: most open-ending responses whose end-of-turn
        probability the base model scores for TA118; 0 turns that off.
    :param ray_address: ``--ray-address``: run the embedding and the
        candidate search as Ray tasks (``local``, ``auto`` or
        ``ray://host:port``); the numbers are the same as without it.
    :param exact_max: records up to which near-duplicate search is exact.
    :param static_half_above: records above which the static prompt and
        response vectors are held as float16 (1M records: 1 GB instead of 2);
        the record vectors and every product stay float32.
    :param ivf_assign: inverted lists each vector joins beyond ``exact_max``.
    :param embed_max_tokens: word pieces embedded per prompt/response.
    :param embed_backend: ``auto`` (torch on CUDA, fp32 ``onnx`` on CPU),
        ``torch``, ``onnx`` (fp32, same vectors as torch) or ``onnx-int8``;
        fp32 and int8 vectors are cached under different keys.
    :param device: ``cuda``/``cpu``; ``None``: CUDA when present.
    :param cache_dir: feature cache folder; ``None``: the tool's cache root.
    :param use_cache: ``False`` computes everything afresh and stores nothing.
    :param skip: requirements not to compute (e.g. ``{"base_model"}``):
        their features are NaN with the reason in ``detail``.
    :param progress: print each stage to stderr as it starts."""

    base_model: str | None = None
    embedder: str | None = None
    seed: int = 0
    ppl_sample: int = 64
    ppl_max_tokens: int = 128
    ppl_dtype: str = "auto"
    dup_threshold: float = 0.95
    outlier_sigma: float = 3.0
    outlier_k: int = 10
    semantic_sample: int = 1000
    cascade_max_share: float = CASCADE_MAX_SHARE
    dup_candidate_cosine: float = 0.83
    dup_candidate_jaccard: float = 0.5
    dup_prompt_cosine: float = 0.75
    dup_cross_cosine: float = 0.95
    outlier_candidate_z: float = 2.0
    mismatch_candidate_z: float = -1.0
    mismatch_partners: int = 8
    mismatch_z: float = 2.0
    mismatch_min_gap: float = 0.0
    pmi_candidates: int = 0
    end_candidates: int = 0
    ray_address: str | None = None
    exact_max: int = EXACT_MAX
    static_half_above: int = 100_000
    ivf_assign: int = 2
    embed_max_tokens: int = 128
    embed_backend: str = "auto"
    reference_lang: str = "en"
    device: str | None = None
    cache_dir: str | None = None
    use_cache: bool = True
    skip: frozenset[str] = frozenset()
    progress: bool = False

    def cache_path(self) -> Path | None:
        """Folder of the feature cache, ``None`` when caching is off."""
        if not self.use_cache:
            return None
        if self.cache_dir:
            return Path(self.cache_dir)
        return cache_root()
