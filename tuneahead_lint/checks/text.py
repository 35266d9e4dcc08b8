"""Content checks that need no model: gibberish (TA107), encoded blobs
(TA108), web markup (TA109), mojibake (TA115) and refusals (TA116).

Each yields one hit per record, anchored at the record's line, with the
evidence (matched text or measured value) in the hit."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.checks.textutil import (assistant_turns, dictionary, fluent_english, identify, is_code,
                                            letter_words, main_script, user_text, valid, wordfreq_languages)
from tuneahead_lint.types import Example, Hit, text_hash


def snippet(text: str, start: int = 0, end: int | None = None, width: int = 60) -> str:
    """``text[start:end]`` cut to ``width`` characters, newlines shown as spaces."""
    piece = text[start:end if end is not None else len(text)]
    piece = " ".join(piece.split())
    return piece if len(piece) <= width else piece[:width - 3] + "..."


def record_hit(ex: Example, name: str, evidence: tuple[tuple[str, Any], ...]) -> Hit:
    """One hit naming one record, keyed by the record's content."""
    key = text_hash(*(t.content for t in ex.turns))
    return Hit(ex.path, (ex.line,), evidence, key=f"{name}:{key}", records=(ex.index + 1,))


# --- TA107 gibberish -------------------------------------------------------

_SYMBOL = re.compile(r"[^\w\s]|_")


@dataclass(frozen=True, slots=True)
class TextStats:
    """What TA107 measures on one text."""

    words: int  # words of 3+ letters
    known: float  # share of them in the dictionary of the text's language (or English)
    vowels: float  # share of vowels among the letters of all words
    case_noise: float  # share of letter runs with irregular case ("fVKfBdd")
    runs: int  # ASCII letter runs of 3+ letters (the base of case_noise)
    soup: float  # share of characters in tokens mixing letters, digits and symbols ("qZ7#kL9@")
    letters: float  # share of non-space characters that are letters
    lang: str


_NOT_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}://\S*|www\.\S+|(?<!\S)[#@]\w+|\{\{[^{}]*\}\}")
_VOWELS = frozenset("aeiouyàáâãäåèéêëìíîïòóôõöøùúûüýÿæœ")
_RUN = re.compile(r"[^\W\d_]{3,}")
# 10+ characters with a letter, a digit and a symbol inside (not just at the ends)
_SOUP = re.compile(r"(?=.*[A-Za-z])(?=.*\d)(?=.+[^\w\s].)\S{10,}")


def _char_class(c: str) -> int:
    return 0 if c.isalpha() or c == "_" else 1 if c.isdigit() else 2


def _switches(token: str) -> float:
    """Share of adjacent characters of different classes (letter, digit,
    symbol): about 0.6 in random strings, under 0.4 in code and numbers."""
    classes = [_char_class(c) for c in token]
    return sum(a != b for a, b in zip(classes, classes[1:])) / max(1, len(classes) - 1)
_REGULAR_CASE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+s?|(?:[A-Z]+[a-z]+)+|[a-z]+(?:[A-Z][a-z]+)+")


_MAX_JUDGED = 20_000  # characters of a turn TA107 measures (a 50 MB line is judged by its start)
def text_stats(text: str) -> TextStats:
    langid = identify(text)
    lang = langid.code if langid.reliable and langid.code in wordfreq_languages() else "en"
    words = letter_words(text)
    long_words = [w for w in words if len(w) >= 3]
    vocab, english = dictionary(lang), dictionary("en")
    known = sum(w in vocab or w in english for w in long_words) / len(long_words) if long_words else 0.0
    letters = sum(len(w) for w in words)
    vowels = sum(c in _VOWELS for w in words for c in w) / letters if letters else 1.0
    runs = [r for r in _RUN.findall(text) if r.isascii()]
    noise = sum(not _REGULAR_CASE.fullmatch(r) for r in runs) / len(runs) if runs else 0.0
    tokens = text.split()
    chars = max(1, sum(map(len, tokens)))
    soup = sum(len(t) for t in tokens if _SOUP.fullmatch(t) and _switches(t) >= 0.45) / chars
    alpha = sum(c.isalpha() for c in text) / chars
    return TextStats(len(long_words), known, vowels, noise, len(runs), soup, alpha, lang)


