"""Static dataset features (TuneAhead, Appendix B), listed in one place.

Every feature is one function ``fn(corpus) -> Measure`` in
``features/static/<topic>.py`` and one line in :data:`FEATURES`, whose order
is the order of the feature vector (reports, JSON, the predictor). A feature
declares what it needs (``records``, ``tokenizer``, ``embeddings``,
``base_model``); :func:`compute_features` loads each model lazily, only when
a feature that needs it runs (:class:`~tuneahead_lint.features.corpus.Corpus`).

Besides the vector, the result carries the evidence that dataset rules
report: near-duplicate clusters (:class:`DupCluster`) and embedding outliers
(:class:`Outlier`), plus sample sizes, search method/recall and stage timings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tuneahead_lint.features.config import FeatureConfig
from tuneahead_lint.features.corpus import LOCAL_GAP_FLOOR, Corpus, InstructionGroup
from tuneahead_lint.features.static import lengths, lexical, perplexity, semantic
from tuneahead_lint.types import Example, Measure

__all__ = ["FEATURES", "FEATURE_NAMES", "DupCluster", "Ending", "FeatureConfig", "FeatureResult", "Mismatch",
           "Outlier", "compute_features"]

REQUIREMENTS = frozenset({"records", "tokenizer", "embeddings", "base_model"})


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    name: str
    requires: frozenset[str]
    fn: Callable[[Corpus], Measure]
    doc: str


def _spec(name: str, requires: str, fn: Callable[[Corpus], Measure], doc: str) -> FeatureSpec:
    return FeatureSpec(name, frozenset(requires.split()), fn, doc)


FEATURES: tuple[FeatureSpec, ...] = (
    # global
    _spec("record_count", "records", lengths.record_count, "number of valid records"),
    _spec("prompt_tokens_mean", "tokenizer", lengths.prompt_tokens_mean, "mean prompt length, base-model tokens"),
    _spec("prompt_tokens_std", "tokenizer", lengths.prompt_tokens_std, "std of prompt length, tokens"),
    _spec("response_tokens_mean", "tokenizer", lengths.response_tokens_mean, "mean response length, tokens"),
    _spec("response_tokens_std", "tokenizer", lengths.response_tokens_std, "std of response length, tokens"),
    _spec("output_input_ratio", "tokenizer", lengths.output_input_ratio,
          "mean response tokens / mean prompt tokens"),
    _spec("special_char_ratio", "records", lengths.special_char_ratio,
          "share of non-space characters that are not letters or digits"),
    _spec("digit_ratio", "records", lengths.digit_ratio, "share of non-space characters that are digits"),
    _spec("code_ratio", "records", lengths.code_ratio, "share of records containing code"),
    # embeddings
    _spec("near_dup_ratio", "embeddings", semantic.near_dup_ratio,
          "share of records in near-duplicate clusters beyond each cluster's representative"),
    _spec("embedding_outlier_ratio", "embeddings", semantic.embedding_outlier_ratio,
          "share of records > outlier_sigma std above the mean distance to the centroid"),
    _spec("embedding_outlier_ratio_robust", "embeddings", semantic.embedding_outlier_ratio_robust,
          "as embedding_outlier_ratio with median/MAD"),
    # lexical
    _spec("type_token_ratio", "records", lexical.type_token_ratio,
          "standardised type-token ratio over 1,000-word segments"),
    _spec("response_ngram_repetition", "records", lexical.response_ngram_repetition,
          "mean rep-3 of responses (1 - distinct/total word 3-grams)"),
    _spec("instruction_clause_depth_proxy", "records", lexical.instruction_clause_depth_proxy,
          "parse-depth proxy: 1 + clause markers + bracket nesting (no parser)"),
    _spec("top_instruction_share", "records", lexical.top_instruction_share,
          "share of records sharing the most common instruction (first prompt line)"),
    # information-theoretic
    _spec("reference_ppl_mean", "base_model", perplexity.reference_ppl_mean,
          "mean per-record perplexity under the base model (seeded sample)"),
    _spec("reference_ppl_std", "base_model", perplexity.reference_ppl_std,
          "std of per-record perplexity under the base model (same sample)"),
    _spec("io_semantic_similarity", "embeddings", semantic.io_semantic_similarity,
          "mean cosine(prompt, response)"),
    _spec("output_semantic_diversity", "embeddings", semantic.output_semantic_diversity,
          "mean pairwise cosine distance between responses (exact)"),
    _spec("vocab_kl_divergence", "records", lexical.vocab_kl_divergence,
          "KL(dataset words || wordfreq reference), nats"),
    _spec("answer_groundedness", "records", lexical.answer_groundedness,
          "mean share of response word bigrams found in the prompt"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


@dataclass(frozen=True, slots=True)
class DupCluster:
    """Near-duplicate records: every two members have cosine >= threshold.

    ``members`` in (path, line) order after the representative (the earliest
    record, kept by a dedup)."""

    members: tuple[tuple[str, int], ...]
    representative: tuple[str, int]
    min_similarity: float
    max_similarity: float
    content_keys: tuple[str, ...] = ()  # text_hash(prompt, response) per member


@dataclass(frozen=True, slots=True)
class Outlier:
    """A record in a sparse region: ``distance`` is the cosine distance to
    its k-th nearest record (``FeatureConfig.outlier_k``), ``z`` and
    ``robust_z`` score it against the dataset's distribution of that distance.
    (The predictor's ``embedding_outlier_ratio*`` features keep the paper's
    distance to the mean vector.)"""

    ref: tuple[str, int]
    distance: float
    z: float
    robust_z: float
    content_key: str = ""  # text_hash(prompt, response)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A response closer to another record's prompt than to its own, or
    that fits its own prompt worse than its neighbourhood does.

    ``own``: cosine(prompt, response); ``other``: the response's cosine to
    the prompt of ``other_ref``; ``robust_z``: ``own`` against the dataset's
    prompt/response cosines (median, 1.4826 MAD; negative = less related);
    ``local_gap``: the local fit gap (:func:`~.embed.index.local_fit_gaps`)."""

    ref: tuple[str, int]
    own: float
    other: float
    other_ref: tuple[str, int]
    robust_z: float
    content_key: str = ""
    partner_own: float = float("nan")  # cosine of other_ref's prompt and its own response
    other_key: str = ""  # content key of the other record (tells records on one line apart)
    pmi_gap: float = float("nan")  # base-model PMI with its own prompt minus with the nearest others (full lint)
    local_gap: float = float("nan")  # nearest prompts' and responses' mean cosine minus own (above 0: a stranger)


