"""TA121 lexical near-duplicates: the near-duplicate rule of ``--fast``.

Two passes over the records (:mod:`.stream`):

1. ``observe``: each record's word 3-gram shingles (prompt and response,
   :mod:`.minhash`) become 16 band hashes, 64 bytes a record in one array.
   Between the passes, records that share a band bucket become candidate
   pairs (numpy, no Python object per record).
2. ``record``: the candidates' shingles are built again and the records are
   clustered in input order: a record joins the earliest *representative*
   (a record that joined no one) among its candidate partners whose exact
   Jaccard with it is at least ``min_jaccard`` and whose response Jaccard is
   at least ``min_response_jaccard``. Only representatives' shingles are
   held, each until its last candidate partner has passed.

Every member of a cluster is that similar to the representative, the record
``fix`` keeps. Clusters of byte-identical copies are left to TA106. In the
full lint, a member that TA201 puts in its representative's embedding cluster
is left to TA201 (one finding per pair, not two).
"""

from __future__ import annotations

import heapq
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuneahead_lint.checks import CheckContext, streamed
from tuneahead_lint.checks.consistency import split_words, words
from tuneahead_lint.checks.minhash import (
    BANDS, TABLE_BITS, band_hashes, candidate_keys, compact, count_documents, documents, jaccard, jaccards,
    per_record, response_part,
    shingle_batch, side_text, signatures,
)
from tuneahead_lint.checks.record import normalise
from tuneahead_lint.checks.stream import digest
from tuneahead_lint.types import Example, Hit, text_hash

CHUNK = 512  # records whose band hashes are computed together
EMBEDDING_RULE = "near-duplicates"  # TA201
TEMPLATE_MIN_RECORDS = 20  # a shingle in fewer records is never template text
SATURATED = np.iinfo(np.uint16).max  # document counts stop here


@dataclass(frozen=True, slots=True)
class Seen:
    """What a cluster keeps of one record (packed by :class:`Places`)."""

    path: str
    line: int
    index: int
    content: bytes  # 16 bytes of text_hash(prompt, response): the fingerprint
    copy_key: bytes  # digest of the TA106 key: byte-identical copies are TA106's


class Places:
    """Records' places packed into 52 bytes each (path number, line, record
    index, content and copy digests): no Python object per record held."""

    PACK = struct.Struct("<iqq16s16s")

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.paths: list[str] = []

    def pack(self, ex: Example) -> bytes:
        key = "\x1e".join(f"{t.role}\x1f{normalise(t.content)}" for t in ex.turns)
        number = self.numbers.setdefault(ex.path, len(self.paths))
        if number == len(self.paths):
            self.paths.append(ex.path)
        content = bytes.fromhex(text_hash(ex.prompt, ex.response)[:32])
        return self.PACK.pack(number, ex.line, ex.index, content, digest(key))

    def unpack(self, raw: bytes) -> Seen:
        number, line, index, content, copy_key = self.PACK.unpack(raw)
        return Seen(self.paths[number], line, index, content, copy_key)


Member = tuple[Seen, float, float]  # a near-copy, its Jaccard and response Jaccard to the kept record
MEMBER = struct.Struct("<qff")  # representative, Jaccard, response Jaccard; then the member's place
Texts = tuple[str, str]  # prompt and response words, as minhash.side_text joins them
CHUNK_CHARS = 1 << 18  # characters hashed at once: the batch's uint64 work arrays stay ~10 MB


_ANY = re.compile(r"[^\W_]|_")


def texts(ex: Example) -> tuple[str, str] | None:
    """Prompt and response of a record that takes part: valid, with a word
    character (pass 1 decides; pass 2 reads the answer back)."""
    if not ex.ok:
        return None
    prompt, response = ex.prompt, ex.response
    return (prompt, response) if _ANY.search(prompt) or _ANY.search(response) else None


def sides(prompt: str, response: str) -> Texts:
    """The words of prompt and response for shingling (:func:`~.minhash.side_text`).
    Prompts through TA117's word cache (it has just read them), responses
    without: no other rule reads their words, so caching them would only
    push the prompts out."""
    return side_text(words(prompt)), side_text(split_words(response))


@dataclass(frozen=True, slots=True)
class Shingled:
    """A record's shingles, 32 bits each (:func:`~.minhash.compact`): those
    that are not template text (all when every one is), those of its
    response; and its packed place."""

    content: np.ndarray
    response: np.ndarray
    place: bytes