def gibberish_reason(text: str, opts: dict[str, Any]) -> TextStats | None:
    """The stats of ``text`` when it reads as random characters, else None.

    Random letters have few dictionary words *and* few vowels (about 19% of
    random a-z letters are vowels, 35-45% in Latin-script languages), or,
    mixed-case, irregular case inside most words ("fVKfBdd"), or tokens
    that mix letters, digits and symbols ("qZ7#kL9@"); lists of
    names or rare words keep their vowels and their case. URLs, hashtags
    and hex numbers are left out. Only mostly-Latin text
    that is not code is judged: short texts and other scripts never are."""
    if len(text) < int(opts["min_chars"]) or fluent_english(text):
        return None
    body = _NOT_WORDS.sub(" ", text).strip()
    if len(body) < int(opts["min_chars"]) or main_script(body) != "Latin":
        return None
    if is_code(text):
        return None
    st = text_stats(body[:_MAX_JUDGED])
    if st.known >= float(opts["max_known_share"]):
        return None
    # almost no dictionary words: random letters with a few more vowels by chance
    vowel_limit = 0.33 if st.known < 0.15 else float(opts["max_vowel_share"])
    few_vowels = st.words >= int(opts["min_words"]) and st.vowels < vowel_limit
    noisy_case = st.runs >= 3 and st.case_noise >= float(opts["min_case_noise"])
    soup = st.soup >= 0.5 and st.letters >= 0.35
    return st if few_vowels or noisy_case or soup else None


