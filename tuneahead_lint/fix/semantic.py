"""Semantic remedies: near-duplicate removal (SemDeDup-style) and embedding outliers.

Both come from the dataset-feature stage (:func:`tuneahead_lint.features.
compute_features`), run over the records still kept after the record-level
remedies, so ``fix`` removes exactly what ``lint`` reports as TA201 and TA202:

* near-duplicates: clusters in which every two records have cosine >= the
  threshold (default 0.95, SemDeDup's setting); the cluster's representative
  (its earliest record still kept) is kept, every other member is dropped.
* mismatched pairs (TA207, after outliers): responses that fit another
  record's prompt better than their own are dropped.
* outliers (applied first): the cosine distance of each record's vector to
  its k-th nearest record (``outlier_k``, default 10: larger than a junk
  cluster, so five near-identical random-character records are not each
  other's neighbourhood), as a z-score ``(d - mean) / std`` (``sigma``,
  default) or a robust z ``(d - median) / 1.4826 MAD`` (``robust``); records
  above the limit (default 3.0) are dropped. Outliers go before
  near-duplicates, so a cluster of junk is dropped whole rather than reduced
  to one kept "representative".

The base-model stage (perplexity) is skipped: fix needs embeddings only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from tuneahead_lint.errors import EmbedderError
from tuneahead_lint.fix.state import NEAR_DUPLICATES, OUTLIERS, Key, State, place, rule_ref
from tuneahead_lint.types import Example, text_hash


class SemanticUnavailable(RuntimeError):
    """The dataset-feature stage is not installed (the remedies are skipped, with a note)."""


class EmbedderUnavailable(RuntimeError):
    """The embedder asked for cannot be loaded (a one-line error, exit 2)."""


def apply_semantic(state: State, progress: Any = None) -> str:
    """Drop near-duplicates and outliers from ``state``; returns what computed them."""
    opts = state.opts
    examples = list(state.alive.values())
    try:
        result = feature_evidence(examples, opts, progress)
    except SemanticUnavailable as exc:
        state.notes.append(f"near-duplicates and outliers: skipped ({exc})")
        return ""
    refs = RefIndex(examples)
    if opts.outliers:  # first: a junk cluster goes whole, no member kept as its "representative"
        _drop_outliers(state, result.outliers, refs)
    if opts.mismatched:
        _drop_mismatched(state, getattr(result, "mismatches", ()), refs)
    if opts.semantic_dedup:
        _drop_clusters(state, result.clusters, refs)
    return f"dataset features ({_embedder_name(result)})"


def feature_evidence(examples: Sequence[Example], opts: Any, progress: Any = None) -> Any:
    """The :class:`~tuneahead_lint.features.FeatureResult` of ``examples``
    with the fix thresholds. Raises :class:`SemanticUnavailable` or
    :class:`EmbedderUnavailable`."""
    try:
        from tuneahead_lint.features import FeatureConfig, compute_features
    except ImportError as exc:
        raise SemanticUnavailable(f"dataset features are not installed: {exc}") from None
    cfg = FeatureConfig(embedder=opts.embedder, dup_threshold=opts.dedup_threshold,
                        outlier_sigma=opts.outlier_sigma, outlier_k=opts.outlier_k, skip=frozenset({"base_model"}),
                        mismatch_min_gap=_min_gap(opts),
                        progress=bool(progress), semantic_sample=0)  # fix drops records: every one is scored
    try:
        return compute_features(examples, cfg)
    except (EmbedderError, OSError) as exc:
        raise EmbedderUnavailable(f"near-duplicates and outliers need the embedder: {exc} "
                                  "(--fast: record-level remedies only)") from None


def _min_gap(opts: Any) -> float:
    """TA207 ``min_gap`` (its configured value, else the rule default) when
    ``--mismatched`` is on; else 0 (the local fit gap is not computed)."""
    from tuneahead_lint.ruleset.registry import find_rule

    rule = find_rule("TA207")
    if not opts.mismatched or rule is None:
        return 0.0
    return float({**rule.defaults(), **dict(opts.rule_options).get(rule.id, {})}["min_gap"])


class RefIndex:
    """Finds the example a feature result names by (path, line) and content
    key: the content key tells apart records that share a line (one-line
    JSON arrays)."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self._by: dict[tuple, list[Example]] = defaultdict(list)
        for ex in examples:
            self._by[(ex.path, ex.line, text_hash(ex.prompt, ex.response))].append(ex)

    def find(self, ref: tuple[str, int], content_key: str, taken: set[Key]) -> Example | None:
        """The first example at ``ref`` with ``content_key`` not in ``taken``."""
        for ex in self._by.get((ref[0], ref[1], content_key), ()):
            if (ex.path, ex.index) not in taken:
                return ex
        return None


