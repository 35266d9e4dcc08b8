"""Record-level checks over decoded turns (empty turns, roles, budgets,
template leakage, exact duplicates)."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tuneahead_lint.checks import CheckContext, check, streamed
from tuneahead_lint.checks.stream import CHUNK, DigestLog, OnePass
from tuneahead_lint.patterns import compile_any
from tuneahead_lint.types import KNOWN_ROLES, Example, Hit, text_hash


def _valid(examples: Sequence[Example]) -> Iterator[Example]:
    return (ex for ex in examples if ex.ok)


@check("empty_response", per_record=True)
def empty_response(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Assistant turns that are empty or whitespace only (or no assistant turn)."""
    for ex in _valid(examples):
        roles = [t.role for t in ex.turns]
        if "assistant" not in roles:
            yield Hit(ex.path, (ex.line,), (("turn", "none"), ("detail", "no assistant turn")),
                      key=f"noassistant:{text_hash(ex.prompt)}", records=(ex.index + 1,))
            continue
        for i, t in enumerate(ex.turns):
            if t.role == "assistant" and not t.content.strip():
                yield Hit(ex.path, (ex.line,), (("turn", i + 1), ("detail", f"assistant turn {i + 1} is empty")),
                          key=f"empty:{i}:{text_hash(ex.prompt)}", records=(ex.index + 1,))