@dataclass(frozen=True, slots=True)
class Ending:
    """The base model's log-probability of the end of turn right after a
    record's response (TA118, full lint; :mod:`~.pmi`)."""

    ref: tuple[str, int]
    content_key: str
    end_logp: float


@dataclass(frozen=True, slots=True)
class FeatureResult:
    """The feature vector (in :data:`FEATURES` order) and its evidence.

    ``samples``: (statistic, records used); ``stats``: run facts (embedding
    cache hits, search method and recall, perplexity tokens); ``timings``:
    seconds per stage."""

    values: tuple[tuple[str, Measure], ...]
    clusters: tuple[DupCluster, ...]
    outliers: tuple[Outlier, ...]
    samples: tuple[tuple[str, int], ...]
    stats: tuple[tuple[str, Any], ...]
    timings: tuple[tuple[str, float], ...]
    threshold: float = 0.95
    mismatches: tuple[Mismatch, ...] = ()  # candidates for TA207 (own < other)
    instruction: InstructionGroup | None = None  # the most common instruction's records (TA203)
    endings: tuple[Ending, ...] = ()  # end-of-turn log-probabilities (TA118)

    def value(self, name: str) -> float:
        return dict(self.values)[name].value

    def vector(self) -> tuple[float, ...]:
        return tuple(m.value for _, m in self.values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes ``None``)."""
        def num(v: float) -> float | None:
            return None if isinstance(v, float) and math.isnan(v) else v

        return {
            "values": {k: {"value": num(m.value), "refs": [list(r) for r in m.refs], "detail": m.detail}
                       for k, m in self.values},
            "clusters": [asdict(c) for c in self.clusters],
            "outliers": [asdict(o) for o in self.outliers],
            "mismatches": [{k: num(v) for k, v in asdict(m).items()} for m in self.mismatches],
            "endings": [asdict(e) for e in self.endings],
            "samples": dict(self.samples),
            "stats": dict(self.stats),
            "timings": {k: round(v, 3) for k, v in self.timings},
        }


def compute_features(examples: Iterable[Example], cfg: FeatureConfig | None = None,
                     embedder: Any = None) -> FeatureResult:
    """Compute every feature of :data:`FEATURES` over the valid examples.
    ``embedder``: an object with ``encode(texts)`` (unit float32 rows) and
    ``get_params()`` used instead of loading ``cfg.embedder``."""
    cfg = cfg or FeatureConfig()
    unknown = cfg.skip - REQUIREMENTS
    if unknown:
        raise ValueError(f"unknown requirement(s) to skip: {sorted(unknown)}")
    corpus = Corpus(examples, cfg, embedder)
    if len(corpus) and not {"base_model", "embeddings"} & cfg.skip:
        corpus.start_perplexity()  # overlaps the embedding stages (issue 15)
    values = tuple((f.name, _run(f, corpus)) for f in FEATURES)
    clusters, outliers = _evidence(corpus, cfg)
    mismatches = _mismatches(corpus, cfg)
    endings = _endings(corpus, cfg)
    return FeatureResult(
        values=values, clusters=clusters, outliers=outliers,
        samples=tuple(sorted(corpus.samples.items())),
        stats=tuple(sorted(corpus.stats.items())),
        timings=tuple(corpus.timings.items()),
        threshold=cfg.dup_threshold, mismatches=mismatches, instruction=corpus.instruction_group,
        endings=endings,
    )


def _run(spec: FeatureSpec, corpus: Corpus) -> Measure:
    skipped = spec.requires & corpus.cfg.skip
    if skipped:
        return Measure(float("nan"), detail=f"not computed: {', '.join(sorted(skipped))} skipped")
    return spec.fn(corpus)


def _evidence(corpus: Corpus, cfg: FeatureConfig) -> tuple[tuple[DupCluster, ...], tuple[Outlier, ...]]:
    if "embeddings" in cfg.skip or not len(corpus):
        return (), ()
    refs, keys = corpus.refs, corpus.content_keys
    clusters = tuple(
        DupCluster(tuple(refs[m] for m in k.members), refs[k.members[0]],
                   round(k.min_sim, 4), round(k.max_sim, 4), tuple(keys[m] for m in k.members))
        for k in corpus.clusters)
    dist, z, robust = corpus.local_outlier_scores
    rows = corpus.outlier_rows
    flagged = [k for k in range(len(rows)) if max(z[k], robust[k]) > cfg.outlier_sigma]
    flagged.sort(key=lambda k: (-dist[k], refs[rows[k]]))
    outliers = tuple(Outlier(refs[rows[k]], round(float(dist[k]), 4), round(float(z[k]), 3),
                             round(float(robust[k]), 3), keys[rows[k]]) for k in flagged)
    return clusters, outliers


def _mismatches(corpus: Corpus, cfg: FeatureConfig) -> tuple[Mismatch, ...]:
    """Records whose response is closer to another prompt than to its own,
    and the records whose pair the base model scored (every candidate; TA207
    applies its margin, z and PMI limits)."""
    if "embeddings" in cfg.skip or len(corpus) < 3:
        return ()
    rows, own, z, best, row = corpus.pair_scores
    pmi = _pmi(corpus, cfg)
    scored = set(pmi.rows.tolist()) if pmi is not None else set()
    gap = corpus.local_gaps
    found = [k for k in range(len(rows)) if (row[k] >= 0 and best[k] > own[k]) or int(rows[k]) in scored
             or gap[k] >= LOCAL_GAP_FLOOR]
    return tuple(_mismatch(corpus, k, pmi) for k in found)


def _pmi(corpus: Corpus, cfg: FeatureConfig) -> Any:
    """The PMI gaps of TA207's candidates (None when the base model is skipped)."""
    if "base_model" in cfg.skip or cfg.pmi_candidates <= 0:
        return None
    return corpus.base_scores[0]


