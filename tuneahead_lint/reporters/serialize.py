"""Byte-stable JSON for the JSON and SARIF reporters.

Floats are rounded to 6 significant digits and NaN/inf become ``null``, so
the same report gives the same bytes on every platform.
"""

from __future__ import annotations

import json
import math
import numbers
from enum import Enum
from typing import Any


def plain(obj: Any) -> Any:
    """``obj`` as JSON-ready builtins: tuples to lists, enums to values,
    numpy scalars to int/float, floats rounded; unknown objects to ``str``."""
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, Enum):
        return plain(obj.value)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return _round(float(obj))
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return str(obj)


def _round(x: float) -> float | None:
    if not math.isfinite(x):
        return None
    return float(f"{x:.6g}")


def dumps(obj: Any) -> str:
    """Sorted-key, 2-space-indented JSON text ending in a newline."""
    text = json.dumps(plain(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return text + "\n"