@check("gibberish", per_record=True)
def gibberish(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Turns that are random characters or strings of non-words."""
    opts = ctx.options
    for ex in valid(examples):
        for i, t in enumerate(ex.turns):
            st = gibberish_reason(t.content, opts)
            if st is not None:
                yield record_hit(ex, "gibberish", (
                    ("role", t.role), ("turn", i + 1), ("known_pct", round(100 * st.known)),
                    ("vowel_pct", round(100 * st.vowels)), ("case_noise_pct", round(100 * st.case_noise)),
                    ("soup_pct", round(100 * st.soup)),
                    ("words", st.words), ("lang", st.lang), ("text", snippet(t.content))))
                break


# --- TA108 encoded-blob ----------------------------------------------------

_TOKEN = re.compile(r"[^\s\"'`<>()\[\]{},;]+")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{2}[ :]){31,}[0-9a-fA-F]{2}(?![0-9A-Za-z])")
@lru_cache(maxsize=8)
def _maybe_blob(min_chars: int) -> Any:
    """Cheap test that a text may hold a blob: a long enough run, or spaced hex bytes
    (RE2: one linear pass, 3x faster than Python's re, which retries the run at every letter)."""
    pattern = r"[A-Za-z0-9+/]{%d}|(?:[0-9a-fA-F]{2}[ :]){31}" % min_chars
    try:
        import re2

        return re2.compile(pattern)
    except ImportError:  # pragma: no cover - google-re2 is a core dependency
        return re.compile(pattern)
# byte lists written as 0x literals ("0x48, 0x65, ...") and hex-dump rows
# (hexdump -C / xxd / od: an offset, then byte columns, then maybe the ASCII column)
_DUMP_START = re.compile(r"^[ \t]*(?:0x)?[0-9a-fA-F]{4,8}:?[ \t]+[0-9a-fA-F]{2}", re.M)
_BYTE_LIST = re.compile(r"(?:0x[0-9a-fA-F]{2}[,\s]+){15,}0x[0-9a-fA-F]{2}(?![0-9A-Za-z])")
_DUMP_ROW = re.compile(r"^[ \t]*(?:0x)?[0-9a-fA-F]{4,8}:?[ \t]+"
                       r"((?:[0-9a-fA-F]{2,4} {1,2}){3,15}[0-9a-fA-F]{2,4})(?![0-9A-Za-z])", re.M)
_HEX_RUN = re.compile(r"(?:0x)?[0-9a-fA-F]+")


def _is_b64(run: str) -> bool:
    body = run.rstrip("=")
    classes = (any(c.isupper() for c in body), any(c.islower() for c in body), any(c.isdigit() for c in body))
    return all(classes) and len(set(body)) >= 16


def _is_hex(run: str) -> bool:
    digits = re.sub(r"[\s,:]|0x", "", run)
    letters = sum(c.isalpha() for c in digits)
    return 0.1 <= letters / len(digits) <= 0.7 and len(set(digits.lower())) >= 10


def blobs(text: str, min_chars: int, min_hex: int) -> list[tuple[str, str]]:
    """(kind, run) of every whitespace-delimited token that is base64 (at
    least ``min_chars``) or hex (at least ``min_hex``), and of spaced hex bytes.
    Tokens with other characters (URLs, paths, identifiers) are not blobs."""
    found: list[tuple[str, str]] = []
    if "0x" in text:
        found += [("hex", m.group(0)) for m in _BYTE_LIST.finditer(text) if _is_hex(m.group(0))]
    if "\n" in text and _DUMP_START.search(text):
        found += hex_dump(text)
    if not _maybe_blob(min(min_chars, min_hex)).search(text):
        return found
    for tok in _TOKEN.findall(text):
        if len(tok) >= min_hex and _HEX_RUN.fullmatch(tok) and _is_hex(tok):
            found.append(("hex", tok))
        elif len(tok) >= min_chars and _B64.fullmatch(tok) and _is_b64(tok):
            found.append(("base64", tok))
    return found + [("hex", m.group(0)) for m in _HEX.finditer(text) if _is_hex(m.group(0))]


def hex_dump(text: str, min_rows: int = 2) -> list[tuple[str, str]]:
    """The byte columns of ``min_rows`` or more hex-dump rows, as one run."""
    rows = [m.group(1) for m in _DUMP_ROW.finditer(text)]
    run = " ".join(rows)
    return [("hex dump", run)] if len(rows) >= min_rows and len(run) >= 64 and _is_hex(run) else []


_ASKS_ENCODED = re.compile(r"hash|md5|sha|uuid|guid|encod|decod|base64|hex|token|key|password|checksum|digest|"
                           r"random|\bid\b|identifier|serial|code", re.I)


def _whole_blob(response: str, prompt: str) -> list[tuple[str, str]]:
    """A response that is one short base64 (20+) or hex (32+) token, when the
    prompt asks for nothing encoded (a hash, a key, an id ...)."""
    tok = response.strip()
    if len(tok) < 20 or any(c.isspace() for c in tok) or _ASKS_ENCODED.search(prompt):
        return []
    if len(tok) >= 32 and _HEX_RUN.fullmatch(tok) and _is_hex(tok):
        return [("hex", tok)]
    body = tok.rstrip("=")
    mixed = all((any(c.isupper() for c in body), any(c.islower() for c in body), any(c.isdigit() for c in body)))
    return [("base64", tok)] if _B64.fullmatch(tok) and mixed and len(set(body)) >= 10 else []


@check("encoded_blob", per_record=True)
def encoded_blob(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Responses carrying a base64 or hex blob (code keeps small blobs)."""
    min_chars, min_hex = int(ctx.options["min_chars"]), int(ctx.options["min_hex_chars"])
    for ex in valid(examples):
        for turn, t in assistant_turns(ex):
            found = blobs(t.content, min_chars, min_hex) or _whole_blob(t.content, user_text(ex))
            size = sum(len(run) for _, run in found)
            if found and (size >= 0.5 * len(t.content.strip()) or not is_code(t.content)):
                kind, run = max(found, key=lambda f: len(f[1]))
                yield record_hit(ex, "blob", (("kind", kind), ("chars", len(run)), ("turn", turn),
                                              ("text", snippet(run, width=40))))
                break


# --- TA109 markup-boilerplate ----------------------------------------------

_HTML_TAGS = frozenset(
    "a abbr article aside b body br button caption center dd div dl dt em fieldset footer font "
    "form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input label li link main meta nav "
    "noscript ol option p script section select small span strong style sub sup table tbody td "
    "textarea tfoot th thead title tr u ul".split())
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]{0,300})?/?>")
_FENCED = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
_LINE_BREAKS = frozenset({"br", "hr"})  # markdown tables use <br> in cells
_BOILERPLATE = re.compile(
    r"all rights reserved|privacy policy|terms of (?:use|service)|cookie policy|"
    r"accept (?:all )?cookies|we use cookies|skip to (?:main )?content|subscribe to our newsletter|"
    r"share on (?:facebook|twitter)|toggle navigation|enable javascript|javascript is disabled|"
    r"back to top|sign up for (?:our|the) newsletter|powered by wordpress|read more\s*(?:»|>>)|"
    r"copyright ©|© ?(?:19|20)\d\d", re.I)
_BOILERPLATE_KEYS = ("rights reserved", "privacy", "terms of", "cookie", "skip to", "newsletter", "share on",
                     "navigation", "javascript", "back to top", "powered by", "read more", "©")
_ASKS_MARKUP = re.compile(
    r"html|css|xml|svg|markup|mark-up|web ?page|web ?site|javascript|\bjs\b|react|jsx|\bvue\b|"
    r"angular|php|\bdom\b|\bweb\b|\btags?\b|scrap(?:e|ing)|hyperlink|flask|django|template|"
    r"email template|newsletter|privacy policy|footer|cookie|markdown|\bfont|\bbold|italic|<\w+", re.I)
# Code in general may be web code, unless the prompt names a language that is not
_ASKS_CODE = re.compile(r"\bcode\b|program|script", re.I)
_NOT_WEB_LANGUAGE = re.compile(r"\b(?:python|java|c\+\+|c#|golang|rust|ruby|kotlin|swift|haskell|perl|bash|"
                               r"shell|sql|matlab|fortran|scala)\b(?!script)", re.I)


def markup_evidence(response: str, min_tags: int, min_phrases: int) -> tuple[int, str] | None:
    """(count, example) of the HTML tags, or else the web boilerplate phrases,
    found outside code fences; None when below the limits."""
    bare = _FENCED.sub(" ", response) if "`" in response else response
    tags = [m for m in _TAG.finditer(bare)
            if m.group(1).lower() in _HTML_TAGS and m.group(1).lower() not in _LINE_BREAKS] if "<" in bare else []
    if len(tags) >= min_tags:
        return len(tags), snippet(tags[0].group(0), width=40)
    lower = bare.lower()
    if not any(k in lower for k in _BOILERPLATE_KEYS):
        return None
    phrases = sorted({m.group(0).lower() for m in _BOILERPLATE.finditer(bare)})
    if len(phrases) >= min_phrases:
        return len(phrases), ", ".join(phrases[:3])
    return None


@check("markup_boilerplate", per_record=True)
def markup_boilerplate(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Responses that are HTML or web page boilerplate the prompt did not ask for."""
    min_tags, min_phrases = int(ctx.options["min_tags"]), int(ctx.options["min_phrases"])
    for ex in valid(examples):
        for turn, t in assistant_turns(ex):
            found = markup_evidence(t.content, min_tags, min_phrases)
            if found and not _asked_for_markup(user_text(ex)):
                yield record_hit(ex, "markup", (("count", found[0]), ("text", found[1]), ("turn", turn)))
                break


def _asked_for_markup(prompt: str) -> bool:
    """The prompt asks for web markup, or for code in a language that may be web code."""
    if _ASKS_MARKUP.search(prompt) or is_code(prompt):
        return True
    return bool(_ASKS_CODE.search(prompt)) and not _NOT_WEB_LANGUAGE.search(prompt)


# --- TA115 mojibake --------------------------------------------------------

# Any mojibake of UTF-8 has a lead byte read as Latin-1/Windows-1252 (Â-ô)
# followed by a continuation byte read the same way (or C1 controls): texts
# without one are not handed to ftfy.
_POSSIBLE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                       "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039"
                       "\u203a\u20ac\u2122]|[\u0080-\u009f]")
# UTF-8 lead bytes of Latin-1 letters and of punctuation (Â Ã â) read as
# Latin-1/Windows-1252, followed by a continuation byte read the same way.
# A single other sequence ("Å²", Ångström squared) needs a second one to count.
_SIGNATURE = re.compile("[ÂÃâ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                        "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039"
                        "\u203a\u20ac\u2122]")

def mojibake(text: str) -> tuple[str, str] | None:
    """(damaged piece, ftfy's repair of it) when ``text`` shows encoding damage."""
    if text.isascii() or not _POSSIBLE.search(text):
        return None
    from ftfy import fix_encoding
    from ftfy.badness import BADNESS_RE, badness, is_bad

    if not is_bad(text) or not (_SIGNATURE.search(text) or badness(text) >= 2):
        return None
    m = _SIGNATURE.search(text) or BADNESS_RE.search(text)
    start, end = (m.start(), m.end()) if m else (0, 0)
    piece = text[max(0, start - 12):end + 12]
    return snippet(piece, width=40), snippet(fix_encoding(piece), width=40)


@check("mojibake", per_record=True)
def mojibake_check(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Turns with encoding damage that ftfy recognises (e.g. 'CafÃ©')."""
    for ex in valid(examples):
        for i, t in enumerate(ex.turns):
            found = mojibake(t.content)
            if found:
                yield record_hit(ex, "mojibake", (("text", found[0]), ("repair", found[1]),
                                                  ("role", t.role), ("turn", i + 1)))
                break


# --- TA116 refusal ---------------------------------------------------------

_ASSISTANTS = (r"ChatGPT|GPT-?[34](?:\.5)?(?:-turbo)?|GPT-4o|Claude|Bard|Gemini|LLaMA|Llama ?[23]|"
               r"Open ?Assistant|Bing Chat|Copilot|Ernie Bot|Grok|Qwen|DeepSeek|Vicuna|Baichuan|Mistral|"
               r"Perplexity|文心一言|通义千问|ChatGLM|智谱清言|豆包|Kimi")
_VENDORS = (r"OpenAI|Anthropic|Google(?: DeepMind| AI)?|DeepMind|Meta(?: AI)?|Facebook|Microsoft|LAION|Baidu|"
            r"Alibaba(?: Cloud)?|xAI|Mistral AI|DeepSeek|Cohere|LMSYS|Zhipu AI|Moonshot AI|"
            r"百度|阿里巴巴|阿里云|谷歌|智谱|字节跳动|深度求索|月之暗面")
_EN_SUBJECT_CANNOT = (r"i(?: cannot| can['’]t| can not| am unable to| am not able to|['’]m unable to|"
                      r"['’]m not able to|['’]m not in a position to| am not in a position to|"
                      r" won['’]t be able to| will not be able to| wouldn['’]t be able to| won['’]t| will not|"
                      r" do not| don['’]t| must decline to| have to decline to| must respectfully decline to)")
_EN_ACTS = (r"(?:help|assist|provide|fulfill|comply|create|generate|answer|engage|support|do that|write|share|"
            r"disclose|give|offer|discuss|complete|process|access|browse|perform|produce|recommend|endorse|"
            r"condone|encourage|promote|participate|predict|express|make)")
REFUSAL_PATTERNS: dict[str, str] = {
    "en": (r"\bas an? (?:ai|artificial intelligence)(?: language)?(?: model| assistant| chatbot)?\b|"
           r"\bas an? (?:large )?language model\b|"
           rf"\bas (?:{_ASSISTANTS}),? (?:an?|your) (?:(?:large |conversational |helpful )?(?:ai|language model|"
           r"chatbot|(?:virtual |ai |digital )?assistant)|ai model)\b|"
           r"\bi(?:['’]m| am) (?:just |only |merely )?an? (?:ai|artificial intelligence|large language model|"
           r"language model|computer program|virtual assistant)(?: language)?(?: model| assistant| chatbot)?\b|"
           r"\b(?:i(?:['’]m| am) (?:sorry|afraid|really sorry|very sorry)|sorry|i apologi[sz]e|my apologies|"
           rf"unfortunately),? (?:but )?(?:as an ai,? )?{_EN_SUBJECT_CANNOT} {_EN_ACTS}|"
           r"\bi (?:cannot|can['’]t|am unable to|am not able to) (?:fulfill|comply with) (?:this|your|that)|"
           r"\bi(?:['’]m| am) (?:unable|not able) to (?:help|assist|provide|fulfill|comply) (?:you )?with "
           r"(?:this|that|your)|"
           rf"\bi(?:['’]m| am) (?:{_ASSISTANTS})\b|\bmy name is (?!claude)(?:{_ASSISTANTS})\b|"
           r"\bi(?:['’]m| am| was)\b[^.\n]{0,60}\b(?:trained|developed|created|made|built|designed) by "
           rf"(?:{_VENDORS})\b|"
           rf"\bi(?:['’]m| am) an? [^.\n]{{0,40}}\b(?:model|assistant|chatbot|ai) (?:from|of|by) (?:{_VENDORS})\b|"
           r"\bmy (?:knowledge|training data) (?:cutoff|cut-off)\b|"
           r"\bas of my (?:last )?(?:knowledge |training )?(?:update|cutoff|cut-off)\b|"
           r"\bi (?:do not|don['’]t) have (?:personal )?(?:feelings|emotions|consciousness|a physical (?:body|form))"
           r"(?=[,.;]| or | and | like )|"
           r"\bi (?:do not|don['’]t) have (?:the ability to browse|access to (?:the internet|real-time))"),
    "zh": (r"作为一?[个名]?(?:AI|人工智能|语言模型|大型语言模型|AI助手|人工智能助手)|"
           r"我是一?[个名]?(?:AI|人工智能)(?:语言模型|助手|模型)|"
           r"(?:抱歉|对不起|很遗憾|不好意思)[，,]?\s*(?:但是?)?我(?:无法|不能|没有办法|不可以)"
           r"(?:回答|提供|帮助|满足|完成|协助|为您)|"
           rf"我(?:是|叫)(?:{_ASSISTANTS})|我是由(?:{_VENDORS})(?:公司)?(?:开发|训练|创建|研发|打造)"),
    "es": (r"\bcomo (?:un )?(?:modelo de lenguaje|asistente de ia|ia|inteligencia artificial|asistente virtual)\b|"
           r"\b(?:lo siento|lo lamento|disculpa|perdón),? (?:pero )?no (?:puedo|me es posible|estoy en condiciones de) "
           r"(?:ayudar|proporcionar|cumplir|generar|responder|ofrecer|facilitar|dar)|"
           rf"\bsoy (?:{_ASSISTANTS})\b|\bfui (?:entrenado|desarrollado|creado) por (?:{_VENDORS})\b"),
    "fr": (r"\ben tant qu(?:e |['’])(?:ia|intelligence artificielle|modèle de langage|assistant virtuel|"
           r"assistant ia)\b|"
           r"\b(?:je suis )?désolée?,? (?:mais )?je ne (?:peux|suis pas en mesure de|suis pas capable de) (?:pas )?"
           r"(?:vous aider|aider|fournir|répondre|générer|vous fournir|donner|vous donner)|"
           rf"\bje suis (?:{_ASSISTANTS})\b|\bj['’]ai été (?:entraîné|développé|créé|conçu) par (?:{_VENDORS})\b"),
    "de": (r"\bals (?:eine? )?(?:KI|künstliche Intelligenz|KI-Sprachmodell|Sprachmodell|KI-Assistent)\b|"
           r"\b(?:es tut mir leid|entschuldigung|leider),? (?:aber )?(?:ich kann|kann ich) "
           r"(?:nicht|keine|dir nicht|ihnen nicht)|"
           rf"\bich bin (?:{_ASSISTANTS})\b|\bich wurde von (?:{_VENDORS}) (?:trainiert|entwickelt|erstellt)\b"),
    "pt": (r"\bcomo (?:um )?(?:modelo de linguagem|assistente de ia|ia|inteligência artificial|assistente virtual)\b|"
           r"\b(?:desculpe|sinto muito|lamento),? (?:mas )?(?:eu )?não (?:posso|consigo|sou capaz de) "
           r"(?:ajudar|fornecer|responder|gerar|atender|cumprir)|"
           rf"\bsou (?:o |a )?(?:{_ASSISTANTS})\b|\bfui (?:treinado|desenvolvido|criado) pel[ao] (?:{_VENDORS})\b"),
    "it": (r"\bin quanto (?:ia|intelligenza artificiale|modello (?:di|del) linguaggio|assistente virtuale)\b|"
           r"\b(?:mi dispiace|spiacente|purtroppo),? (?:ma )?non (?:posso|sono in grado di) "
           r"(?:aiutarti|aiutare|fornire|rispondere|generare)|"
           rf"\bsono (?:{_ASSISTANTS})\b|\bsono stato (?:addestrato|sviluppato|creato) da (?:{_VENDORS})\b"),
    "ru": (r"как (?:ии|искусственный интеллект|языковая модель|ии-ассистент)(?![а-яё])|"
           r"(?:извините|к сожалению|прошу прощения),? (?:но )?я не (?:могу|в состоянии) "
           r"(?:помочь|предоставить|ответить|выполнить|сгенерировать)|"
           rf"я (?:—\s*)?(?:{_ASSISTANTS})(?![\w])|меня (?:обучила|разработала|создала) (?:компания )?(?:{_VENDORS})"),
}


_AS_ASSISTANT = tuple(dict.fromkeys(f"as {name.lower()}" for name in re.findall(r"[A-Za-z]{3,}", _ASSISTANTS)))
# lower-case literals one of which every match of the language's patterns contains
REFUSAL_KEYS: dict[str, tuple[str, ...]] = {
    "en": ("as a", *_AS_ASSISTANT, "i'm", "i’m", "i am", "i was", "i cannot", "i can't", "i can’t", "i can not",
           "knowledge",
           "training data", "sorry", "apologi", "unfortunately", "my name", "i do not", "i don't", "i don’t",
           "as of my"),
    "zh": ("作为", "我是", "我叫", "抱歉", "对不起", "很遗憾", "不好意思"),
    "es": ("como", "lo siento", "lo lamento", "disculpa", "perdón", "soy", "fui"),
    "fr": ("en tant qu", "désolé", "je suis", "j'ai été", "j’ai été"),
    "de": ("als ", "es tut mir leid", "entschuldigung", "leider", "ich bin", "ich wurde"),
    "pt": ("como", "desculpe", "sinto muito", "lamento", "sou ", "fui "),
    "it": ("in quanto", "mi dispiace", "spiacente", "purtroppo", "sono "),
    "ru": ("как ", "извините", "к сожалению", "прошу прощения", "я ", "меня "),
}


_AI_WORDS = re.compile(r"\bAI\b|artificial intelligence|language model|人工智能|语言模型|\bIA\b|\bKI\b|"
                       r"\bИИ\b|языковая модель|modelo de lingua|intelligenza artificiale|inteligência artificial")


# "AI" naming a field, not what the assistant is: "an AI ethics expert" is a person
_AI_FIELD = re.compile(r"\b(?:AI|artificial intelligence) (?:ethic|safety|research|polic|law|regulat|governance|"
                       r"expert|engineer|scien|develop|special|consult|professor|teacher|journalist|enthusiast|"
                       r"startup|compan|industry|product manager)", re.I)


def casts_as_ai(prompt: str) -> bool:
    """The prompt names the assistant an AI ("You are an AI assistant",
    "Roleplay as a futuristic AI therapist"), not only a field of AI."""
    return any(not _AI_FIELD.match(prompt, m.start()) for m in _AI_WORDS.finditer(prompt))


@lru_cache(maxsize=16)
def _key_rx(languages: tuple[str, ...]) -> Any:
    """Any of the literal keys of ``languages`` (a cheap test before the patterns)."""
    keys = "|".join(re.escape(k) for k in sorted({k for lang in languages for k in REFUSAL_KEYS[lang]}))
    try:
        import re2  # a DFA: one pass over the text for all the literals (Python's re tries each)

        return re2.compile(keys)
    except ImportError:  # pragma: no cover - google-re2 is a core dependency
        return re.compile(keys)


@lru_cache(maxsize=8)
def _refusal_rx(languages: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{REFUSAL_PATTERNS[lang]})" for lang in languages), re.I)


def find_refusal(text: str, languages: tuple[str, ...]) -> re.Match[str] | None:
    """The first refusal or identity phrase in ``text`` (``languages`` only)."""
    lower = text.lower()
    if not _key_rx(languages).search(lower):
        return None
    hit = tuple(lang for lang in languages if any(k in lower for k in REFUSAL_KEYS[lang]))  # no re-encoding
    return _refusal_rx(hit).search(text) if hit else None


@check("refusal", per_record=True)
def refusal(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Responses with a refusal or an assistant-identity statement."""
    langs = tuple(lang for lang in ctx.options["languages"] if lang in REFUSAL_PATTERNS)
    for ex in valid(examples):
        for turn, t in assistant_turns(ex):
            m = find_refusal(t.content, langs)
            if m and _AI_WORDS.search(m.group(0)) and casts_as_ai(user_text(ex)):
                continue  # the prompt casts the assistant as an AI (role-play): saying so is asked for
            if m:
                yield record_hit(ex, "refusal", (("text", snippet(m.group(0))), ("turn", turn)))
                break
