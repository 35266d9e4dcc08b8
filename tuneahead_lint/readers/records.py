"""Decode one raw record (a :class:`~.containers.Piece`) into an :class:`Example`.

Strict JSON: UTF-8 only, no NaN/Infinity literals, no trailing data. Every
problem becomes a :class:`Problem` on the example; nothing here raises.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from tuneahead_lint.readers.containers import Piece
from tuneahead_lint.readers.formats import UNKNOWN, convert, json_type
from tuneahead_lint.types import Example, Problem


class _NotJson(ValueError):
    """A literal Python's json accepts but JSON does not (NaN, Infinity)."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"'{name}' is not valid JSON (NaN/Infinity literals are a Python extension)")


def to_example(path: str, index: int, piece: Piece, fmt: str | None = None) -> Example:
    """The :class:`Example` for ``piece``, the ``index``-th record of ``path``."""
    digest = hashlib.sha256(piece.raw).hexdigest()
    problems = piece.problems
    if not piece.decodable:
        return Example(path, piece.line, index, UNKNOWN, (), problems, digest)
    value, failure, notes = (piece.value, None, ()) if piece.decoded else decode(piece)
    problems += notes
    if failure is not None:
        return Example(path, piece.line, index, UNKNOWN, (), problems + (failure,), digest)
    if not isinstance(value, dict):
        bad = Problem("not_object", f"record is a JSON {json_type(value)}, expected an object")
        return Example(path, piece.line, index, UNKNOWN, (), problems + (bad,), digest)
    conv = convert(value, fmt)
    return Example(path, piece.line, index, conv.format, conv.turns, problems + conv.problems, digest)


def decode(piece: Piece) -> tuple[Any, Problem | None, tuple[Problem, ...]]:
    """Parse ``piece.raw`` as strict UTF-8 JSON: (value, None, notes) or
    (None, problem, ()). ``notes`` are problems of a record that still parsed
    (lone surrogates, replaced in ``value``; repeated keys)."""
    try:
        text = piece.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, _utf8_problem(piece, exc), ()
    duplicates: list[str] = []
    try:
        value = json.loads(text, parse_constant=_reject_constant,
                           object_pairs_hook=lambda pairs: _object(pairs, duplicates))
    except json.JSONDecodeError as exc:
        msg = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
        return None, Problem("invalid_json", f"{msg} {_where(piece, exc)}"), ()
    except _NotJson as exc:
        return None, Problem("invalid_json", str(exc)), ()
    except (ValueError, RecursionError) as exc:  # e.g. int too long, nesting too deep
        return None, Problem("invalid_json", f"cannot parse: {type(exc).__name__}: {exc}"[:300]), ()
    value, notes = _text_problems(piece, text, value, duplicates)
    return value, None, notes


def _object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    """A JSON object as a dict (the last of repeated keys wins, as in Python);
    repeated keys are appended to ``duplicates``."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        duplicates.extend(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def clean_surrogates(value: Any) -> tuple[Any, str | None]:
    """``value`` with lone UTF-16 surrogates (``"\\ud800"`` escapes, which decode
    to text no UTF-8 encoder accepts) replaced by U+FFFD, and the first one
    found as ``\\uXXXX`` (None when there was none)."""
    found: list[str] = []

    def fix(text: str) -> str:
        m = _SURROGATE.search(text)
        if m is None:
            return text
        found.append(f"\\u{ord(m.group(0)):04x}")
        return _SURROGATE.sub("\ufffd", text)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return fix(v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {fix(k): walk(x) for k, x in v.items()}
        return v
    cleaned = walk(value)
    return cleaned, (found[0] if found else None)


def _text_problems(piece: Piece, text: str, value: Any,
                   duplicates: list[str]) -> tuple[Any, tuple[Problem, ...]]:
    """Surrogate escapes (cleaned, TA003) and repeated keys (TA008) of a decoded record."""
    problems: list[Problem] = []
    if _SURROGATE_ESCAPE.search(text):
        value, first = clean_surrogates(value)
        if first is not None:
            problems.append(Problem("invalid_utf8", f"lone surrogate escape {first} at line {piece.line} "
                                    "is not valid Unicode (no UTF-8 encoding); read as U+FFFD"))
    if duplicates:
        names = ", ".join(repr(k) for k in dict.fromkeys(duplicates))
        problems.append(Problem("duplicate_key", f"key {names} repeated in one object; "
                                "JSON readers disagree on which value wins (Python: the last)"))
    return value, tuple(problems)


def _utf8_problem(piece: Piece, exc: UnicodeDecodeError) -> Problem:
    line = piece.line + piece.raw.count(b"\n", 0, exc.start)
    byte = piece.raw[exc.start]
    return Problem("invalid_utf8", f"byte 0x{byte:02x} at byte offset {piece.offset + exc.start} "
                                   f"(line {line}) is not valid UTF-8 ({exc.reason})")


def _where(piece: Piece, exc: json.JSONDecodeError) -> str:
    """'at line L, column C' in file terms (column omitted when unknown)."""
    line = piece.line + exc.lineno - 1
    if exc.lineno > 1:
        return f"at line {line}, column {exc.colno}"
    if piece.column:
        return f"at line {line}, column {piece.column + exc.colno - 1}"
    return f"at line {line}"
