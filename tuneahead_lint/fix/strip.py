"""Template-leak stripping (TA105) and re-serialisation of a changed record.

Markup is removed from the JSON string fields that feed the record's turns,
one field and one pattern at a time: a removal is kept only if it changes the
turns and keeps their number and roles (so metadata fields such as a pre-rendered
``text`` column are left alone, and a Human/Assistant transcript keeps its
speaker markers). The record is changed only when, afterwards, no turn
matches the leak patterns any more; otherwise it is left as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tuneahead_lint.checks.record import LEAK_PATTERNS
from tuneahead_lint.patterns import compile_any, compile_pattern
from tuneahead_lint.readers.formats import convert
from tuneahead_lint.types import Turn

Path = tuple[Any, ...]  # keys / list indexes from the record root to a string


@dataclass(frozen=True)
class Markup:
    """The TA105 matcher: ``rx`` (all patterns, as the check compiles them)
    and ``each`` (one regex per pattern, tried one at a time when stripping)."""

    rx: Any  # compiled by tuneahead_lint.patterns (RE2)
    each: tuple[Any, ...]


def markup(patterns: Sequence[str] = ()) -> Markup:
    """:class:`Markup` for ``patterns`` (default: the check's built-in list)."""
    pats = list(patterns or LEAK_PATTERNS)
    return Markup(compile_any(pats), tuple(compile_pattern(p) for p in pats))


def leaks(turns: Sequence[Turn], m: Markup) -> str | None:
    """The first markup found in ``turns`` (as TA105 reports it), or None."""
    for t in turns:
        if found := m.rx.search(t.content):
            return found.group(0).strip()
    return None


def strip_text(text: str, rx: Any) -> str:
    """``text`` without markup; whitespace left at either end by a removal is
    trimmed (an end that was already whitespace is kept as it was)."""
    new = rx.sub("", text)
    if new == text:
        return text
    if text[:1].strip():
        new = new.lstrip()
    if text[-1:].strip():
        new = new.rstrip()
    return new


def strip_record(value: dict, fmt: str | None, m: Markup) -> tuple[dict, tuple[Turn, ...]] | None:
    """``value`` with markup stripped from the fields that feed its turns, and
    its new turns; None when the turns cannot be made markup-free this way.

    Each string field and each pattern is tried on its own; a removal is kept
    only if it changes the turns and keeps their number and roles."""
    turns = convert(value, fmt).turns
    shape = [t.role for t in turns]
    current = value
    for path, _ in list(_strings(value)):
        for rx in m.each:
            text = _get(current, path)
            new = strip_text(text, rx)
            if new == text:
                continue
            trial = _replace(current, path, new)
            trial_turns = convert(trial, fmt).turns
            if [t.role for t in trial_turns] == shape and trial_turns != turns:
                current, turns = trial, trial_turns
    if current is value or leaks(turns, m) is not None:
        return None
    return current, turns


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def _replace(value: Any, path: Path, new: str) -> Any:
    """A copy of ``value`` with the string at ``path`` replaced (key order kept)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


_KEY_SEP = re.compile(rb'^\s*\{\s*"(?:[^"\\]|\\.)*"(\s*:\s*)')
_ITEM_SEP = re.compile(rb'(,\s*)"(?:[^"\\]|\\.)*"\s*:')


def dumps_like(value: Any, raw: bytes) -> bytes:
    """``value`` as JSON written in the style of ``raw`` (the record's original
    bytes): key order kept, ``ensure_ascii`` when ``raw`` is pure ASCII, the same
    key/item separators, and for a pretty-printed record the same indentation
    (nested lines shifted by the record's own indentation in the file)."""
    ascii_only = raw.isascii()
    m = _KEY_SEP.match(raw)
    key_sep = m.group(1).decode() if m else ": "
    if b"\n" not in raw:
        m = _ITEM_SEP.search(raw)
        item_sep = m.group(1).decode() if m else ("," if key_sep == ":" else ", ")
        return json.dumps(value, ensure_ascii=ascii_only, separators=(item_sep, key_sep)).encode()
    lines = raw.split(b"\n")
    base = _indent(lines[-1])
    inner = _indent(lines[1])
    unit = inner[len(base):] if inner.startswith(base) and len(inner) > len(base) else "    "
    text = json.dumps(value, ensure_ascii=ascii_only, indent=unit, separators=(",", key_sep.rstrip("\n")))
    return text.replace("\n", "\n" + base).encode()


def _indent(line: bytes) -> str:
    return line[:len(line) - len(line.lstrip(b" \t"))].decode()


def map_strings(value: Any, fn: Any) -> Any:
    """A copy of ``value`` with ``fn`` applied to every string (key order kept)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value
