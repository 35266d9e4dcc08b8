"""Compact MinHash LSH over word shingles, in numpy (TA121).

A record's *shingles* are the 64-bit hashes of its word 3-grams (words as
:func:`~tuneahead_lint.checks.consistency.words` finds them: NFKC, case-folded,
punctuation dropped; each cut to :data:`MAX_CHARS` characters), prompt and
response apart: the lowest bit says the side. A side shorter than 3 words is
one shingle of all its words. Only the first :data:`MAX_WORDS` words of a side
count. A batch of records is hashed at once: the words are joined into one
byte string and every 3-word span hashed from prefix sums (a polynomial hash
modulo 2**64), so the cost per record is a few string joins, not numpy calls.

The LSH index keeps :data:`BANDS` 32-bit band hashes per record (64 bytes), in
one array, never a Python object per record: :data:`PERMS` = 64 MinHash values
cut into 16 bands of 4 rows, so two records whose shingle Jaccard is ``s``
share a band with probability ``1 - (1 - s**4)**16`` (0.5: 0.64, 0.6: 0.89,
0.7: 0.99, 0.8: 1.0). Every hash is seeded and stable across processes, so
the same input gives the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WIDTH = 3  # words per shingle
MAX_WORDS = 512  # words of each side that count
MAX_CHARS = 64  # characters of a word that count
PERMS, BANDS = 64, 16
ROWS = PERMS // BANDS
PER_BUCKET = 8  # earlier records of a band bucket each record is paired with
TABLE_BITS = 22  # document-frequency counters: 2**22 x 2 bytes

_U64 = np.uint64
_BASE = 0x100000001B3  # odd: invertible modulo 2**64
_BASE_INV = pow(_BASE, -1, 1 << 64)
_MIX = _U64(0x9E3779B97F4A7C15)
_rng = np.random.default_rng(121)
_A = _rng.integers(1, 2**32, PERMS, dtype=np.uint64).astype(np.uint32) | np.uint32(1)  # odd multipliers
_B = _rng.integers(0, 2**32, PERMS, dtype=np.uint64).astype(np.uint32)
_BAND_MIX = _rng.integers(1, 2**63, ROWS, dtype=np.uint64) | _U64(1)
_SPACE, _SIDE = 32, 10  # byte between words, byte between sides


def side_text(ws: Sequence[str]) -> str:
    """The words of one side as :func:`shingle_batch` reads them."""
    ws = ws[:MAX_WORDS]
    if ws and max(map(len, ws)) > MAX_CHARS:
        ws = [w[:MAX_CHARS] for w in ws]
    return " ".join(ws)


def _powers(n: int, base: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64 (the first 2**18 kept between calls)."""
    cached = _POWERS.get(base)
    if cached is not None and len(cached) >= n:
        return cached[:n]
    out = np.full(n, base, np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        out = np.cumprod(out, dtype=np.uint64)
    if n <= 1 << 18:
        _POWERS[base] = out
    return out


_POWERS: dict[int, np.ndarray] = {}


def shingle_batch(sides: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of records given as (prompt, response) :func:`side_text`
    pairs: (hashes, record number of each hash), in record order; a hash may
    repeat within a record. Records without words have no hash."""
    raw = "\n".join(f"{p}\n{r}" for p, r in sides).encode("utf-8", "surrogatepass")
    buf = np.frombuffer(raw, np.uint8)
    cut = np.flatnonzero((buf == _SPACE) | (buf == _SIDE))
    starts = np.concatenate(([0], cut + 1))
    ends = np.concatenate((cut, [len(buf)]))
    side_no = np.concatenate(([0], np.cumsum(buf[cut] == _SIDE)))  # side of each word
    keep = ends > starts  # empty sides leave empty words
    starts, ends, side_no = starts[keep], ends[keep], side_no[keep]
    first, last = _spans(side_no)
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(buf) + 1, np.uint64)
        np.cumsum(buf * _powers(len(buf), _BASE), dtype=np.uint64, out=prefix[1:])
        inv = _powers(len(buf) + 1, _BASE_INV)
        h = (prefix[ends[last]] - prefix[starts[first]]) * inv[starts[first]]
        h = (h ^ (h >> _U64(29))) * _MIX
        h ^= h >> _U64(32)
    side = side_no[first]
    return (h & ~_U64(1)) | (side % 2).astype(np.uint64), side // 2


def _spans(side_no: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first word, last word) of every shingle: each run of WIDTH words
    inside one side, or the whole side when it has fewer words."""
    n = len(side_no)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i = np.arange(max(n - WIDTH + 1, 0))
    full = i[side_no[i] == side_no[i + WIDTH - 1]]
    bounds = np.flatnonzero(np.concatenate(([True], side_no[1:] != side_no[:-1], [True])))
    size = np.diff(bounds)
    short = size < WIDTH
    first = np.concatenate((full, bounds[:-1][short]))
    last = np.concatenate((full + WIDTH - 1, bounds[1:][short] - 1))
    order = np.argsort(first, kind="stable")
    return first[order], last[order]


def unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values (sort and compare: quicker than np.unique on short arrays)."""
    values = np.sort(values)
    return values[_first_of_runs(values)] if len(values) else values


def _first_of_runs(values: np.ndarray) -> np.ndarray:
    """True where a run of equal values starts."""
    out = np.empty(len(values), bool)
    out[:1] = True
    np.not_equal(values[1:], values[:-1], out=out[1:])
    return out


def _starts(values: np.ndarray) -> np.ndarray:
    """Indexes where a run of equal values starts."""
    return np.flatnonzero(_first_of_runs(values))


def per_record(hashes: np.ndarray, owner: np.ndarray, n: int) -> list[np.ndarray]:
    """The sorted unique shingles of each of ``n`` records."""
    cuts = np.searchsorted(owner, np.arange(1, n))
    return [unique(part) for part in np.split(hashes, cuts)]


def signatures(hashes: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """(n, :data:`PERMS`) MinHash values (records without shingles: max).
    Permutation k maps a shingle's high 32 bits x to ``a_k * x + b_k``
    modulo 2**32 (odd ``a_k``: a bijection of the well-mixed hashes)."""
    out = np.full((n, PERMS), np.iinfo(np.uint32).max, np.uint32)
    if len(hashes) == 0:
        return out
    offsets = _starts(owner)
    for lo in range(0, len(offsets), 64):  # ~64 records at a time: the (shingles, 64) matrix stays small
        hi = offsets[lo + 64] if lo + 64 < len(offsets) else len(hashes)
        part = (hashes[offsets[lo]:hi] >> _U64(32)).astype(np.uint32)
        with np.errstate(over="ignore"):
            values = part[:, None] * _A + _B
        out[owner[offsets[lo:lo + 64]]] = np.minimum.reduceat(values, offsets[lo:lo + 64] - offsets[lo], axis=0)
    return out


def band_hashes(sig: np.ndarray) -> np.ndarray:
    """(records, :data:`BANDS`) uint32 hashes of the signature's bands."""
    rows = sig.reshape(len(sig), BANDS, ROWS).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = (rows * _BAND_MIX).sum(axis=2, dtype=np.uint64)
    return (mixed >> _U64(32)).astype(np.uint32)


def count_documents(table: np.ndarray, hashes: np.ndarray, owner: np.ndarray) -> None:
    """Add 1 to ``table`` at each shingle's slot, once per record (saturating)."""
    slots = (hashes >> _U64(64 - TABLE_BITS)).astype(np.int64)
    keys = np.sort(owner.astype(np.int64) << TABLE_BITS | slots)
    if not len(keys):
        return
    slot = np.sort(unique(keys) & ((1 << TABLE_BITS) - 1))
    starts = _starts(slot)
    at = slot[starts]
    limit = np.iinfo(table.dtype).max
    table[at] = np.minimum(table[at].astype(np.int64) + np.diff(np.append(starts, len(slot))), limit)


def compact(shingles: np.ndarray) -> np.ndarray:
    """Sorted unique 32-bit shingles: the high 32 bits of each, its lowest
    bit the side again (what a held record keeps; same table slots)."""
    high = (shingles >> _U64(32)).astype(np.uint32)
    return unique((high & ~np.uint32(1)) | (shingles & _U64(1)).astype(np.uint32))


def response_part(shingles: np.ndarray) -> np.ndarray:
    """The response shingles of a :func:`compact` set (lowest bit set)."""
    one = np.uint32(1)
    return shingles[(shingles & one) == one]


def documents(table: np.ndarray, shingles: np.ndarray) -> np.ndarray:
    """How many records hold each :func:`compact` shingle (an upper bound: slots are shared)."""
    return table[(shingles >> np.uint32(32 - TABLE_BITS)).astype(np.int64)]


def candidate_keys(bands: np.ndarray) -> np.ndarray:
    """Sorted unique ``j * n + i`` (i < j) of the rows that share a band
    bucket, so sorted by j, then i: each row paired with the first
    :data:`PER_BUCKET` rows of each bucket it is in (a bucket of many
    unrelated rows stays linear). 8 bytes a pair, no (pairs, 2) array."""
    n = len(bands)
    keys = np.zeros(0, np.int64)
    for b in range(bands.shape[1] if n else 0):
        order = np.argsort(bands[:, b], kind="stable")
        first = np.repeat(starts := _starts(bands[order, b]), np.diff(np.append(starts, n)))
        pos = np.arange(n) - first
        found = unique(np.concatenate([order[pos > q] * n + order[first[pos > q] + q] for q in range(PER_BUCKET)]))
        if len(keys):
            found = found[~_found_in(found, keys)]  # most pairs share several bands
        keys = np.insert(keys, np.searchsorted(keys, found), found)
    return keys


def jaccards(sets: Sequence[np.ndarray], b: np.ndarray) -> np.ndarray:
    """Jaccard of each non-empty sorted unique array in ``sets`` with ``b``, at once."""
    flat = np.concatenate(sets)
    sizes = np.array([len(x) for x in sets])
    common = np.add.reduceat(_found_in(flat, b), np.cumsum(sizes) - sizes) if len(b) else np.zeros(len(sets))
    return common / (sizes + len(b) - common)


def _found_in(values: np.ndarray, sorted_b: np.ndarray) -> np.ndarray:
    """Whether each value is in the sorted, non-empty ``sorted_b``."""
    at = np.minimum(np.searchsorted(sorted_b, values), len(sorted_b) - 1)
    return sorted_b[at] == values


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique arrays (1.0 when both are empty)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return 0.0 if len(b) else 1.0
    common = int(np.count_nonzero(_found_in(a, b)))
    return common / (len(a) + len(b) - common)
