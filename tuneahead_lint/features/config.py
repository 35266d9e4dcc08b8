"""Parameters of a feature run (:class:`FeatureConfig`), below the corpus and the features that read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuneahead_lint.basemodel import cache_root
from tuneahead_lint.features.embed.index import EXACT_MAX
from tuneahead_lint.features.embed.neighbours import NPROBE, STATIC_EXACT_MAX


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
    :param dup_threshold: cosine for near-duplicates (TA201 min_similarity).
    :param outlier_sigma: z / robust-z limit for the outlier ratios and evidence.
    :param outlier_k: neighbour whose distance scores the outlier evidence
        (TA202, fix): above the size of any junk cluster to be caught.
    :param semantic_sample: records MiniLM embeds for the dataset-level
        semantic features and TA202 (seeded sample, standard errors in the
        feature detail); larger datasets run the cascade
        (:mod:`~tuneahead_lint.features.embed.cascade`). 0 (default): every
        record, no cascade.
    :param dup_candidate_share: cascade: share of records, closest static
        neighbour first, that MiniLM checks for near-duplicates.
    :param dup_candidate_cosine: cascade: records whose closest static
        neighbour is at least this close are checked too.
    :param mismatch_candidate_z: cascade: records whose static prompt/response
        cosine has a robust z at or below this are rescored by MiniLM (TA207).
    :param mismatch_partners: cascade: static nearest prompts per such
        response that MiniLM embeds to find the prompt it fits best.
    :param mismatch_z: TA207 ``z``: in the cascade only responses whose
        MiniLM prompt/response cosine is this many robust deviations low
        are searched for a better-fitting prompt.
    :param pmi_candidates: most pairs TA207 has the base model check (own
        prompt and 3 nearest prompts each, cached); 0 turns that check off.
    :param end_candidates: most open-ending responses whose end-of-turn
        probability the base model scores for TA118; 0 turns that off.
    :param static_exact_max: cascade: records up to which the static
        candidate search is exact; beyond, an IVF search
        (:mod:`~tuneahead_lint.features.embed.neighbours`).
    :param static_nprobe: inverted lists each record searches beyond
        ``static_exact_max``.
    :param ray_address: ``--ray-address``: run the embedding and the
        candidate search as Ray tasks (``local``, ``auto`` or
        ``ray://host:port``); the numbers are the same as without it.
    :param exact_max: records up to which near-duplicate search is exact.
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
    dup_threshold: float = 0.95
    outlier_sigma: float = 3.0
    outlier_k: int = 10
    semantic_sample: int = 0
    dup_candidate_share: float = 0.2
    dup_candidate_cosine: float = 0.9
    mismatch_candidate_z: float = -1.0
    mismatch_partners: int = 8
    mismatch_z: float = 2.0
    pmi_candidates: int = 0
    end_candidates: int = 0
    static_exact_max: int = STATIC_EXACT_MAX
    static_nprobe: int = NPROBE
    ray_address: str | None = None
    exact_max: int = EXACT_MAX
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
