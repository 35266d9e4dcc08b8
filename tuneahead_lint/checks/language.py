"""Language checks: records in another language than their file (TA110),
responses in another language than their prompt (TA111), and text in an
unexpected script (TA112).

Languages come from CLD2 (see :mod:`.textutil`); a text CLD2 is not sure
about, or shorter than ``min_chars``, is never flagged. A prompt that asks
for a translation or names the response's language is not a mismatch.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence

from tuneahead_lint.checks import CheckContext, check, streamed
from tuneahead_lint.checks.text import record_hit, snippet
from tuneahead_lint.checks.textutil import (LangId, identify, is_code, known_share, main_script, scripts,
                                            user_text, valid)
from tuneahead_lint.types import Example, Hit

# Words that ask for another language: "translate", and language names in
# English and in their own language (a prompt naming French may get French).
_TRANSLATE = re.compile(
    r"translat|in (?:english|chinese|french|german|spanish|italian|portuguese|japanese|korean|russian)|"
    r"翻译|翻譯|译成|譯成|英文|英语|中文|汉语|日语|日文|韩语|法语|德语|西班牙语|俄语|"
    r"tradu[cz]|traduire|übersetz|перевед|перевод|翻訳|번역|"
    r"english|chinese|mandarin|cantonese|french|français|german|deutsch|spanish|español|italian|"
    r"italiano|portuguese|português|japanese|日本語|korean|한국어|russian|русск|arabic|hindi|dutch|"
    r"swedish|polish|turkish|vietnamese|indonesian|greek|hebrew|latin|"
    r"(?<!programming )(?<!natural )(?<!query )(?<!markup )(?<!body )\blanguages?\b(?! models?| processing)", re.I)


def _text_of(ex: Example) -> str:
    return "\n\n".join(t.content for t in ex.turns)


def _identified(text: str, min_chars: int) -> LangId | None:
    """The language of ``text`` when CLD2 is sure and the text is long enough."""
    if len(text.strip()) < min_chars:
        return None
    lid = identify(text)
    return lid if lid.reliable and lid.code != "un" else None


def reads_better(text: str, lang: str, other: str, margin: float = 0.25) -> bool:
    """True unless the dictionaries contradict CLD2: a Latin-script ``text``
    must have ``margin`` more of its words in ``lang``'s wordfreq list than in
    ``other``'s (CLD2 calls short English lists Danish or Latin; a dictionary
    does not). Texts no dictionary can judge (other scripts) keep CLD2's call."""
    mine, theirs = known_share(text, lang), known_share(text, other)
    if mine is None:
        return theirs is None or theirs < margin
    return theirs is None or mine - theirs >= margin


_ITEMS = re.compile(r"[\n,;]+")
_CJK_SENTENCE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]{9}")  # a CJK run too long for a name


def list_like(text: str) -> bool:
    """A list of names (dishes, cities): most items have at most 3 words.
    Names keep their own language whatever the answer's language."""
    items = [i for i in _ITEMS.split(text) if i.strip()]
    short = sum(len(i.split()) <= 3 and not _CJK_SENTENCE.search(i) for i in items)
    return len(items) >= 3 and short >= 0.6 * len(items)


def main_language(langs: Sequence[str], min_share: float) -> str | None:
    """The language of at least ``min_share`` of the identified records."""
    return main_of(Counter(langs), min_share)


def main_of(counts: Counter[str], min_share: float) -> str | None:
    """:func:`main_language` from counts (ties: the first counted)."""
    if not counts:
        return None
    lang, n = counts.most_common(1)[0]
    return lang if n >= min_share * counts.total() else None