def _drop_clusters(state: State, clusters: Sequence[Any], refs: RefIndex) -> None:
    rule = rule_ref(state.rules, NEAR_DUPLICATES)
    threshold = state.opts.dedup_threshold
    for c in clusters:
        taken: set[Key] = set()
        members = []
        for ref, key in zip(c.members, c.content_keys):
            if (ex := refs.find(ref, key, taken)) is not None:
                taken.add((ex.path, ex.index))
                if (ex.path, ex.index) in state.alive:  # not dropped as an outlier
                    members.append(ex)
        if len(members) < 2:
            continue
        keep, rest = members[0], members[1:]  # members[0] is the representative
        cosine = (f"cosine {c.min_similarity:.3f}" if c.min_similarity == c.max_similarity
                  else f"cosine {c.min_similarity:.3f}-{c.max_similarity:.3f}")
        for ex in rest:
            state.drop(ex, rule, f"near-duplicate of {place(keep, ex)} ({cosine} in a cluster of "
                                 f"{len(members)}, >= {threshold:g})")


def _drop_outliers(state: State, outliers: Sequence[Any], refs: RefIndex) -> None:
    rule = rule_ref(state.rules, OUTLIERS)
    limit, method = state.opts.outlier_sigma, state.opts.outlier_method
    taken: set[Key] = set()
    for o in sorted(outliers, key=lambda o: (o.ref, o.content_key)):
        score = o.z if method == "sigma" else o.robust_z
        ex = refs.find(o.ref, o.content_key, taken)
        if ex is None or score <= limit:
            continue
        taken.add((ex.path, ex.index))
        if (ex.path, ex.index) in state.alive:
            name, other = ("z", f"robust z {o.robust_z:.2f}") if method == "sigma" else (
                "robust z", f"z {o.z:.2f}")
            state.drop(ex, rule, f"{name}={score:.2f} > {limit:g} (cosine distance {o.distance:.3f} "
                                 f"to its {state.opts.outlier_k}th nearest record; {other})")


def _drop_mismatched(state: State, mismatches: Sequence[Any], refs: RefIndex) -> None:
    """Drop TA207 mismatched pairs (rule options: margin, z, local gap and PMI margin)."""
    from tuneahead_lint.checks.consistency import misplaced, mismatch_reason
    from tuneahead_lint.ruleset.registry import find_rule

    rule = find_rule("mismatched-pair", tuple(state.rules))
    if rule is None:
        return
    opts = {**rule.defaults(), **dict(state.opts.rule_options).get(rule.id, {})}
    margin, limit, pmi_margin = float(opts["min_margin"]), float(opts["z"]), float(opts["pmi_margin"])
    min_gap = float(opts["min_gap"])
    taken: set[Key] = set()
    for m in sorted(mismatches, key=lambda m: (m.ref, m.content_key)):
        ex = refs.find(m.ref, m.content_key, taken)
        if ex is None or not misplaced(m, margin, limit, pmi_margin, min_gap):
            continue
        taken.add((ex.path, ex.index))
        if (ex.path, ex.index) in state.alive:
            reason = mismatch_reason(m, margin, limit, pmi_margin, f"line {m.other_ref[1]}", min_gap)
            state.drop(ex, rule_ref(state.rules, rule.id),
                       f"response does not answer its prompt (cosine {m.own:.3f}, robust z {m.robust_z:.2f}): {reason}")


def _embedder_name(result: Any) -> str:
    info = dict(result.stats).get("embedding") or {}
    return str(info.get("model") or info.get("name") or "embedder")