class Candidates:
    """The candidate pairs of pass 1, by record position: earlier partners
    of each record, and the position of each record's last later partner."""

    def __init__(self, bands: np.ndarray) -> None:
        n = len(bands)
        keys = candidate_keys(bands)
        self.starts = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * n)
        self.earlier_of = (keys % max(n, 1)).astype(np.int32)
        self.last = np.full(n, -1, np.int32)
        np.maximum.at(self.last, self.earlier_of, (keys // max(n, 1)).astype(np.int32))

    def earlier(self, p: int) -> np.ndarray:
        return self.earlier_of[self.starts[p]:self.starts[p + 1]]

    def involved(self, p: int) -> bool:
        return bool(self.last[p] > p or self.starts[p + 1] > self.starts[p])


@streamed("lexical_near_duplicates")
class LexicalNearDuplicates:
    """One hit per cluster of lexical near-duplicates (see the module doc)."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.min_jaccard = float(ctx.options["min_jaccard"])
        self.min_response = float(ctx.options["min_response_jaccard"])
        self.template_share = float(ctx.options["template_share"])
        self.min_size = int(ctx.options["min_size"])
        self.skip_copies = bool(ctx.options["skip_exact_copies"])
        self.features = ctx.features if EMBEDDING_RULE in ctx.rules else None  # TA201 reports its pairs
        self.pending: list[Texts] = []
        self.pending_chars = 0
        self.bands: list[np.ndarray] = []
        self.table = np.zeros(1 << TABLE_BITS, np.uint16)  # records per shingle slot, saturating
        self.cand: Candidates | None = None
        self.template = 0  # records a shingle is in from which on it is template text
        self.takes = bytearray()  # 1 where the record at that place in the stream takes part
        self.seen = 0
        self.pos = 0
        self.places = Places()
        self.held: dict[int, Shingled] = {}  # representative -> its shingles and place
        self.expiry: dict[int, int] = {}  # representative -> position of its last partner
        self.until: list[tuple[int, int]] = []  # heap of (last partner, representative or -1 - member)
        self.rep_of: dict[int, int] = {}  # member with later partners -> its representative
        self.members = bytearray()  # MEMBER + place, 68 bytes a near-copy
        self.heads: dict[int, bytes] = {}  # representative with near-copies -> its place

    def observe(self, ex: Example) -> None:
        both = texts(ex)
        self.takes.append(both is not None)
        if both is not None:
            found = sides(*both)
            self.pending.append(found)
            self.pending_chars += len(found[0]) + len(found[1])
            if len(self.pending) >= CHUNK or self.pending_chars >= CHUNK_CHARS:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            hashes, owner = shingle_batch(self.pending)
            count_documents(self.table, hashes, owner)
            self.bands.append(band_hashes(signatures(hashes, owner, len(self.pending))))
            self.pending, self.pending_chars = [], 0

    def _index(self) -> Candidates:
        if self.cand is None:
            self._flush()
            bands = np.concatenate(self.bands) if self.bands else np.zeros((0, BANDS), np.uint32)
            self.cand, self.bands = Candidates(bands), []
            self.template = min(max(TEMPLATE_MIN_RECORDS, int(self.template_share * len(bands))), SATURATED)
        return self.cand

    def record(self, ex: Example) -> Iterable[Hit]:
        cand = self._index()
        seen, self.seen = self.seen, self.seen + 1
        if not self.takes[seen]:
            return ()
        p, self.pos = self.pos, self.pos + 1
        if cand.involved(p):
            me = self._shingled(ex, (ex.prompt, ex.response))
            if me is not None:
                self._place(p, me, cand)
        self._release(p)
        return ()

    def _shingled(self, ex: Example, both: tuple[str, str]) -> Shingled | None:
        """The record's shingles (None when it has none: NFKC left no word)."""
        full = compact(per_record(*shingle_batch([sides(*both)]), 1)[0])
        if not len(full):
            return None
        content = full[documents(self.table, full) < self.template]
        return Shingled(content if len(content) else full, response_part(full), self.places.pack(ex))

    def _closest(self, reps: list[int], me: Shingled) -> tuple[int, float, float] | None:
        """The earliest representative whose Jaccard and response Jaccard with
        ``me`` reach their limits, with both (None when there is none)."""
        totals = jaccards([self.held[r].content for r in reps], me.content) if reps else ()
        for r, total in zip(reps, totals):
            if total >= self.min_jaccard:
                response = jaccard(self.held[r].response, me.response)
                if response >= self.min_response:
                    return r, float(total), response
        return None

    def _place(self, p: int, me: Shingled, cand: Candidates) -> None:
        """Join the earliest close representative, or become one."""
        reps = sorted({self.rep_of.get(int(i), int(i)) for i in cand.earlier(p)} & self.held.keys())
        found = self._closest(reps, me)
        if found is not None:
            r = found[0]
            self.members += MEMBER.pack(*found) + me.place
            self.heads.setdefault(r, self.held[r].place)
            if cand.last[p] > p:  # later partners of p compare with r: keep r as long
                self.rep_of[p] = r
                self._hold_until(r, int(cand.last[p]))
                heapq.heappush(self.until, (int(cand.last[p]), -1 - p))
        elif cand.last[p] > p:
            self.held[p] = me
            self._hold_until(p, int(cand.last[p]))

    def _hold_until(self, r: int, last: int) -> None:
        if last > self.expiry.get(r, -1):
            self.expiry[r] = last
            heapq.heappush(self.until, (last, r))

    def _release(self, p: int) -> None:
        """Let go of the representatives (and members) whose last partner has passed."""
        while self.until and self.until[0][0] <= p:
            last, r = heapq.heappop(self.until)
            if r < 0:
                self.rep_of.pop(-1 - r, None)
            elif self.expiry.get(r) == last:
                del self.held[r], self.expiry[r]

    def finish(self) -> Iterator[Hit]:
        taken = _embedding_clusters(self.features)
        for r, members in self._clusters():
            head = self.places.unpack(self.heads[r])
            kept = [m for m in members if not _same_cluster(taken, head, m[0])]
            if len(kept) + 1 < self.min_size:
                continue
            if self.skip_copies and all(m[0].copy_key == head.copy_key for m in kept):
                continue
            yield _cluster_hit(head, kept, self.min_jaccard)

    def _clusters(self) -> Iterator[tuple[int, list[Member]]]:
        """(representative, its near-copies in input order), by representative."""
        size = MEMBER.size + Places.PACK.size
        rows = [self.members[k:k + size] for k in range(0, len(self.members), size)]
        reps = np.array([MEMBER.unpack_from(row)[0] for row in rows], np.int64)
        order = np.argsort(reps, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(reps[order])) + 1) if len(order) else ():
            yield int(reps[group[0]]), [self._member(rows[k]) for k in group]

    def _member(self, row: bytes) -> Member:
        _, total, response = MEMBER.unpack_from(row)
        return self.places.unpack(bytes(row[MEMBER.size:])), total, response


def _embedding_clusters(features: Any) -> dict[tuple[str, int], int]:
    """(path, line) -> TA201 cluster number, when the full lint computed them."""
    clusters = getattr(features, "clusters", None) or ()
    return {ref: k for k, cl in enumerate(clusters) for ref in cl.members}


def _same_cluster(taken: dict[tuple[str, int], int], a: Seen, b: Seen) -> bool:
    k = taken.get((a.path, a.line))
    return k is not None and taken.get((b.path, b.line)) == k


def _kept(head: Seen, group: list[Seen]) -> str:
    """How the message names the kept record (the finding's own file): its
    line, or its record number when a near-copy shares the line (one-line arrays)."""
    shared = any(s.line == head.line for s in group[1:] if s.path == head.path)
    return f"record {head.index + 1}" if shared else f"line {head.line}"


def _cluster_hit(head: Seen, members: list[Member], threshold: float) -> Hit:
    """The hit naming the representative first, then the members in input order."""
    group = [head] + [m[0] for m in members]
    mine = [s for s in group if s.path == head.path]
    scores = [m[1] for m in members]
    key = text_hash("lexical", *sorted(s.content.hex() for s in group))[:32]
    return Hit(head.path, tuple(s.line for s in mine), evidence=(
        ("size", len(group)), ("jaccard", round(min(scores), 3)), ("max_jaccard", round(max(scores), 3)),
        ("response_jaccard", round(min(m[2] for m in members), 3)),
        ("threshold", threshold), ("keep", _kept(head, group))),
        key=key, related=tuple((s.path, s.line) for s in group if s.path != head.path),
        records=tuple(s.index + 1 for s in mine))