@check("empty_prompt", per_record=True)
def empty_prompt(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Records whose user turns are all empty: the response answers nothing."""
    for ex in _valid(examples):
        users = [t for t in ex.turns if t.role == "user"]
        if not users or not any(t.content.strip() for t in users):
            yield Hit(ex.path, (ex.line,), (("user_turns", len(users)),),
                      key=f"emptyprompt:{text_hash(ex.response)}", records=(ex.index + 1,))


@check("unknown_role", per_record=True)
def unknown_role(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Turns whose role is not system/user/assistant after normalisation."""
    for ex in _valid(examples):
        bad = sorted({t.role for t in ex.turns if t.role not in KNOWN_ROLES})
        if bad:
            yield Hit(ex.path, (ex.line,), (("roles", ", ".join(bad)),),
                      key=f"role:{','.join(bad)}:{text_hash(ex.response)}", records=(ex.index + 1,))


_EXACT_CHARS = 200_000  # longer texts: count a prefix and extrapolate


def _count_tokens(ctx: CheckContext, texts: list[str]) -> list[int]:
    """Token counts; texts over 200k characters (a 50 MB line takes ~20 s to
    tokenize) are counted on their first 200k characters and extrapolated by
    length, which is plenty to compare against a budget of a few thousand."""
    tok = ctx.tokenizer
    if tok is None:  # ~4 characters per token, the usual estimate for English BPE
        return [(len(t) + 3) // 4 for t in texts]
    heads = [t[:_EXACT_CHARS] for t in texts]
    counts = [len(e.ids) for e in tok.encode_batch(heads, add_special_tokens=False)]
    return [n if len(t) <= _EXACT_CHARS else round(n * len(t) / _EXACT_CHARS)
            for n, t in zip(counts, texts)]


Ref = tuple[str, int, int]  # (path, line, index) of a record


def _ref(ex: Example) -> Ref:
    return ex.path, ex.line, ex.index


def _grouped(found: dict[tuple, list[tuple[Ref, Any]]], make) -> Iterator[Hit]:
    """One hit per group (file + kind): all its lines, in file order."""
    for key, items in found.items():
        items.sort(key=lambda it: it[0][2])
        yield make(key, items)


@streamed("token_budget")
class TokenBudget(OnePass):
    """Prompts or responses longer than the configured token budget; one hit
    per file and part, listing every record over budget."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.limits = {"prompt": int(ctx.options["max_prompt_tokens"]),
                       "response": int(ctx.options["max_response_tokens"])}
        self.found: dict[str, dict[tuple, list]] = {part: defaultdict(list) for part in self.limits}
        self.buffer: list[Example] = []

    def record(self, ex: Example) -> Iterable[Hit]:
        if ex.ok:
            self.buffer.append(ex)
        if len(self.buffer) >= CHUNK:
            self._count()
        return ()

    def _count(self) -> None:
        for part, limit in self.limits.items():
            texts = [getattr(ex, part) for ex in self.buffer]
            # a text shorter than the limit in characters cannot exceed it in tokens
            long_idx = [i for i, t in enumerate(texts) if len(t) > limit]
            for i, n in zip(long_idx, _count_tokens(self.ctx, [texts[i] for i in long_idx])):
                if n > limit:
                    self.found[part][(self.buffer[i].path, part, limit)].append((_ref(self.buffer[i]), n))
        self.buffer = []

    def finish(self) -> Iterator[Hit]:
        self._count()

        def make(key, items):
            path, part, limit = key
            return Hit(path, tuple(ref[1] for ref, _ in items),
                       (("part", part), ("count", len(items)), ("max_tokens", max(n for _, n in items)),
                        ("limit", limit)),
                       key=f"budget:{part}:{limit}", records=tuple(ref[2] + 1 for ref, _ in items))
        for part in self.limits:
            yield from _grouped(self.found[part], make)


LEAK_PATTERNS = [
    r"<\|endoftext\|>", r"<\|im_start\|>", r"<\|im_end\|>", r"<\|eot_id\|>",
    r"<\|start_header_id\|>", r"<\|(?:user|assistant|system|end)\|>", r"</s>", r"<s>",
    r"\[/?INST\]", r"<<SYS>>", r"^#{2,4} ?(?:Instruction|Response|Input)s?:",
    r"^(?:Human|Assistant): ",
]


@streamed("template_leak")
class TemplateLeak(OnePass):
    """Chat-template or special tokens left inside the text of a turn; one hit
    per file, marker and role, listing every record where it occurs."""

    def __init__(self, ctx: CheckContext) -> None:
        patterns = list(ctx.options["patterns"] or LEAK_PATTERNS)
        self.rx = compile_any(patterns)  # RE2: linear time, patterns come from the config
        self.found: dict[tuple, list] = defaultdict(list)

    def record(self, ex: Example) -> Iterable[Hit]:
        for t in ex.turns if ex.ok else ():
            m = self.rx.search(t.content)
            if m:
                self.found[(ex.path, m.group(0).strip(), t.role)].append((_ref(ex), None))
                break
        return ()

    def finish(self) -> Iterator[Hit]:
        def make(key, items):
            path, token, role = key
            return Hit(path, tuple(ref[1] for ref, _ in items),
                       (("token", token), ("role", role), ("count", len(items))),
                       key=f"leak:{token}:{role}", records=tuple(ref[2] + 1 for ref, _ in items))
        return _grouped(self.found, make)


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the key of exact duplicates."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@streamed("exact_duplicate")
class ExactDuplicate:
    """Records whose normalised turns are identical to an earlier record's.

    The first occurrence (in input order) is kept; every later copy is one hit
    anchored at its own line that names the kept partner. The first pass
    logs a 16-byte digest per record; the second keeps the places of the
    records whose digest repeats."""

    passes = 2

    def __init__(self, ctx: CheckContext) -> None:
        self.log = DigestLog()
        self.repeated: set[bytes] | None = None
        self.seen = 0
        self.first: dict[bytes, Ref] = {}
        self.groups: dict[bytes, tuple[str, list[Ref]]] = {}

    def observe(self, ex: Example) -> None:
        if ex.ok:
            self.log.add(bytes.fromhex(_key(ex)[:32]))

    def record(self, ex: Example) -> Iterable[Hit]:
        if self.repeated is None:
            self.repeated = self.log.repeated()
        if not ex.ok:
            return ()
        short, self.seen = self.log.at(self.seen), self.seen + 1
        if short in self.repeated:
            if short in self.first:
                self.groups.setdefault(short, (_key(ex), []))[1].append(_ref(ex))
            else:
                self.first[short] = _ref(ex)
        return ()

    def finish(self) -> Iterator[Hit]:
        for short, (key, dups) in self.groups.items():
            keep = self.first[short]
            for ex in dups:
                same = ex[0] == keep[0]
                related = () if same else ((keep[0], keep[1]),)
                lines = (ex[1], keep[1]) if same else (ex[1],)
                yield Hit(ex[0], lines,
                          (("partner", _place(keep, ex)),
                           ("copies", len(dups) + 1)),
                          key=f"dup:{key}", related=related,
                          records=(ex[2] + 1, keep[2] + 1) if same else (ex[2] + 1,))


def _key(ex: Example) -> str:
    """sha256 of the record's normalised turns (the key of exact duplicates)."""
    return text_hash(*(f"{t.role}\x1f{normalise(t.content)}" for t in ex.turns))


def _place(target: Ref, seen_from: Ref) -> str:
    """How to name ``target`` in a message about ``seen_from``: its line, or
    its record number when the line alone is ambiguous (one-line arrays)."""
    where = f"line {target[1]}" if target[1] != seen_from[1] else f"record {target[2] + 1}"
    return where if target[0] == seen_from[0] else f"{target[0]}:{target[1]} ({where})"
