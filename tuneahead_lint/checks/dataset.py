"""Dataset checks (TA2xx) over the static features.

Checks that need embeddings or the base model read ``ctx.features`` (a
:class:`~tuneahead_lint.features.FeatureResult`) and yield nothing when it
is ``None``: the pipeline then reports their rule as skipped. Checks that
need only the records (constant instruction, repetitive responses) compute
from the examples and always run.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tuneahead_lint.checks import CheckContext, check, streamed
from tuneahead_lint.checks.stream import DigestLog, FeatureIndexed, digest
from tuneahead_lint.types import Example, Hit, text_hash

Ref = tuple[str, int]


def _place(refs: Sequence[Ref]) -> tuple[str, tuple[int, ...], tuple[Ref, ...]]:
    """Anchor path, its lines (first ref first) and refs in other files."""
    path = refs[0][0]
    lines = tuple(line for p, line in refs if p == path)
    related = tuple(r for r in refs if r[0] != path)
    return path, lines, related


def _record_numbers(examples: Sequence[Example]) -> dict[tuple[str, int, str], list[int]]:
    """(path, line, content hash) -> 1-based record numbers: tells apart
    records that share a line (one-line JSON arrays)."""
    out: dict[tuple[str, int, str], list[int]] = {}
    for e in examples:
        if e.ok:
            out.setdefault((e.path, e.line, text_hash(e.prompt, e.response)), []).append(e.index + 1)
    return out


def _numbers(index: dict[tuple[str, int, str], list[int]], refs: Sequence[Ref],
             keys: Sequence[str], path: str) -> tuple[int, ...]:
    """Record numbers of the refs in ``path`` (first unused match each)."""
    used: set[int] = set()
    out = []
    for (p, line), key in zip(refs, keys):
        if p != path:
            continue
        free = [n for n in index.get((p, line, key), ()) if n not in used]
        if free:
            used.add(free[0])
            out.append(free[0])
    return tuple(out)


def _content_key(record_hashes: Iterable[str]) -> str:
    """Fingerprint text from record contents (``text_hash(prompt, response)``
    of each record), not line numbers."""
    return text_hash(*sorted(record_hashes))[:32]


def _record_key(e: Example) -> str:
    return _content_key([text_hash(e.prompt, e.response)])


def _cluster_refs(features: Any) -> Iterator[Ref]:
    return (ref for cl in features.clusters for ref in cl.members)


def _near_duplicate_hits(index: dict, ctx: CheckContext) -> Iterator[Hit]:
    """One hit per near-duplicate cluster, anchored at its representative."""
    floor = float(ctx.options["min_similarity"])
    min_size = int(ctx.options["min_size"])
    skip_copies = bool(ctx.options["skip_exact_copies"])
    for cl in ctx.features.clusters:
        if cl.min_similarity < floor or len(cl.members) < min_size:
            continue
        if skip_copies and len(set(cl.content_keys)) == 1:
            continue  # byte-identical records only: TA106 exact-duplicate reports them
        path, lines, related = _place(cl.members)
        yield Hit(path, lines, evidence=(
            ("size", len(cl.members)), ("min_similarity", round(cl.min_similarity, 3)),
            ("max_similarity", round(cl.max_similarity, 3)), ("threshold", floor),
            ("keep", f"{cl.representative[0]}:{cl.representative[1]}")),
            key=_content_key(cl.content_keys), related=related,
            records=_numbers(index, cl.members, cl.content_keys, path))


@streamed("near_duplicates")
def near_duplicates(ctx: CheckContext) -> FeatureIndexed:
    """One hit per near-duplicate cluster, anchored at its representative."""
    return FeatureIndexed(ctx, _cluster_refs, _near_duplicate_hits)


def _outlier_refs(features: Any) -> Iterator[Ref]:
    return (o.ref for o in features.outliers)


def _outlier_hits(index: dict, ctx: CheckContext) -> Iterator[Hit]:
    robust = ctx.options["method"] == "robust"
    limit = float(ctx.options["z"])
    k = int(ctx.options["k"])
    for o in ctx.features.outliers:
        score = o.robust_z if robust else o.z
        if score > limit:
            yield Hit(o.ref[0], (o.ref[1],), evidence=(
                ("score", round(score, 2)), ("method", "robust z" if robust else "z"),
                ("limit", limit), ("distance", round(o.distance, 3)), ("k", k)),
                key=_content_key([o.content_key]),
                records=_numbers(index, [o.ref], [o.content_key], o.ref[0]))


@streamed("embedding_outliers")
def embedding_outliers(ctx: CheckContext) -> FeatureIndexed:
    """One hit per record whose (robust) z-score exceeds the limit."""
    return FeatureIndexed(ctx, _outlier_refs, _outlier_hits)


def _instruction(e: Example) -> bytes:
    """Digest of the record's instruction key (first prompt line)."""
    from tuneahead_lint.features.corpus import instruction_key

    return digest(instruction_key(e.prompt))


