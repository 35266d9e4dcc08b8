"""Consistency checks between records and within a response (TA117, TA118).

* ``conflicting_answers``: records whose prompts are the same after
  normalisation (case, whitespace, punctuation) but whose responses say
  different things. Only *closed* questions are judged: a group is compared
  when its responses are short (a label, a number, a sentence) or when each
  response ends in a final answer (``#### 42``, "The answer is 42"). Long
  open-ended responses to one prompt ("Write a poem about the sea") are
  legitimately varied and are not reported.
* ``truncated_response``: responses cut mid-code-block (an odd number of
  ````` fences) or mid-sentence (no terminal punctuation in a file whose
  responses usually end with it; the file's own rate is learned, so label or
  code sets are not flagged).
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from tuneahead_lint.checks import CheckContext, streamed
from tuneahead_lint.checks.stream import DigestLog, FeatureIndexed, RecordCheck, digest
from tuneahead_lint.checks.textutil import is_code, text_cache
from tuneahead_lint.types import Example, Hit, text_hash

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]{{2}}")
_WORD = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")  # a CJK character counts as a word


def split_words(text: str) -> list[str]:
    """NFKC, case-folded word runs (CJK: single characters): case, whitespace
    and punctuation removed."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


@text_cache(maxsize=4096)
def words(text: str) -> list[str]:
    """:func:`split_words`, cached: TA117-TA119 read the same texts (do not
    modify the returned list)."""
    return split_words(text)


