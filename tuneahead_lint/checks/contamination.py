"""Benchmark contamination (TA119): word n-gram overlap with benchmark test items.

Text is normalised to NFKC case-folded word runs (punctuation and whitespace
dropped, a CJK character is a word). Each word gets a stable 64-bit hash
(blake2b); an n-gram's hash is a polynomial over its word hashes (wrapping
uint64 arithmetic), computed for every window of every text at once with
numpy. An :class:`NgramIndex` holds sorted gram hashes and, per hash, the
benchmark item it came from.

Benchmark items are indexed by their 13-grams; a question shorter than 13
words (but at least 8) is indexed as one gram of its own length, so it
matches only when the whole question occurs. Grams found in three or more
items are boilerplate ("which of the following is ...") and left out.

The shipped index (``data/contamination/``, built by
``data/contamination/build.py`` from the public test sets, 7.2 MB) is two
``.npy`` arrays and a JSON table of benchmarks; user benchmarks (``eval_sets``) are
indexed on the fly: every string field of every record.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.checks.consistency import words
from tuneahead_lint.types import Example, Hit, text_hash

N = 13  # gram length (words), as in the GPT-3 contamination study
MIN_SHORT = 8  # shortest question indexed whole
MAX_ITEMS_PER_GRAM = 2  # grams in more items than this are boilerplate
FILTER_BITS = 24  # 16 M-entry prefilter (16 MB), a few % of false candidates
QUESTION_HEAD = 12  # leading 13-grams of a question always indexed (24 words)
_P = np.uint64(0x100000001B3)  # odd multiplier of the polynomial hash


@functools.lru_cache(maxsize=1 << 18)
def word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Texts:
    """Word hashes of many texts laid end to end: ``hashes[i]`` belongs to text ``owner[i]``."""

    hashes: np.ndarray  # uint64
    owner: np.ndarray  # int64

    @classmethod
    def of(cls, texts: Sequence[str]) -> Texts:
        per_text = [words(t) for t in texts]
        every = list(itertools.chain.from_iterable(per_text))
        vocab = {w: i for i, w in enumerate(dict.fromkeys(every))}
        table = np.fromiter((word_hash(w) for w in vocab), np.uint64, len(vocab))
        ids = np.fromiter(map(vocab.__getitem__, every), np.int64, len(every))
        return cls(table[ids], np.repeat(np.arange(len(texts)), [len(ws) for ws in per_text]))


def windows(t: Texts, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(gram hashes, owner text) of every n-word window inside one text."""
    m = len(t.hashes) - n + 1
    if m <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    h = np.full(m, np.uint64(n), np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _P + t.hashes[k:k + m]
    inside = t.owner[:m] == t.owner[n - 1:]
    return h[inside], t.owner[:m][inside]


def whole(t: Texts, lengths: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """(gram hash, owner) of each text whose length is in ``lengths``, as one gram."""
    counts = np.bincount(t.owner, minlength=int(t.owner.max()) + 1) if len(t.owner) else np.zeros(0, int)
    hs, os = [], []
    for n in lengths:
        h, o = windows(t, n)
        keep = counts[o] == n
        hs.append(h[keep])
        os.append(o[keep])
    return _cat(hs, np.uint64), _cat(os, np.int64)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


@dataclass(frozen=True)
class NgramIndex:
    """Sorted gram hashes, the item code of each (``item * 2``, ``+ 1`` for
    grams of answers/passages/choices rather than the question), the gram
    lengths present, and one (source, item number) per item."""

    hashes: np.ndarray  # uint64, sorted
    items: np.ndarray  # uint16/uint32 item code per hash
    lengths: tuple[int, ...]
    names: tuple[tuple[str, int], ...]  # item id -> (benchmark or file, 1-based item)

    @functools.cached_property
    def question_grams(self) -> np.ndarray:
        """Indexed question grams per item id."""
        codes = self.items.astype(np.int64)
        return np.bincount(codes[codes % 2 == 0] // 2, minlength=len(self.names))

    @functools.cached_property
    def _filter(self) -> np.ndarray:
        """Bit table over the low FILTER_BITS bits of the hashes: most grams
        of a training set are ruled out by one array lookup."""
        table = np.zeros(1 << FILTER_BITS, bool)
        table[self.hashes & np.uint64((1 << FILTER_BITS) - 1)] = True
        return table

    def lookup(self, grams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``grams`` found, their item codes)."""
        if not len(self.hashes) or not len(grams):
            return np.zeros(0, np.int64), np.zeros(0, np.uint32)
        maybe = np.flatnonzero(self._filter[grams & np.uint64((1 << FILTER_BITS) - 1)])
        pos = np.searchsorted(self.hashes, grams[maybe])
        pos[pos == len(self.hashes)] = 0
        hit = self.hashes[pos] == grams[maybe]
        return maybe[hit], self.items[pos[hit]]


def winnow(h: np.ndarray, owner: np.ndarray, w: int) -> np.ndarray:
    """Positions kept by winnowing: the smallest hash of every ``w``
    consecutive grams of one text, and of each text with fewer grams. A text
    sharing ``N + w - 1`` consecutive words with an indexed one then shares a
    kept gram (Schleimer et al. 2003); the query side keeps every gram."""
    if w <= 1 or not len(h):
        return np.arange(len(h))
    keep = np.zeros(len(h), bool)
    if len(h) >= w:
        view = np.lib.stride_tricks.sliding_window_view(h, w)
        starts = np.flatnonzero(owner[:len(view)] == owner[w - 1:])
        keep[starts + view[starts].argmin(axis=1)] = True
    order = np.lexsort((h, owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    keep[first] = True  # texts shorter than a window: their smallest gram
    return np.flatnonzero(keep)


def build_index(items: Sequence[tuple[Sequence[str], Sequence[str]]],
                names: Sequence[tuple[str, int]], window: int = 1,
                winnow_only: Sequence[bool] = ()) -> NgramIndex:
    """Index of ``items``, each (question strings, other strings): the first
    QUESTION_HEAD 13-grams of each question, its other 13-grams and those of the other strings winnowed with
    ``window``, and whole questions of 8-12 words; boilerplate grams (in more than MAX_ITEMS_PER_GRAM items) dropped."""
    texts, kinds, owner_item = [], [], []
    sparse = set(i for i, flag in enumerate(winnow_only) if flag)
    for item, (questions, others) in enumerate(items):
        for s, kind in [(q, "q") for q in questions] + [(o, "o") for o in others]:
            texts.append(s)
            kinds.append(kind)
            owner_item.append(item)
    t = Texts.of(texts)
    h13, o13 = windows(t, N)
    question = np.array([k == "q" for k in kinds], bool)
    rank = np.arange(len(o13)) - np.searchsorted(o13, o13)  # window position in its text
    dense = np.array([i not in sparse for i in owner_item], bool)
    head = question[o13] & dense[o13] & (rank < QUESTION_HEAD)
    kept = np.union1d(winnow(h13, o13, window), np.flatnonzero(head))
    h13, o13 = h13[kept], o13[kept]
    hs, os = whole(t, range(MIN_SHORT, N))
    keep = question[os] if len(os) else np.zeros(0, bool)
    grams = np.concatenate([h13, hs[keep]])
    owners = np.concatenate([o13, os[keep]])
    # code = item * 2 + 1 for grams of "other" strings (answers, passages, choices)
    item_of = np.asarray(owner_item, np.int64)[owners] * 2 + (~question[owners]).astype(np.int64)
    lengths = tuple(sorted({N, *(int(n) for n in np.bincount(t.owner)[os[keep]])})) if len(os) else (N,)
    return _dedupe(grams, item_of, lengths, tuple(names))


def _dedupe(grams: np.ndarray, items: np.ndarray, lengths: tuple[int, ...],
            names: tuple[tuple[str, int], ...]) -> NgramIndex:
    """Unique (gram, entry) pairs, each gram kept for its first entry; grams
    of more than MAX_ITEMS_PER_GRAM distinct items (names) dropped; sorted."""
    pairs = np.unique(np.stack([grams, items.astype(np.uint64)], axis=1), axis=0)
    g, i = pairs[:, 0], pairs[:, 1]
    name_id = {n: k for k, n in enumerate(dict.fromkeys(names))}
    group = np.array([name_id[n] for n in names], np.int64)[(i // 2).astype(np.int64)]
    per_item = np.unique(np.stack([g, group.astype(np.uint64)], axis=1), axis=0)[:, 0]
    items_of_gram = dict(zip(*np.unique(per_item, return_counts=True)))
    uniq, first = np.unique(g, return_index=True)
    keep = np.array([items_of_gram[h] <= MAX_ITEMS_PER_GRAM for h in uniq.tolist()], bool)
    dtype = np.uint16 if 2 * len(names) < 1 << 16 else np.uint32
    return NgramIndex(uniq[keep], i[first[keep]].astype(dtype), lengths, names)


# --- the shipped index --------------------------------------------------------------


def index_dir() -> Path:
    from tuneahead_lint.resources import data_dir

    return data_dir("data") / "contamination"


@functools.lru_cache(maxsize=2)
def shipped_index(folder: str | None = None) -> NgramIndex:
    """The public-benchmark index (``hashes.npy``, ``items.npy``, ``benchmarks.json``)."""
    d = Path(folder) if folder else index_dir()
    meta = json.loads((d / "benchmarks.json").read_text(encoding="utf-8"))
    names: list[tuple[str, int]] = []
    for b in meta["benchmarks"]:  # an item may have several index entries (question, + options)
        names += [(b["name"], k + 1) for k in range(b["items"]) for _ in range(b.get("entries_per_item", 1))]
    return NgramIndex(np.load(d / "hashes.npy", allow_pickle=False),
                      np.load(d / "items.npy", allow_pickle=False),
                      tuple(meta["lengths"]), tuple(names))


# --- user eval sets -----------------------------------------------------------------


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def eval_set_items(path: str) -> list[list[str]]:
    """Every string field of every record of ``path`` (any container the readers read)."""
    from tuneahead_lint.readers import InputError
    from tuneahead_lint.readers.containers import pieces
    from tuneahead_lint.readers.records import decode

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(path, None, f"eval set cannot be read: {exc.strerror or exc}") from None
    items = []
    with handle:
        for piece in pieces(path, handle):
            if not piece.decodable:
                raise InputError(path, piece.line, f"eval set: {piece.problems[0].detail}")
            value, problem, _notes = (piece.value, None, ()) if piece.decoded else decode(piece)
            if problem is not None:
                raise InputError(path, piece.line, f"eval set: {problem.detail}")
            items.append(list(_strings(value)))
    return items


@functools.lru_cache(maxsize=8)
def eval_set_index(paths: tuple[str, ...]) -> NgramIndex:
    """Index of the user's benchmarks: every string field counts as a question."""
    items, names = [], []
    for path in paths:
        for k, strings in enumerate(eval_set_items(path), 1):
            items.append((strings, ()))
            names.append((Path(path).name, k))
    return build_index(items, names)


# --- the check ----------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    record: int  # position in the examples list
    source: str
    item: int
    grams: int  # shared grams (question and other strings)
    coverage: float  # share of the item's indexed question grams found
    n: int  # longest matching gram length


def matches(texts: Sequence[str], owners: Sequence[int], index: NgramIndex) -> list[Match]:
    """Best-matching item per owner (highest question coverage, then most
    grams). A whole short question counts only where it is at least half of
    the text it is found in (a generic question inside a long text is not a
    copied test item)."""
    t = Texts.of(texts)
    text_words = np.bincount(t.owner, minlength=len(texts))
    found: dict[tuple[int, int], set[tuple[int, int, int]]] = {}
    for n in index.lengths:
        grams, owner = windows(t, n)
        pos, codes = index.lookup(grams)
        for g, o, code in zip(grams[pos].tolist(), owner[pos].tolist(), codes.tolist()):
            if n < N and text_words[o] > 2 * n:
                continue
            found.setdefault((owners[o], code // 2), set()).add((g, n, code % 2))
    best: dict[int, Match] = {}
    for (rec, item), hits in sorted(found.items()):
        q = sum(1 for _, _, other in hits if not other)
        cover = q / max(1, int(index.question_grams[item]))
        m = Match(rec, *index.names[item], len(hits), min(1.0, cover), max(n for _, n, _ in hits))
        if rec not in best or (m.coverage, m.grams) > (best[rec].coverage, best[rec].grams):
            best[rec] = m
    return [best[r] for r in sorted(best)]


def _indexes(ctx: CheckContext) -> list[NgramIndex]:
    out = []
    if ctx.options["benchmarks"]:
        out.append(shipped_index())
    paths = tuple(str(p) for p in ctx.options["eval_sets"] or ())
    if paths:
        out.append(eval_set_index(paths))
    return out


CHUNK = 4096  # records hashed at a time (bounds memory on large sets)
# Field labels that prompt formats put around benchmark items ("Passage: ...
# Question: ... Choices: ... Answer:"); the index holds the items without them.
_LABELS = re.compile(r"(?im)^[ \t]*(?:passage|question|context|choices|options|answer|premise|hypothesis)[ \t]*:")


def unlabelled(text: str) -> str:
    """``text`` without line-initial field labels ("Question:", "Choices:")."""
    return _LABELS.sub(" ", text) if ":" in text else text


def _chunked_matches(valid: Sequence[Example], index: NgramIndex) -> Iterator[Match]:
    """:func:`matches` of every record's prompt and response, CHUNK records at a time."""
    for start in range(0, len(valid), CHUNK):
        part = valid[start:start + CHUNK]
        texts = [unlabelled(s) for ex in part for s in (ex.prompt, ex.response)]
        owners = [start + i for i in range(len(part)) for _ in (0, 1)]
        yield from matches(texts, owners, index)


@check("benchmark_contamination", per_record=True)
def benchmark_contamination(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """One hit per record sharing word n-grams with a benchmark item."""
    valid = [ex for ex in examples if ex.ok]
    min_cover = float(ctx.options["min_coverage"])
    min_grams = int(ctx.options["min_grams"])
    best: dict[int, Match] = {}
    for index in _indexes(ctx):
        for m in _chunked_matches(valid, index):
            if m.coverage < min_cover and m.grams < min_grams:
                continue
            if m.record not in best or (m.coverage, m.grams) > (best[m.record].coverage, best[m.record].grams):
                best[m.record] = m
    for rec in sorted(best):
        m, ex = best[rec], valid[rec]
        yield Hit(ex.path, (ex.line,), (
            ("benchmark", m.source), ("item", m.item), ("grams", m.grams),
            ("coverage", f"{m.coverage:.0%}"), ("n", m.n)),
            key=text_hash("contamination", m.source, str(m.item), ex.prompt, ex.response)[:32],
            records=(ex.index + 1,))
