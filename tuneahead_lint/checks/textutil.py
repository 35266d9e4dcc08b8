"""Shared text helpers of the content checks (text, language, pii): turn
selection, code detection, letter scripts and language identification.

Language identification is CLD2 (``pycld2``): its model is compiled into the
wheel (works offline) and it reads ~80k short texts a second, where
py3langid took 2.1 s for the 11k texts of alpaca_5k_subset. CLD2 says when
it is not sure (``reliable``); callers treat such texts as unidentified.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import TypeVar

from tuneahead_lint.types import Example, Turn

T = TypeVar("T")

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://\S*")  # URLs say nothing of the language (percent-encoded bytes read as English)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_ID_CHARS = 4000  # CLD2 reads a prefix: the language of a record shows early

# (script, ranges) for the scripts a record may be written in; others are "Other".
_SCRIPTS = (
    ("Latin", "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"),
    ("Cyrillic", "\u0400-\u04ff"),
    ("Greek", "\u0370-\u03ff"),
    ("Arabic", "\u0600-\u06ff"),
    ("Hebrew", "\u0590-\u05ff"),
    ("Devanagari", "\u0900-\u097f"),
    ("Thai", "\u0e00-\u0e7f"),
    ("Hangul", "\u1100-\u11ff\uac00-\ud7af"),
    ("CJK", "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"),  # Han with Japanese kana
)
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_ASCII_LETTER_BYTES = string.ascii_letters.encode("ascii")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SCRIPT_RUNS = tuple((name, re.compile(f"[{chars}]+")) for name, chars in _SCRIPTS)


def valid(examples: Sequence[Example]) -> Iterator[Example]:
    return (ex for ex in examples if ex.ok)


def assistant_turns(ex: Example) -> Iterator[tuple[int, Turn]]:
    """(1-based turn number, turn) of every non-empty assistant turn."""
    return ((i + 1, t) for i, t in enumerate(ex.turns) if t.role == "assistant" and t.content.strip())


def user_text(ex: Example) -> str:
    """All user and system turns joined: what the responses answer."""
    return "\n\n".join(t.content for t in ex.turns if t.role != "assistant")


def text_cache(maxsize: int, longest: int = 1 << 16) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """``lru_cache`` for texts of at most ``longest`` characters; a longer
    text is computed afresh each time. The records are streamed, not held,
    so a cache entry keeps its text (and result) alive on its own: the
    bound keeps one 100 MB record from staying in memory through the run."""
    def wrap(fn: Callable[[str], T]) -> Callable[[str], T]:
        cached = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def call(text: str) -> T:
            return cached(text) if len(text) <= longest else fn(text)
        call.cache_info, call.cache_clear = cached.cache_info, cached.cache_clear  # type: ignore[attr-defined]
        return call
    return wrap


@text_cache(maxsize=4096)
def is_code(text: str) -> bool:
    """The project's code detector (fences, unmistakable code lines), cached:
    several record rules ask it about the same response."""
    from tuneahead_lint.features.static.lengths import looks_like_code

    return looks_like_code(text)


@text_cache(maxsize=8192)
def scripts(text: str) -> Counter[str]:
    """Letters per script. ASCII letters are counted on the UTF-8 bytes (one
    C pass); only the non-ASCII rest is searched script by script."""
    if text.isascii():
        return Counter({"Latin": ascii_letters(text)})
    rest = "".join(_NON_ASCII.findall(text))
    counts = Counter({name: sum(map(len, rx.findall(rest))) for name, rx in _SCRIPT_RUNS})
    counts["Latin"] += ascii_letters(text)
    return +counts


def ascii_letters(text: str) -> int:
    """How many ASCII letters ``text`` has: in UTF-8 every byte below 0x80 is
    an ASCII character, so deleting the letters' bytes counts them."""
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw) - len(raw.translate(None, _ASCII_LETTER_BYTES))


def main_script(text: str, share: float = 0.8) -> str | None:
    """The script of at least ``share`` of the letters of ``text``, if any."""
    if text.isascii():
        return "Latin" if _ASCII_LETTER.search(text) else None
    counts = scripts(text)
    total = sum(counts.values())
    if not total:
        return None
    name, n = counts.most_common(1)[0]
    return name if n >= share * total else None


