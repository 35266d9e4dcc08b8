"""Record-level checks over decoded turns (empty turns, roles, budgets,
template leakage, exact duplicates)."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.patterns import compile_any
from tuneahead_lint.types import KNOWN_ROLES, Example, Hit, text_hash


def _valid(examples: Sequence[Example]) -> Iterator[Example]:
    return (ex for ex in examples if ex.ok)


@check("empty_response")
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


@check("empty_prompt")
def empty_prompt(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Records whose user turns are all empty: the response answers nothing."""
    for ex in _valid(examples):
        users = [t for t in ex.turns if t.role == "user"]
        if not users or not any(t.content.strip() for t in users):
            yield Hit(ex.path, (ex.line,), (("user_turns", len(users)),),
                      key=f"emptyprompt:{text_hash(ex.response)}", records=(ex.index + 1,))


@check("unknown_role")
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


def _grouped(found: dict[tuple, list[tuple[Example, Any]]], make) -> Iterator[Hit]:
    """One hit per group (file + kind): all its lines, in file order."""
    for key, items in found.items():
        items.sort(key=lambda it: it[0].index)
        yield make(key, items)


@check("token_budget")
def token_budget(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Prompts or responses longer than the configured token budget; one hit
    per file and part, listing every record over budget."""
    valid = list(_valid(examples))
    limits = {"prompt": int(ctx.options["max_prompt_tokens"]),
              "response": int(ctx.options["max_response_tokens"])}
    found: dict[tuple, list] = defaultdict(list)
    for part, limit in limits.items():
        texts = [getattr(ex, part) for ex in valid]
        # a text shorter than the limit in characters cannot exceed it in tokens
        long_idx = [i for i, t in enumerate(texts) if len(t) > limit]
        for i, n in zip(long_idx, _count_tokens(ctx, [texts[i] for i in long_idx])):
            if n > limit:
                found[(valid[i].path, part, limit)].append((valid[i], n))

    def make(key, items):
        path, part, limit = key
        return Hit(path, tuple(ex.line for ex, _ in items),
                   (("part", part), ("count", len(items)), ("max_tokens", max(n for _, n in items)),
                    ("limit", limit)),
                   key=f"budget:{part}:{limit}", records=tuple(ex.index + 1 for ex, _ in items))
    return _grouped(found, make)


LEAK_PATTERNS = [
    r"<\|endoftext\|>", r"<\|im_start\|>", r"<\|im_end\|>", r"<\|eot_id\|>",
    r"<\|start_header_id\|>", r"<\|(?:user|assistant|system|end)\|>", r"</s>", r"<s>",
    r"\[/?INST\]", r"<<SYS>>", r"^#{2,4} ?(?:Instruction|Response|Input)s?:",
    r"^(?:Human|Assistant): ",
]


@check("template_leak")
def template_leak(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Chat-template or special tokens left inside the text of a turn; one hit
    per file, marker and role, listing every record where it occurs."""
    patterns = list(ctx.options["patterns"] or LEAK_PATTERNS)
    rx = compile_any(patterns)  # RE2: linear time, patterns come from the config
    found: dict[tuple, list] = defaultdict(list)
    for ex in _valid(examples):
        for t in ex.turns:
            m = rx.search(t.content)
            if m:
                found[(ex.path, m.group(0).strip(), t.role)].append((ex, None))
                break

    def make(key, items):
        path, token, role = key
        return Hit(path, tuple(ex.line for ex, _ in items),
                   (("token", token), ("role", role), ("count", len(items))),
                   key=f"leak:{token}:{role}", records=tuple(ex.index + 1 for ex, _ in items))
    return _grouped(found, make)


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the key of exact duplicates."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@check("exact_duplicate")
def exact_duplicate(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Records whose normalised turns are identical to an earlier record's.

    The first occurrence (in input order) is kept; every later copy is one hit
    anchored at its own line that names the kept partner."""
    first: dict[str, Example] = {}
    groups: dict[str, list[Example]] = defaultdict(list)
    for ex in _valid(examples):
        key = text_hash(*(f"{t.role}\x1f{normalise(t.content)}" for t in ex.turns))
        if key in first:
            groups[key].append(ex)
        else:
            first[key] = ex
    for key, dups in groups.items():
        keep = first[key]
        for ex in dups:
            related = () if ex.path == keep.path else ((keep.path, keep.line),)
            lines = (ex.line, keep.line) if ex.path == keep.path else (ex.line,)
            same = ex.path == keep.path
            yield Hit(ex.path, lines,
                      (("partner", _place(keep, ex)),
                       ("copies", len(dups) + 1)),
                      key=f"dup:{key}", related=related,
                      records=(ex.index + 1, keep.index + 1) if same else (ex.index + 1,))


def _place(target: Example, seen_from: Example) -> str:
    """How to name ``target`` in a message about ``seen_from``: its line, or
    its record number when the line alone is ambiguous (one-line arrays)."""
    where = f"line {target.line}" if target.line != seen_from.line else f"record {target.index + 1}"
    return where if target.path == seen_from.path else f"{target.path}:{target.line} ({where})"
