"""Decode one raw record (a :class:`~.containers.Piece`) into an :class:`Example`.

Strict JSON: UTF-8 only, no NaN/Infinity literals, no trailing data. Every
problem becomes a :class:`Problem` on the example; nothing here raises.
"""

from __future__ import annotations

import hashlib
import json
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
    value, failure = (piece.value, None) if piece.decoded else decode(piece)
    if failure is not None:
        return Example(path, piece.line, index, UNKNOWN, (), problems + (failure,), digest)
    if not isinstance(value, dict):
        bad = Problem("not_object", f"record is a JSON {json_type(value)}, expected an object")
        return Example(path, piece.line, index, UNKNOWN, (), problems + (bad,), digest)
    conv = convert(value, fmt)
    return Example(path, piece.line, index, conv.format, conv.turns, problems + conv.problems, digest)


def decode(piece: Piece) -> tuple[Any, Problem | None]:
    """Parse ``piece.raw`` as strict UTF-8 JSON: (value, None) or (None, problem)."""
    try:
        text = piece.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, _utf8_problem(piece, exc)
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        msg = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
        return None, Problem("invalid_json", f"{msg} {_where(piece, exc)}")
    except _NotJson as exc:
        return None, Problem("invalid_json", str(exc))
    except (ValueError, RecursionError) as exc:  # e.g. int too long, nesting too deep
        return None, Problem("invalid_json", f"cannot parse: {type(exc).__name__}: {exc}"[:300])


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