@streamed("off_language")
class OffLanguage:
    """Records (all turns) in another language than most records of their
    file. The first pass counts, per file, the languages CLD2 is sure of and
    the scripts of those records; the second judges each record."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.min_chars, self.min_share = int(ctx.options["min_chars"]), float(ctx.options["min_main_share"])
        self.max_main = int(ctx.options["max_main_percent"])
        self.langs: dict[str, Counter[str]] = defaultdict(Counter)
        self.scripts: dict[str, Counter[str]] = defaultdict(Counter)
        self.mains: dict[str, tuple[str | None, str | None]] = {}

    def observe(self, ex: Example) -> None:
        if ex.ok and (lid := _identified(_text_of(ex), self.min_chars)) is not None:
            self.langs[ex.path][lid.code] += 1
            if s := main_script(_text_of(ex)):
                self.scripts[ex.path][s] += 1

    def _main(self, path: str) -> tuple[str | None, str | None]:
        """(main language, main script) of ``path``."""
        if path not in self.mains:
            self.mains[path] = (main_of(self.langs[path], self.min_share),
                                main_of(self.scripts[path], self.min_share))
        return self.mains[path]

    def record(self, ex: Example) -> Iterator[Hit]:
        main, file_script = self._main(ex.path) if ex.ok else (None, None)
        if main is None:
            return
        lid = _identified(_text_of(ex), self.min_chars)
        if lid is None:
            yield from _off_script((ex,), file_script, main)
            return
        limit = _SCRIPT_LIMIT if file_script == "Latin" and foreign_letters(_text_of(ex), "Latin") >= 0.3 \
            else self.max_main  # English terms and code sit in texts of any script; the reverse is rare
        if (lid.code != main and lid.share(main) <= limit and not _asks_language(user_text(ex), file_script)
                and reads_better(_text_of(ex), lid.code, main)):
            yield record_hit(ex, "offlang", (("lang", lid.code), ("percent", lid.share(lid.code)),
                                             ("main", main), ("text", snippet(ex.response or ex.prompt))))

    def finish(self) -> Iterable[Hit]:
        return ()


_MIN_SCRIPT_LETTERS = 10


def _asks_language(prompt: str, file_script: str | None) -> bool:
    """The prompt asks for a translation or names a language, and is itself
    written in the file's script: "请修改下列英文作文" (Chinese, naming English)
    in an English file is as off-language as any other Chinese record."""
    script = main_script(prompt)
    return bool(_TRANSLATE.search(prompt)) and (file_script is None or script in (None, file_script))


def foreign_letters(text: str, file_script: str | None) -> float:
    """Share of the letters of ``text`` in other scripts than ``file_script``."""
    counts = scripts(text)
    total = sum(counts.values())
    return 0.0 if not total or file_script is None else 1 - counts.get(file_script, 0) / total


def _off_script(short: Sequence[Example], file_script: str | None, main: str) -> Iterator[Hit]:
    """Records too short (or too mixed) for CLD2 whose every turn is in
    another script than the file's main language uses ("你在干什么" in an
    English file): a script, unlike a language, is certain from a few letters."""
    if file_script is None:
        return
    for ex in short:
        text = _text_of(ex)
        script = main_script(text, share=0.95)
        if (script and script != file_script and sum(scripts(text).values()) >= _MIN_SCRIPT_LETTERS
                and not _TRANSLATE.search(user_text(ex)) and not is_code(ex.response)):
            yield record_hit(ex, "offlang", (("lang", f"{script} script"), ("percent", 100), ("main", main),
                                             ("text", snippet(ex.response or ex.prompt))))


_SCRIPT_LIMIT = 50  # percent of the prompt's language a response in a foreign script may hold


def foreign_script(prompt: str, response: str, share: float = 0.3) -> bool:
    """``share`` or more of the response's letters are in scripts the prompt
    does not use (Chinese answering English): English terms inside such a
    response ("UX 的全名是 User Experience") do not make it English."""
    ps, rs = scripts(prompt), scripts(response)
    total = sum(rs.values())
    return bool(total) and sum(n for name, n in rs.items() if not ps.get(name)) >= share * total


@check("language_mismatch", per_record=True)
def language_mismatch(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Responses in another language than their prompt (translations excepted)."""
    min_chars, max_other = int(ctx.options["min_chars"]), int(ctx.options["max_main_percent"])
    for ex in valid(examples):
        whole = identify(_text_of(ex))
        if whole.reliable and len(whole.percents) == 1:  # CLD2 found one language in the whole record
            continue
        langs = _mismatch(user_text(ex), ex.response, min_chars, max_other)
        if langs is not None:
            yield record_hit(ex, "langmismatch", (("prompt_lang", langs[0]), ("response_lang", langs[1]),
                                                  ("text", snippet(ex.response))))


def _mismatch(prompt: str, response: str, min_chars: int, max_other: int) -> tuple[str, str] | None:
    """(prompt language, response language) when they differ."""
    if _TRANSLATE.search(prompt) or is_code(response):
        return None
    p, r = _identified(prompt, min_chars), _identified(response, min_chars)
    if r is None and len(response.strip()) >= min_chars and foreign_script(prompt, response, 0.5):
        r = identify(response)  # the script is certain where CLD2 is unsure of the language
        r = r if r.code != "un" else None
    if not (p and r and p.code != r.code) or list_like(response):
        return cjk_answer(prompt, response)
    limit = _SCRIPT_LIMIT if foreign_script(prompt, response) else max_other
    if r.share(p.code) <= limit and p.share(r.code) <= limit and reads_better(response, r.code, p.code):
        return p.code, r.code
    return cjk_answer(prompt, response)