def enough_words(text: str, n: int) -> bool:
    """``len(words(text)) >= n``, without building the list (stops at the n-th word)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).casefold()
    return n <= 0 or next(islice(_WORD.finditer(text), n - 1, None), None) is not None


def prompt_key(ex: Example) -> str:
    """Normalised prompt ('' when it has no words)."""
    return " ".join(words(ex.prompt))


def _answered(ex: Example) -> bool:
    return ex.ok and bool(ex.response.strip())


_FINAL = re.compile(r"(?:####|answer is|answer:)\s*([^\n]{1,40})", re.IGNORECASE)


def final_answer(response: str) -> str | None:
    """The stated final answer (``#### 42``, "the answer is 42"), normalised."""
    found = _FINAL.findall(response)
    return " ".join(words(found[-1])) if found else None


_NEGATIONS = frozenset("not no never none neither nor cannot isn t don doesn didn won incorrect false".split())


def agree(a: str, b: str, min_ratio: float) -> bool:
    """Same answer up to formatting: equal normalised words, one answer
    containing the other (``4`` / ``The answer is 4``, but not ``equivalent``
    / ``not equivalent``) or similar wording."""
    wa, wb = words(a), words(b)
    if wa == wb:
        return True
    if _NEGATIONS.intersection(wa) != _NEGATIONS.intersection(wb):
        return False  # one answer negates the other
    short, long_ = sorted((wa, wb), key=len)
    if short and _contains(long_, short) and len(short) * 4 >= len(long_):
        return True
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio() >= min_ratio


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


@dataclass(frozen=True, slots=True)
class Member:
    """What TA117 keeps of one record of a same-prompt group: its place, its
    final answer, its word count and (short responses only) its response."""

    path: str
    line: int
    index: int
    final: str | None
    n_words: int
    response: str | None  # None when longer than max_words (never compared)
    content: str  # text_hash(prompt, response)
    said: bytes  # digest of the response's normalised words

    @classmethod
    def of(cls, ex: Example, max_words: int) -> Member:
        said = words(ex.response)
        return cls(ex.path, ex.line, ex.index, final_answer(ex.response), len(said),
                   ex.response if len(said) <= max_words else None, text_hash(ex.prompt, ex.response),
                   digest(" ".join(said)))


def conflict(group: Sequence[Member], max_words: int, min_ratio: float) -> tuple[str, str] | None:
    """(kind, answers) when the group's responses disagree, else None.

    kind is ``short`` (every response is at most ``max_words`` words) or
    ``final`` (every response states a final answer and they differ)."""
    finals = [m.final for m in group]
    if all(finals):
        distinct = list(dict.fromkeys(finals))
        return ("final", " | ".join(distinct)) if len(distinct) > 1 else None
    if max(m.n_words for m in group) > max_words:
        return None
    texts = [m.response or "" for m in group]
    distinct_ex = list({" ".join(words(t)): t for t in texts}.values())
    for i, a in enumerate(distinct_ex):
        for b in distinct_ex[i + 1:]:
            if not agree(a, b, min_ratio):
                return "short", " | ".join(_shown(t) for t in distinct_ex)
    return None


def _shown(text: str, width: int = 40) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[:width - 3] + "..."


@streamed("conflicting_answers")
class ConflictingAnswers:
    """One hit per group of same-prompt records with disagreeing answers,
    naming every record of the group (first record first). The first pass
    logs prompt digests (16 bytes a record); the second keeps a
    :class:`Member` of each record whose prompt repeats."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.max_words = int(ctx.options["max_words"])
        self.min_ratio = float(ctx.options["min_similarity"])
        self.log = DigestLog()
        self.repeated: set[bytes] | None = None
        self.groups: dict[bytes, tuple[str, list[Member]]] = {}

    def observe(self, ex: Example) -> None:
        if _answered(ex) and (key := prompt_key(ex)):
            self.log.add(digest(key))

    def record(self, ex: Example) -> Iterable[Hit]:
        if self.repeated is None:
            self.repeated, self.log = self.log.repeated(), DigestLog()
        if _answered(ex) and (key := prompt_key(ex)) and (d := digest(key)) in self.repeated:
            prompt, members = self.groups.setdefault(d, (_shown(ex.prompt, 60), []))
            members.append(Member.of(ex, self.max_words))
        return ()

    def finish(self) -> Iterator[Hit]:
        for prompt, group in self.groups.values():
            found = conflict(group, self.max_words, self.min_ratio)
            if found is not None:
                kind, answers = found
                yield _group_hit(group, prompt, (("kind", kind), ("answers", answers)))


SUMMARY_MIN_GROUPS = 10  # fewer repeated prompts in a file are always noted one by one


@streamed("repeated_prompt")
class RepeatedPrompt(ConflictingAnswers):
    """TA120: one note per same-prompt group whose responses differ in their
    words and that TA117 does not report as conflicting (same two passes);
    one note per file instead where such groups hold at least
    ``summary_share`` of the file's answered records (prompts repeated by
    design: T0 templates, sibling replies of one conversation tree)."""

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.summary_share = float(ctx.options["summary_share"])
        self.answered: Counter[str] = Counter()
        self.shingles: dict[bytes, list[Any]] = {}  # prompt digest -> each member's word 3-gram shingles

    def observe(self, ex: Example) -> None:
        super().observe(ex)
        if _answered(ex):
            self.answered[ex.path] += 1

    def record(self, ex: Example) -> Iterable[Hit]:
        super().record(ex)
        if _answered(ex) and (key := prompt_key(ex)) and (d := digest(key)) in self.repeated:
            self.shingles.setdefault(d, []).append(_record_shingles(ex))
        return ()

    def finish(self) -> Iterator[Hit]:
        by_file: dict[str, list[tuple[str, list[Member]]]] = {}
        for d, (prompt, group) in self.groups.items():
            if (len({m.said for m in group}) > 1 and conflict(group, self.max_words, self.min_ratio) is None
                    and not _near_copies(self.shingles[d])):
                by_file.setdefault(group[0].path, []).append((prompt, group))
        for path, groups in by_file.items():
            if self._by_design(path, groups):
                yield _summary_hit(groups, self.answered[path])
            else:
                yield from (_repeated_hit(group, prompt) for prompt, group in groups)

    def _by_design(self, path: str, groups: list[tuple[str, list[Member]]]) -> bool:
        mine = sum(m.path == path for _, group in groups for m in group)
        return len(groups) >= SUMMARY_MIN_GROUPS and mine >= self.summary_share * self.answered[path]


def _record_shingles(ex: Example) -> Any:
    """The record's shingles as TA121 compares them (:mod:`.minhash`)."""
    from tuneahead_lint.checks.minhash import compact, per_record, shingle_batch, side_text

    both = (side_text(words(ex.prompt)), side_text(words(ex.response)))
    return compact(per_record(*shingle_batch([both]), 1)[0])


def _near_copies(shingles: Sequence[Any]) -> bool:
    """Every response a near-copy of the first, as TA121 judges it with its
    default limits (word 3-gram Jaccard 0.7, responses 0.6): TA121 reports
    those groups."""
    from tuneahead_lint.checks.minhash import jaccard, response_part

    first, rest = shingles[0], shingles[1:]
    return all(jaccard(first, s) >= 0.7 and jaccard(response_part(first), response_part(s)) >= 0.6 for s in rest)