@streamed("constant_instruction")
class ConstantInstruction:
    """One hit when one instruction (first prompt line) starts too many
    records. The first pass logs instruction digests (16 bytes a record);
    the second keeps the places of the records that open with the most
    common one."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.min_records = int(ctx.options["min_records"])
        self.limit = float(ctx.options["max_share"])
        self.log = DigestLog()
        self.valid = 0
        self.top: bytes | None = None
        self.text = ""
        self.group: list[tuple[str, int, int]] = []
        given = getattr(ctx.features, "instruction", None)  # the full lint computed the group already
        if given is not None:
            self.passes, self.top = 1, b""
            if given.valid >= self.min_records and len(given.records) / given.valid > self.limit:
                self.valid, self.text = given.valid, given.instruction
                self.group = [(p, line, r - 1) for (p, line), r in zip(given.members, given.records)]

    def observe(self, e: Example) -> None:
        if e.ok:
            self.log.add(_instruction(e))

    def _wanted(self) -> bytes | None:
        """The most common digest when it is over the limit (else None)."""
        if self.top is None:
            self.valid, found = len(self.log), self.log.most_common()
            over = found is not None and self.valid >= self.min_records and found[1] / self.valid > self.limit
            self.top, self.log = (found[0] if over else b""), DigestLog()
        return self.top or None

    def record(self, e: Example) -> Iterable[Hit]:
        if self.passes == 2 and e.ok and self._wanted() is not None and _instruction(e) == self.top:
            if not self.group:
                from tuneahead_lint.features.corpus import instruction_key
                self.text = instruction_key(e.prompt)
            self.group.append((e.path, e.line, e.index))
        return ()

    def finish(self) -> Iterator[Hit]:
        if not self.group:
            return
        valid, top = self.valid, self.text
        path, lines, related = _place([(p, line) for p, line, _ in self.group])
        shown = top if len(top) <= 60 else top[:57] + "..."
        yield Hit(path, lines, evidence=(
            ("share", f"{len(self.group) / valid:.1%}"), ("count", len(self.group)), ("records", valid),
            ("limit", f"{self.limit:.0%}"), ("instruction", shown)),
            key=text_hash("constant_instruction", top)[:32], related=related,
            records=tuple(i + 1 for p, _, i in self.group if p == path))


@check("repetitive_responses", per_record=True)
def repetitive_responses(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """One hit per response whose word 3-grams repeat too much (looping text)."""
    from tuneahead_lint.features.corpus import WORD
    from tuneahead_lint.features.static.lexical import ngram_repetition

    from tuneahead_lint.checks.textutil import is_code

    prose_limit = float(ctx.options["max_repetition"])
    code_limit = float(ctx.options["max_repetition_code"])
    min_words = int(ctx.options["min_words"])
    for e in examples:
        if not e.ok:
            continue
        words = WORD.findall(e.response.lower())
        rep = ngram_repetition(words) if len(words) >= min_words else None
        limit = code_limit if rep is not None and is_code(e.response) else prose_limit
        if rep is not None and rep > limit:
            yield Hit(e.path, (e.line,), evidence=(
                ("repetition", f"{rep:.0%}"), ("limit", f"{limit:.0%}"), ("words", len(words))),
                key=_record_key(e), records=(e.index + 1,))


def _feature(ctx: CheckContext, name: str):  # noqa: ANN202 - Measure | None
    if ctx.features is None:
        return None
    measure = dict(ctx.features.values).get(name)
    if measure is None or math.isnan(measure.value):
        return None
    return measure


def _dataset_hit(refs: Sequence[Ref], evidence: tuple[tuple[str, object], ...], key: str) -> Iterator[Hit]:
    if refs:
        path, lines, related = _place(refs)
        yield Hit(path, lines, evidence=evidence, key=key, related=related)


@check("short_responses")
def short_responses(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """One hit when the mean response is shorter than the limit (tokens)."""
    measure = _feature(ctx, "response_tokens_mean")
    limit = float(ctx.options["min_mean_tokens"])
    if measure is None or measure.value >= limit:
        return
    yield from _dataset_hit(measure.refs, (("mean", round(measure.value, 1)), ("limit", limit)),
                            key="short_responses")


@check("high_reference_perplexity")
def high_reference_perplexity(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """One hit when the sampled mean perplexity under the base model is high."""
    measure = _feature(ctx, "reference_ppl_mean")
    limit = float(ctx.options["max_perplexity"])
    if measure is None or measure.value <= limit:
        return
    sample = dict(ctx.features.samples).get("reference_ppl", 0)
    yield from _dataset_hit(measure.refs, (
        ("perplexity", round(measure.value, 1)), ("limit", limit), ("sample", sample)),
        key="high_reference_perplexity")
