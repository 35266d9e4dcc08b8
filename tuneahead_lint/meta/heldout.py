"""A fixed clean held-out split of each source set (what ``y_indomain`` scores).

:func:`split` takes ``n`` records out of a source set, the same ones on
every machine and for every run, whatever the run's recipe or seed:

- **clean**: a candidate is a decoded record with a non-blank prompt and
  response whose prompt, response and (prompt, response) pair each occur
  once in the set after normalisation (no duplicate, no conflicting answer,
  no shared boilerplate response);
- **fixed**: candidates in the order of ``sha256(set name, pair key)``, the
  first ``n`` held out (file order and the run play no part);
- **sealed**: the training pool is every other record that shares no
  normalised prompt, response or pair with a held-out record
  (:func:`leaks` is the check; empty by construction).

Normalisation (:func:`norm`): NFKC, case-folded, punctuation and symbols dropped,
whitespace collapsed; two texts equal under it are duplicates for this
module (a superset of TA106's exact duplicates).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from tuneahead_lint.types import Example

HELDOUT_N = 200  # held-out records per source set in the v2 presets


_NON_WORD = re.compile(r"[^\w\s]+")


def norm(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols dropped, whitespace collapsed."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def prompt_key(ex: Example) -> str:
    """Normalised context: every turn before the last assistant turn, with roles."""
    last = max((i for i, t in enumerate(ex.turns) if t.role == "assistant"), default=len(ex.turns))
    return "\x1e".join(f"{t.role}\x1f{norm(t.content)}" for t in ex.turns[:last] if norm(t.content))


def response_key(ex: Example) -> str:
    return norm(ex.response)


def pair_key(ex: Example) -> str:
    return _keys(ex)[2]


@functools.lru_cache(maxsize=1 << 17)
def _keys(ex: Example) -> tuple[str, str, str]:
    prompt, response = prompt_key(ex), response_key(ex)
    return prompt, response, f"{prompt}\x1d{response}"


def _candidates(records: Sequence[Example]) -> list[Example]:
    usable = [ex for ex in records if ex.ok and prompt_key(ex) and response_key(ex)]
    counts = Counter(k for ex in records if ex.ok for k in set(_keys(ex)))
    return [ex for ex in usable if all(counts[k] == 1 for k in set(_keys(ex)))]


def _rank(set_name: str, ex: Example) -> str:
    return hashlib.sha256(f"{set_name}\0{_keys(ex)[2]}".encode("utf-8", "surrogatepass")).hexdigest()


def split(set_name: str, records: Sequence[Example], n: int = HELDOUT_N) -> tuple[list[Example], list[Example]]:
    """``(train_pool, heldout)`` of one source set; both keep file order.

    :raises ValueError: ``n`` < 0, or fewer than ``n`` clean candidates, or
        the held-out would take more than half the set."""
    if n < 0:
        raise ValueError(f"held-out size must be >= 0, got {n}")
    if n == 0:
        return [ex for ex in records if ex.ok], []
    cands = _candidates(records)
    if n > len(cands) or 2 * n > len(records):
        raise ValueError(f"source {set_name!r}: cannot hold out {n} records "
                         f"({len(records)} records, {len(cands)} clean candidates)")
    chosen = {id(ex) for ex in sorted(cands, key=lambda ex: _rank(set_name, ex))[:n]}
    heldout = [ex for ex in records if id(ex) in chosen]
    sealed = sealed_keys(heldout)
    train = [ex for ex in records if ex.ok and id(ex) not in chosen and not touches(ex, sealed)]
    return train, heldout


def sealed_keys(heldout: Iterable[Example]) -> frozenset[str]:
    """Every key a training record must not share with the held-out records."""
    return frozenset(k for ex in heldout for k in _keys(ex) if k)


def touches(ex: Example, sealed: frozenset[str]) -> bool:
    """Does ``ex`` share a prompt, response or pair key with ``sealed``?"""
    return not sealed.isdisjoint(k for k in _keys(ex) if k)


def leaks(train: Iterable[Example], heldout: Iterable[Example]) -> list[Example]:
    """Training records that duplicate a held-out one (prompt, response or pair, normalised)."""
    sealed = sealed_keys(heldout)
    return [ex for ex in train if touches(ex, sealed)]