def _repeated_hit(group: Sequence[Member], prompt: str) -> Hit:
    distinct = len({m.said for m in group})
    return _group_hit(group, prompt, (("distinct", str(distinct)), ("prompts", f"the same prompt ({prompt!r})")),
                      "repeated")


def _summary_hit(groups: list[tuple[str, list[Member]]], answered: int) -> Hit:
    """One hit for all of a file's repeated-prompt groups, naming every record."""
    members = sorted((m for _, group in groups for m in group), key=lambda m: (m.path != groups[0][1][0].path,
                                                                                m.path, m.index))
    prompt, largest = max(groups, key=lambda g: len(g[1]))
    path = members[0].path
    mine = [m for m in members if m.path == path]
    distinct = sum(len({m.said for m in group}) for _, group in groups)
    phrase = f"one of {len(groups)} repeated prompts (the most repeated: {prompt!r}, {len(largest)} records)"
    return Hit(path, tuple(m.line for m in mine), (
        ("count", len(members)), ("distinct", str(distinct)), ("prompts", phrase), ("groups", len(groups)),
        ("share", f"{len(mine) / max(answered, 1):.0%}")),
        key=text_hash("repeated-file", *sorted(m.content for m in members))[:32],
        related=tuple((m.path, m.line) for m in members if m.path != path), records=tuple(m.index + 1 for m in mine))


def _group_hit(group: Sequence[Member], prompt: str, fields: tuple[tuple[str, str], ...],
               tag: str = "conflict") -> Hit:
    """The hit naming every record of ``group``, with the rule's message
    ``fields`` between its count and its prompt; ``tag`` keys the fingerprint."""
    path = group[0].path
    mine = [m for m in group if m.path == path]
    related = tuple((m.path, m.line) for m in group if m.path != path)
    key = text_hash(tag, *sorted(m.content for m in group))[:32]
    return Hit(path, tuple(m.line for m in mine), (("count", len(group)), *fields, ("prompt", prompt)),
               key=key, related=related, records=tuple(m.index + 1 for m in mine))


# --- truncation -----------------------------------------------------------------

_FENCE = re.compile(r"^[ \t>]*(?:```|~~~)", re.MULTILINE)  # at a line start
_INLINE = re.compile(r"(```|~~~)[^`~\n]+?\1")  # ```code``` written inline
_LIST_LINE = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|[a-zA-Z][.)]|#+)\s")
_URLISH = re.compile(r"(?:https?://|www\.)\S+$|\S+@\S+\.\w+$|\S+\.\w{2,4}$")


def odd_fences(text: str) -> bool:
    """An unclosed ````` or ``~~~`` code block."""
    return len(_FENCE.findall(_INLINE.sub("", text))) % 2 == 1


def ends_terminal(text: str) -> bool:
    """The response ends like a finished text: not on a letter, a comma or an
    opening bracket. A final number counts as finished ("The total is 42")."""
    tail = text.rstrip()
    if not tail:
        return True
    last = tail[-1]
    return last.isdigit() or not (last.isalpha() or last in ",([{")


