"""Regular expressions from the configuration, matched in linear time.

Rule options that hold regular expressions (``format: regex`` on the option or
its items in the rule YAML, such as TA105's ``patterns``) are compiled when the
config is loaded, so a bad pattern is an exit-2 error naming the key. They
compile with RE2 (the ``google-re2`` bindings): no backtracking, so a pattern
such as ``(a+)+$`` takes microseconds on any text. RE2 has no backreferences
or lookaround; such a pattern is refused with RE2's reason. Without
``google-re2`` installed, Python's ``re`` is used (no time bound).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 is a core dependency
    re2 = None


class PatternError(ValueError):
    """A pattern the engine cannot compile; ``str()`` is the engine's reason."""


def _options() -> Any:
    opts = re2.Options()
    opts.log_errors = False  # RE2 would print its own copy of the error on stderr
    return opts


def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled in multi-line mode (``^``/``$`` at line ends), as an
    object with ``search`` and ``sub``. Raises :class:`PatternError`."""
    if re2 is None:
        try:
            return re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise PatternError(str(exc)) from None
    try:
        return re2.compile("(?m)" + pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        reason = reason.replace("(?m)", "", 1)
        raise PatternError(f"{reason} (RE2 syntax: no backreferences or lookaround)") from None


def compile_any(patterns: Sequence[str]) -> Any:
    """One matcher for the alternation of ``patterns`` (first match wins)."""
    return compile_pattern("|".join(f"(?:{p})" for p in patterns))


def check_patterns(patterns: Sequence[Any]) -> tuple[int, str] | None:
    """(index, reason) of the first pattern that does not compile, else None."""
    for i, p in enumerate(patterns):
        try:
            compile_pattern(str(p))
        except PatternError as exc:
            return i, str(exc)
    return None
