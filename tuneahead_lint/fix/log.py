"""The removal log: one entry per dropped or changed record.

JSON Lines (``--log FILE.jsonl`` / ``.json``)::

    {"path": "data.jsonl", "line": 14, "record": 14, "action": "drop",
     "reason": "TA106 exact-duplicate", "detail": "duplicate of line 3"}

Text (any other ``--log`` name, and stdout)::

    data.jsonl:14: drop TA106 exact-duplicate: duplicate of line 3

``record`` is the 1-based record number in the file (it tells records apart
where one line holds several, as in a one-line JSON array). Entries are in
input order; the same input and options give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tuneahead_lint.fix.state import Action


def render_jsonl(actions: Sequence[Action]) -> str:
    return "".join(json.dumps(a.as_dict(), ensure_ascii=False) + "\n" for a in actions)


def render_text(actions: Sequence[Action], one_line_files: frozenset[str] = frozenset()) -> str:
    """``path:line: action reason: detail``; ``path:line (record N)`` where a
    line holds several records."""
    out = []
    for a in actions:
        where = f"{a.path}:{a.line}" + (f" (record {a.record})" if a.path in one_line_files else "")
        out.append(f"{where}: {a.action} {a.reason}: {a.detail}\n")
    return "".join(out)


def render(actions: Sequence[Action], log_path: str, one_line_files: frozenset[str] = frozenset()) -> str:
    """The log in the format its file name asks for (.jsonl/.json: JSON Lines)."""
    if log_path.lower().endswith((".jsonl", ".json", ".ndjson")):
        return render_jsonl(actions)
    return render_text(actions, one_line_files)