def _mismatch(corpus: Corpus, k: int, pmi: Any) -> Mismatch:
    rows, own, z, best, row = corpus.pair_scores
    refs, keys = corpus.refs, corpus.content_keys
    i, j = int(rows[k]), int(row[k])
    gap = round(pmi.at(i), 4) if pmi is not None else float("nan")
    local = round(float(corpus.local_gaps[k]), 4)
    if j < 0:  # no other prompt found: the base model or the local gap only
        return Mismatch(refs[i], round(float(own[k]), 4), float("nan"), refs[i], round(float(z[k]), 3), keys[i],
                        pmi_gap=gap, local_gap=local)
    return Mismatch(refs[i], round(float(own[k]), 4), round(float(best[k]), 4), refs[j], round(float(z[k]), 3),
                    keys[i], round(float(_own(corpus, j)), 4), keys[j], gap, local)


def _endings(corpus: Corpus, cfg: FeatureConfig) -> tuple[Ending, ...]:
    """End-of-turn log-probabilities the base-model pass produced (TA118)."""
    if "base_model" in cfg.skip or (cfg.end_candidates <= 0 and cfg.pmi_candidates <= 0) or not len(corpus):
        return ()
    _, end = corpus.base_scores
    return tuple(Ending(corpus.refs[r], corpus.content_keys[r], round(e, 4)) for r, e in sorted(end.items()))


def _own(corpus: Corpus, row: int) -> float:
    """Cosine of a record's prompt and its own response (MiniLM)."""
    v = corpus.embed_rows(np.array([row]))
    return float(np.einsum("ij,ij->i", v.prompt, v.response)[0])