def _last_line(text: str) -> str:
    lines = [ln for ln in text.rstrip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


_HASHTAGS = re.compile(r"(?:\s+#\w+)+\s*$")
_SENTENCE_END = re.compile(r"[.!?:\u3002\uff01\uff1f\uff1a][\"'\u201d\u2019)\]]*(?:\s|$)")
_COLUMNS = re.compile(r"\||(?<![.!?]) {3,}|\t")  # table cells, aligned columns


# Words that cannot end an English sentence: a text stopping on one was cut.
_DANGLING = frozenset("a an the and or but nor than of its their our your my if because whose".split())
# Words an English sentence seldom ends on: judged only in files whose
# responses end sentences. Prepositions are not among them: a relative
# clause may end on one ("a task they are struggling with").
_WEAK_END = frozenset("as is are was were be been has have had will would "
                      "can could should shall may might must do does did which who whom that this these those "
                      "such very most more some any each every".split())
# a word before "." that is an abbreviation, not a sentence end: "Dr.", "U.S.", "e.g."
_ABBREV = re.compile(r"(?:[A-Z][a-z]{0,2}|[A-Za-z](?:\.[A-Za-z])+|etc|vs|approx|incl|fig|no|ca)\.?")
_STRICT_END = re.compile(r"[.!?\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*\s+")
_SIGN_OFF = re.compile(r"(?i)^(?:best|kind|warm)?\s*"
                       r"(?:regards|wishes|sincerely|cheers|thanks|thank you|love|yours|best|warmly|take care)\b")


def open_ending(text: str, min_words: int, min_fragment: int = 6, after_code: bool = False) -> bool:
    """A prose response of ``min_words`` or more that stops mid-sentence.

    After stripping trailing hashtags it must end on a letter, comma or
    opening bracket, and its last line must be prose (not a table row, URL,
    code, or an item displayed after "...:"). It is cut when the last
    unfinished sentence ends on a word no sentence ends on ("... and the"),
    a verb or preposition ("... the raspberries are"), inside a parenthesis
    it opened, or as the last item of a list whose other items end
    sentences. Where the response's earlier lines end sentences (a poem or
    a definition list does not), it is also cut when the last line stops two
    words or more after a finished sentence or an introductory phrase
    ("However, valid"), or when the unfinished sentence has ``min_fragment``
    words or more, follows a finished one (a lone title or label is not
    judged) and is not title case or a sign-off ("Yours, Dracula"). Prose
    after a response's last closed code block is judged the same way."""
    body = _HASHTAGS.sub("", text.rstrip()) if "#" in text else text.rstrip()  # the sub scans every space
    if ends_terminal(body) or not enough_words(body, min_words):
        return False
    if is_code(text):
        tail = prose_after_code(body)
        return bool(tail) and open_ending(tail, 3, after_code=True)
    lines = [ln for ln in body.splitlines() if ln.strip()]
    last = lines[-1]
    if _COLUMNS.search(last) or _URLISH.search(last.strip()) or last.lstrip().startswith(">"):
        return False  # a table row, a link, a quotation
    if _open_parenthesis(last):
        return True
    if len(lines) > 1 and lines[-2].rstrip().endswith((":", "\uff1a")):
        return False  # a displayed item after "Here is the sentence:"
    fragment = _LIST_LINE.sub("", _SENTENCE_END.split(last)[-1])
    ws = words(fragment)
    if len(ws) >= 2 and ws[-1] in _DANGLING or len(ws) >= 3 and ws[-1] in _WEAK_END or _cut_list_item(lines):
        return True
    earlier = [ln for ln in lines[:-1] if len(words(ln)) >= 4]
    if not all(ends_terminal(ln) for ln in earlier):
        return False  # a poem, a definition list: lines without full stops
    finished_before = after_code or bool(_SENTENCE_END.search(body[:len(body) - len(fragment)]))
    if _cut_after_sentence(_LIST_LINE.sub("", last)) or finished_before and _cut_after_intro(fragment):
        return True
    need = 3 * min_fragment if _CJK_RUN.search(fragment) else min_fragment  # a CJK word is a character
    if not _SENTENCE_END.search(body) or len(ws) < need:
        return False
    return not (_title_case(fragment) or _signed(fragment))


def _cut_after_sentence(line: str) -> bool:
    """A line that finishes a sentence and then stops two or more words into
    the next one ("... was different. The solemn man"): a title or label
    never follows a sentence on its own line."""
    ends = list(_STRICT_END.finditer(line))
    if not ends:
        return False
    before, fragment = line[:ends[-1].start()].split(), line[ends[-1].end():]
    if not before or _ABBREV.fullmatch(before[-1].rstrip(".")) or len(words(fragment)) < 2:
        return False
    if ":" in fragment or "=" in fragment:
        return False  # a formula or value displayed after "... is:"
    return not (_title_case(fragment) or _signed(fragment) or _SIGN_OFF.match(fragment.strip()))


_KEYWORD = re.compile(r"\b[A-Z]{2,}\b")  # SQL and other upper-case keywords: not prose
_INTRO = re.compile(r"^\s*[A-Z]\w*(?: \w+){0,2}, (?=\S)")  # "However, ...", "For example, ..."


def _cut_after_intro(fragment: str) -> bool:
    """A sentence begun with an introductory phrase and a comma that stops
    ("However, valid"): a heading or label has no such comma."""
    return (bool(_INTRO.match(fragment)) and len(words(fragment)) >= 2 and not _signed(fragment)
            and not _SIGN_OFF.match(fragment.strip()) and not _KEYWORD.search(fragment))


def prose_after_code(text: str) -> str:
    """The prose after a response's last closed code block ('' when none)."""
    end = text.rfind("```")
    if end < 0 or odd_fences(text):
        return ""
    tail = text[end + 3:].strip()
    return "" if not tail or is_code(tail) else tail


def _open_parenthesis(line: str) -> bool:
    """A prose line that stops inside a parenthesis it opened, two or more
    words in: "... White blood cells (which fight"."""
    head, paren, inside = line.rpartition("(")
    return bool(paren) and ")" not in inside and len(words(inside)) >= 2 and not _COLUMNS.search(line)


def _cut_list_item(lines: Sequence[str]) -> bool:
    """The last item of a list whose earlier items (two or more) all end a
    sentence stops without one."""
    items = [ln for ln in lines if _LIST_LINE.match(ln)]
    if len(items) < 3 or items[-1] is not lines[-1] or len(words(items[-1])) < 3:
        return False
    return all(ln.rstrip()[-1:] in ".!?" for ln in items[:-1])


def dangling(text: str, min_words: int) -> bool:
    """A response of ``min_words`` or more whose last prose line stops on an
    article, conjunction or possessive ("... with its", "... and the"); judged
    in every file, whatever its punctuation habits."""
    body = text.rstrip()
    if not body or ends_terminal(body) or not enough_words(body, min_words) or is_code(text):
        return False
    last = body.splitlines()[-1]
    tail = _SENTENCE_END.split(last)[-1]
    ws = words(tail)
    lower = tail.rstrip().split()[-1:] == [ws[-1]] if ws else False  # "... quick The" is a word game
    return len(ws) >= 3 and ws[-1] in _DANGLING and lower and not _COLUMNS.search(last)


def _title_case(text: str) -> bool:
    """Most words capitalised: a headline or a name, not a cut sentence."""
    caps = [w[0].isupper() for w in text.split() if w[0].isalpha()]
    return bool(caps) and sum(caps) >= 0.6 * len(caps)


def _signed(fragment: str) -> bool:
    """Ends in a sign-off name: "Yours truly, Dracula"."""
    head, _, name = fragment.rpartition(",")
    return bool(head) and 0 < len(name.split()) <= 3 and _title_case(name)


def terminal_rate(responses: Sequence[str], min_words: int) -> tuple[float, int]:
    """Share of prose responses (``min_words`` or more, not code) that end
    with terminal punctuation, and how many were counted."""
    prose = [r for r in responses if _prose(r, min_words)]
    if not prose:
        return 0.0, 0
    return sum(ends_terminal(r) for r in prose) / len(prose), len(prose)


def _prose(response: str, min_words: int) -> bool:
    return enough_words(response, min_words) and not is_code(response)


@streamed("truncated_response")
class TruncatedResponse:
    """One hit per response that is cut mid-code-block or mid-sentence. The
    first pass counts, per file, the prose responses and those ending with
    terminal punctuation (the file's habit); the second judges each record."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.min_words = int(ctx.options["min_words"])
        self.min_rate = float(ctx.options["min_terminal_rate"])
        self.min_records = int(ctx.options["min_records"])
        self.ends = end_logps(ctx.features)
        self.min_end = float(ctx.options["min_end_logp"])
        self.prose: Counter[str] = Counter()
        self.terminal: Counter[str] = Counter()

    def observe(self, ex: Example) -> None:
        if _answered(ex) and _prose(ex.response, self.min_words):
            self.prose[ex.path] += 1
            self.terminal[ex.path] += ends_terminal(ex.response)

    def record(self, ex: Example) -> Iterator[Hit]:
        if not _answered(ex):
            return
        counted = self.prose[ex.path]
        rate = self.terminal[ex.path] / counted if counted else 0.0
        learned = counted >= self.min_records and rate >= self.min_rate
        end = self.ends.get((ex.path, ex.line, text_hash(ex.prompt, ex.response)))
        reason = judged_by_model(truncation(ex.response, self.min_words, learned), end, self.min_end)
        if reason:
            yield Hit(ex.path, (ex.line,), (
                ("reason", reason), ("rate", f"{rate:.0%}"), ("ending", _tail(ex.response))),
                key=text_hash("truncated", ex.prompt, ex.response)[:32], records=(ex.index + 1,))

    def finish(self) -> Iterable[Hit]:
        return ()


LEARNED_REASONS = frozenset({"no terminal punctuation", "stops inside a parenthesis"})


def end_logps(features: Any) -> dict[tuple[str, int, str], float]:
    """(path, line, content key) -> base-model log p(end of turn) after the
    response, for the records the full lint scored (empty otherwise)."""
    return {(e.ref[0], e.ref[1], e.content_key): e.end_logp for e in getattr(features, "endings", ())}


def judged_by_model(reason: str, end: float | None, min_end: float) -> str:
    """The text heuristics' ``reason``, dropped when it is a learned-habit
    reason and the base model finds ending there natural (``end``, log
    p(end of turn), at ``min_end`` or above; None when not scored). The model
    never reports on its own: SmolLM2-135M gives finished lists and short
    answers end-of-turn log-probabilities as low as cut sentences."""
    if end is not None and reason in LEARNED_REASONS and end >= min_end:
        return ""
    return reason


def truncation(response: str, min_words: int, learned: bool) -> str:
    """Why ``response`` looks cut off ('' when it does not)."""
    if odd_fences(response):
        return "unclosed code block"
    if unclosed_bracket(response):
        return "unclosed bracket"
    if unclosed_tags(response):
        return "unclosed HTML elements"
    if dangling(response, min_words):
        return "ends on a word no sentence ends on"
    if learned and open_ending(response, min_words):
        return "no terminal punctuation"
    if learned and _CUT_ABBREVIATION.search(response.rstrip()):
        return "stops inside a parenthesis"
    return ""


# "... the case (e." : an "e.g." or "i.e." cut after its first letter, inside an open parenthesis
_CUT_ABBREVIATION = re.compile(r"\([^()\n]*\s\(?[a-z]\.$|\((?:[a-z]\.)$")
_PAIRS = {")": "(", "]": "[", "}": "{"}
_CODE_CHARS = re.compile(r"[(){}\[\];=<>]")
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')


def unclosed_bracket(response: str) -> bool:
    """Code with more ( [ { opened than closed (string literals ignored) that
    does not end with a sentence (".", "!", "?" after the code). Prose is not
    judged by brackets: an unclosed parenthesis there is usually a typo."""
    tail = response.rstrip()
    last = tail.splitlines()[-1] if tail else ""
    if tail[-1:] in (".", "!", "?", "") or tail.endswith(("```", "~~~")) or not is_code(response):
        return False
    if not (_CODE_CHARS.search(last) or last[:1] in " \t"):
        return False  # the response ends in prose after its code
    body = _QUOTED.sub("", response)
    return any(body.count(o) > body.count(c) for c, o in _PAIRS.items())


_PAIRED_TAGS = frozenset("html head body div p span script style ul ol li table tr td th form section a b strong em "
                         "h1 h2 h3 h4 h5 h6 button select textarea title header footer nav main article".split())
_OPEN_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?(?<!/)>")
_CLOSE_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9]*)\s*>")


def unclosed_tags(response: str, min_open: int = 2) -> bool:
    """HTML that stops mid-element: it ends on a letter, digit, quote or
    opening bracket, not on ">", and ``min_open`` or more elements are left open."""
    tail = response.rstrip()
    if "<" not in tail or not tail or not (tail[-1].isalnum() or tail[-1] in "\"'(=,"):
        return False
    opened = Counter(m.group(1).lower() for m in _OPEN_TAG.finditer(response) if m.group(1).lower() in _PAIRED_TAGS)
    closed = Counter(m.group(1).lower() for m in _CLOSE_TAG.finditer(response))
    return sum((opened - closed).values()) >= min_open


def _tail(text: str, width: int = 30) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else "..." + one[-(width - 3):]


# --- mismatched pairs (embeddings, base model) ---------------------------------------


def misplaced(m: object, margin: float, limit: float, pmi_margin: float, min_gap: float) -> bool:
    """Reported by TA207: :func:`partnered`, :func:`estranged` or :func:`unexplained`."""
    return partnered(m, margin, limit) or estranged(m, min_gap) or unexplained(m, pmi_margin)


def estranged(m: object, min_gap: float) -> bool:
    """The prompt and response fit each other ``min_gap`` (cosine) worse
    than they fit their nearest counterparts in the file: the response's
    nearest prompts and the prompt's nearest responses (NaN: not judged;
    ``min_gap`` 0: the test is off)."""
    return min_gap > 0 and getattr(m, "local_gap", float("nan")) >= min_gap


def partnered(m: object, margin: float, limit: float) -> bool:
    """The response fits the other prompt ``margin`` better than it fits its
    own prompt and ``margin`` better than the other record's own response
    does, and its own cosine is ``limit`` robust deviations below the
    dataset's. (The second test keeps code answers to a related task, which
    MiniLM pairs loosely with every prompt, from being reported.)"""
    return (m.other - m.own >= margin and m.other - m.partner_own >= margin
            and m.robust_z <= -limit)


def unexplained(m: object, pmi_margin: float) -> bool:
    """The base model finds the response ``pmi_margin`` nats per token less
    likely after its own prompt than, on average, after the prompts nearest
    to it (full lint; never when the pair was not scored: NaN)."""
    return m.pmi_gap <= -pmi_margin


def mismatch_reason(m: object, margin: float, limit: float, pmi_margin: float, where: str,
                    min_gap: float) -> str:
    """The message's reason: the better-fitting prompt, the local fit gap,
    the PMI gap, or several."""
    parts = []
    if partnered(m, margin, limit):
        parts.append(f"it fits the prompt at {where} (cosine {m.other:.3f}) better than its own")
    if estranged(m, min_gap):
        parts.append(f"prompt and response fit each other {m.local_gap:.3f} (cosine) worse than the file's "
                     f"prompts and responses nearest to them do (limit {min_gap:g})")
    if unexplained(m, pmi_margin):
        parts.append(f"the base model finds it less likely after its own prompt than after the prompts nearest "
                     f"to it (PMI {m.pmi_gap:+.3f} nats/token against them)")
    return "; ".join(parts)


def _partner(m: object, numbers: dict[tuple[str, int, str], int]) -> str:
    """'line N', or 'record N' when both records share a line (one-line
    arrays), prefixed by the path when it is another file."""
    if m.other_ref[0] != m.ref[0]:
        return f"{m.other_ref[0]}:{m.other_ref[1]}"
    if m.other_ref[1] != m.ref[1]:
        return f"line {m.other_ref[1]}"
    number = numbers.get((m.other_ref[0], m.other_ref[1], m.other_key))
    return f"record {number}" if number else f"line {m.other_ref[1]}"


def _mismatch_refs(features: Any) -> Iterator[tuple[str, int]]:
    for m in getattr(features, "mismatches", ()):
        yield m.ref
        yield m.other_ref


def _mismatch_hits(index: dict[tuple[str, int, str], list[int]], ctx: CheckContext) -> Iterator[Hit]:
    margin = float(ctx.options["min_margin"])
    limit = float(ctx.options["z"])
    pmi_margin = float(ctx.options["pmi_margin"])
    min_gap = float(ctx.options["min_gap"])
    numbers = {key: found[-1] for key, found in index.items()}  # the last record of a place and content
    for m in getattr(ctx.features, "mismatches", ()):
        if not misplaced(m, margin, limit, pmi_margin, min_gap):
            continue
        record = numbers.get((m.ref[0], m.ref[1], m.content_key))
        partner = partnered(m, margin, limit)
        related = (m.other_ref,) if partner and m.other_ref[0] != m.ref[0] else ()
        where = _partner(m, numbers)
        yield Hit(m.ref[0], (m.ref[1],), (
            ("own", round(m.own, 3)), ("z", round(m.robust_z, 2)),
            ("other_line", where if partner else ""), ("margin", margin), ("gap", _gap(m)),
            ("reason", mismatch_reason(m, margin, limit, pmi_margin, where, min_gap))),
            key=text_hash("mismatch", m.content_key)[:32], related=related,
            records=(record,) if record else ())


def _gap(m: object) -> float | str:
    """The local fit gap, rounded ('' when it was not judged)."""
    gap = getattr(m, "local_gap", float("nan"))
    return "" if math.isnan(gap) else round(gap, 3)


@streamed("mismatched_pair")
def mismatched_pair(ctx: CheckContext) -> RecordCheck:
    """One hit per record whose response answers another prompt: much closer
    to another record's prompt than to its own (own cosine robust z at or
    below ``-z``), fitting its prompt ``min_gap`` worse than the file's
    nearest prompts and responses fit them, or (full lint) less likely to
    the base model after its own prompt than after the prompts nearest to it."""
    return FeatureIndexed(ctx, _mismatch_refs, _mismatch_hits)