@dataclass(frozen=True, slots=True)
class LangId:
    """CLD2's answer: the top language code, whether it is reliable, and
    the percent of the text in each language it found."""

    code: str
    reliable: bool
    percents: tuple[tuple[str, int], ...]
    name: str = ""

    def share(self, code: str) -> int:
        return sum(p for c, p in self.percents if c == code)


_UNKNOWN = LangId("un", False, ())


_ENGLISH = LangId("en", True, (("en", 100),), "english")


def identify(text: str) -> LangId:
    """CLD2 language of ``text`` (its first 4,000 characters); plain-ASCII
    text that is mostly English dictionary words is English without asking
    CLD2 (text in other Latin-script languages has accents, or fewer English
    words: Spanish prose has about half)."""
    return _identify(text[:_MAX_ID_CHARS])


# Caches keep their keys alive: 8,192 entries of at most 4,000 characters here;
# the others are bounded by text_cache.
@lru_cache(maxsize=8192)
def _identify(text: str) -> LangId:
    """CLD2 language of ``text`` (URLs, control characters and surrogates removed)."""
    import pycld2

    if text.isascii() and fluent_english(text):
        return _ENGLISH
    clean = _CONTROL.sub(" ", _URL.sub(" ", text) if "://" in text else text)
    try:
        reliable, _, details = pycld2.detect(clean, isPlainText=True)
    except pycld2.error:
        return _UNKNOWN
    found = tuple((_code(c), p) for _, c, p, _ in details if c != "un" and p > 0)
    if not found:
        return _UNKNOWN
    return LangId(found[0][0], bool(reliable), found, details[0][0].lower())


def _code(cld2_code: str) -> str:
    """Language code with regional variants folded (zh-Hant -> zh)."""
    return cld2_code.split("-")[0]


_WORD = re.compile(r"[^\W\d_]{2,}")
_HEXISH = re.compile(r"#?\b(?=[0-9A-Fa-f]*\d)[0-9A-Fa-f]{3,}\b|https?://\S+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def letter_words(text: str) -> list[str]:
    """Lower-cased letter runs of 2+ letters, camelCase split (#WomenInScience);
    hex numbers and URLs left out."""
    runs = (part for run in _WORD.findall(_HEXISH.sub(" ", text)) for part in _CAMEL.split(run))
    return [w.lower() for w in runs if len(w) >= 2]


# wordfreq languages not written in Latin letters (their lists hold English loans)
_NON_LATIN = frozenset("ar bg bn el fa he hi ja ko mk ru ta uk ur zh".split())


def _wordfreq_data() -> Path:
    """wordfreq's data folder, found without importing wordfreq (0.7 s)."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("wordfreq is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@lru_cache(maxsize=64)
def dictionary(lang: str) -> frozenset[str]:
    """The words of wordfreq's small list for ``lang`` (its cBpack file:
    gzipped msgpack, a header then lists of words by frequency)."""
    import msgpack

    with gzip.open(_wordfreq_data() / f"small_{lang}.msgpack.gz", "rb") as f:
        buckets = msgpack.load(f, raw=False)[1:]
    return frozenset(w for bucket in buckets for w in bucket)


@lru_cache(maxsize=1)
def wordfreq_languages() -> frozenset[str]:
    return frozenset(p.name[len("small_"):-len(".msgpack.gz")] for p in _wordfreq_data().glob("small_*.msgpack.gz"))


def known_share(text: str, lang: str) -> float | None:
    """Share of the words of a mostly-Latin ``text`` in ``lang``'s dictionary;
    None when wordfreq has no list for ``lang`` or the text is not Latin."""
    if lang not in wordfreq_languages() or lang in _NON_LATIN or main_script(text) != "Latin":
        return None
    words = letter_words(text)
    if not words:
        return None
    vocab = dictionary(lang)
    return sum(w in vocab for w in words) / len(words)


_PUNCT_TO_SPACE = str.maketrans({c: " " for c in string.punctuation.replace("'", "") + "“”‘’«»…—–"})


def fluent_english(text: str) -> bool:
    """At least 70% (and 3) of the words of ``text`` are English dictionary words."""
    tokens = text.lower().translate(_PUNCT_TO_SPACE).split()
    known = sum(map(dictionary("en").__contains__, tokens))
    return known >= 0.7 * len(tokens) and known >= 3