# A CJK sentence, not a name: 4+ CJK characters with a Chinese function word or Japanese kana
# ("如果你正在学习", "的全名是"); names and idioms quoted in English text rarely have either.
_CJK_CLAUSE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]*"
                         "[\u3040-\u309f\u7684\u662f\u4e86\u5728\u8fd9\u4f60\u6211\u4ed6\u5979\u4eec"
                         "\u6709\u5417\u5462\u5427\u4e5f\u5c31\u90fd\u8981\u4f1a\u4e0d]"
                         "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]*")
_KANA = re.compile("[\u3040-\u30ff]")
_CJK_MIN_SHARE = 0.15  # of the response's letters: a Han character carries about a word


def cjk_answer(prompt: str, response: str) -> tuple[str, str] | None:
    """(prompt language, response language) when a Latin-script prompt without
    CJK gets an answer written in CJK sentences. CLD2 misses these: the English
    names and commands inside ("以下几本书籍 ... 'Calculus' by James Stewart")
    make such an answer 62% English to it, and a short one ("UX的全名是User
    Experience") is unknown."""
    if main_script(prompt) != "Latin" or "CJK" in scripts(prompt):
        return None
    letters = scripts(response)
    if letters.get("CJK", 0) < _CJK_MIN_SHARE * sum(letters.values()):
        return None
    if not any(len(m.group(0)) >= 4 for m in _CJK_CLAUSE.finditer(response)):
        return None
    p, r = identify(prompt), identify(response)
    kana = "ja" if _KANA.search(response) else "zh"
    cjk = next((code for code, _ in r.percents if code in ("zh", "zh-Hant", "ja")), kana)
    return (p.code, cjk) if p.code not in ("un", cjk) else None


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://\S*|www\.\S+")
_CYRILLIC_IN_LATIN = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[\u0400-\u04ff])[A-Za-z\u0400-\u04ff]{3,}\b")


def mixed_word(text: str) -> str | None:
    """A word mixing Latin and Cyrillic letters (homoglyph: 'pаypal')."""
    if text.isascii():
        return None
    m = _CYRILLIC_IN_LATIN.search(text)
    return m.group(0) if m else None


def _no_urls(text: str) -> str:
    return _URL.sub(" ", text) if "://" in text or "www." in text else text


def _response_script(ex: Example) -> str:
    return main_script(_no_urls(ex.response)) or "mixed"


def script_reason(ex: Example, file_script: str | None, min_letters: int) -> tuple[str, str] | None:
    """(detail, text) when a turn mixes scripts inside a word, or the response is
    in a script that neither its file nor its prompt uses."""
    for t in ex.turns:
        if word := mixed_word(t.content):
            return "Latin and Cyrillic letters in one word", word
    if file_script in (None, "mixed"):
        return None
    response = _no_urls(ex.response)
    script = main_script(response)
    if script is None or script == file_script or sum(scripts(response).values()) < min_letters:
        return None
    prompt = user_text(ex)
    if _TRANSLATE.search(prompt):
        return None
    in_file_script = scripts(response).get(file_script or "", 0)
    if scripts(prompt).get(script, 0) == 0 and in_file_script == 0 and not is_code(response):
        return f"{script} response to a prompt without {script} in a {file_script} file", snippet(response)
    return None


@streamed("script_mismatch")
class ScriptMismatch:
    """Words mixing scripts, or responses in a script foreign to prompt and
    file. The first pass counts, per file, the scripts responses are
    written in; the second judges each record."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.min_letters = int(ctx.options["min_letters"])
        self.per: dict[str, Counter[str]] = defaultdict(Counter)

    def observe(self, ex: Example) -> None:
        if ex.ok:
            self.per[ex.path][_response_script(ex)] += 1

    def record(self, ex: Example) -> Iterator[Hit]:
        if not ex.ok:
            return
        counts = self.per.get(ex.path)
        found = script_reason(ex, counts.most_common(1)[0][0] if counts else None, self.min_letters)
        if found:
            yield record_hit(ex, "script", (("detail", found[0]), ("text", found[1])))

    def finish(self) -> Iterable[Hit]:
        return ()
