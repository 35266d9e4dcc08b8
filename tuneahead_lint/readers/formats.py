"""Record formats: detect the format of one decoded JSON object and turn it into turns.

Detection is per record (mixed files work), by the keys present, first match wins:

==================  =====================================  ==================================
format              keys                                   turns
==================  =====================================  ==================================
messages            messages: [{role, content}]            as given; content may be a list of
                                                           ``{type: text, text}`` parts
sharegpt            conversations: [{from, value}]         human->user, gpt->assistant
                                                           (``role``/``content`` items too)
chosen_rejected     chosen (+ rejected)                    HH-RLHF ``chosen`` transcript
                                                           "\\n\\nHuman: ..\\n\\nAssistant: .."
self_instruct       instruction, instances: [{input,       user: instruction + first instance
                    output}]                               input; assistant: its output
prompt_completion   prompt, completion                     user, assistant
prompt_response     prompt, response                       user, assistant (also Self-Instruct
                                                           predictions {prompt, instruction,
                                                           input, target, response})
alpaca              instruction, output (or response)      [system], history pairs, user:
                    [, input, system, history]             instruction + input, assistant
question_answer     question, answer                       user, assistant (GSM8K)
==================  =====================================  ==================================

A record with some but not all of a format's keys is reported against that
format (``missing_field`` names what is missing). Self-Instruct seed tasks give
one example per record built from the first instance, because an example must
map to exactly one record (``fix`` rewrites records byte-exact by ``raw_hash``).

Roles: only system/user/assistant and the source spellings human->user,
gpt->assistant are known; any other role (``bing``, ``chatgpt``, ``User``,
``tool``) is kept verbatim so that a rule can name it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tuneahead_lint.types import Problem, Turn

FORMATS = ("alpaca", "prompt_completion", "prompt_response", "messages", "sharegpt",
           "question_answer", "chosen_rejected", "self_instruct")
UNKNOWN = "unknown"

_ROLES = {"system": "system", "user": "user", "human": "user",
          "assistant": "assistant", "gpt": "assistant"}
_SPEAKER = re.compile(r"(?:^|\n\n)(Human|Assistant): ?")

# (format, keys that must all be present), in priority order.
_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (fmt, frozenset(keys)) for fmt, keys in (
        ("messages", {"messages"}),
        ("sharegpt", {"conversations"}),
        ("chosen_rejected", {"chosen"}),
        ("self_instruct", {"instruction", "instances"}),
        ("prompt_completion", {"prompt", "completion"}),
        ("prompt_response", {"prompt", "response"}),
        ("alpaca", {"instruction", "output"}),
        ("alpaca", {"instruction", "response"}),
        ("question_answer", {"question", "answer"}),
    ))
# Partial matches: any one of these keys points at the format.
_PARTIAL: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (fmt, frozenset(keys)) for fmt, keys in (
        ("self_instruct", {"instances"}),
        ("alpaca", {"instruction", "output", "input"}),
        ("prompt_completion", {"prompt", "completion"}),
        ("prompt_response", {"response"}),
        ("question_answer", {"question", "answer"}),
        ("chosen_rejected", {"rejected"}),
    ))
EXPECTED = {
    "alpaca": "instruction, output (or response)",
    "prompt_completion": "prompt, completion",
    "prompt_response": "prompt, response",
    "messages": "messages: [{role, content}]",
    "sharegpt": "conversations: [{from, value}]",
    "question_answer": "question, answer",
    "chosen_rejected": "chosen (a Human/Assistant transcript)",
    "self_instruct": "instruction, instances: [{input, output}]",
}


@dataclass(frozen=True, slots=True)
class Conversion:
    """The turns of one record (empty when it cannot be used) and what was wrong."""

    format: str
    turns: tuple[Turn, ...]
    problems: tuple[Problem, ...]


def detect(record: Mapping[str, Any]) -> str | None:
    """The format whose keys ``record`` has (fully, else partly); None if none.

    Keys whose value is null do not count (Parquet gives null for absent columns)."""
    keys = {k for k, v in record.items() if v is not None}
    for table, test in ((_SIGNATURES, frozenset.issubset), (_PARTIAL, _overlaps)):
        for fmt, needed in table:
            if test(needed, keys):
                return fmt
    return None


def _overlaps(needed: frozenset[str], keys: set[str]) -> bool:
    return not needed.isdisjoint(keys)


def convert(record: Mapping[str, Any], fmt: str | None = None) -> Conversion:
    """Turn one JSON object into turns, as ``fmt`` or as detected."""
    fmt = fmt or detect(record)
    if fmt is None:
        expected = "; ".join(f"{v} ({k})" for k, v in EXPECTED.items())
        detail = f"no known format matches (found keys: {_keys(record)}); expected one of: {expected}"
        return Conversion(UNKNOWN, (), (Problem("missing_field", detail),))
    fields = Fields(fmt)
    turns = _CONVERTERS[fmt](record, fields)
    return Conversion(fmt, () if fields.fatal else tuple(turns), fields.finish())


def _keys(obj: Mapping[str, Any], limit: int = 12) -> str:
    names = sorted(obj)
    shown = ", ".join(repr(k[:40]) for k in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") or "none"


def json_type(value: Any) -> str:
    """JSON name of a Python value's type ('null', 'number', 'array', ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


class Fields:
    """Pulls typed fields out of one record, collecting problems; ``fatal``
    is set when the record cannot be turned into turns."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.problems: list[Problem] = []
        self.fatal = False
        self._missing: dict[int, tuple[Mapping[str, Any], list[str]]] = {}

    def fail(self, check: str, detail: str) -> None:
        """Record a problem that makes the record unusable."""
        self.problems.append(Problem(check, detail))
        self.fatal = True

    def _get(self, obj: Mapping[str, Any], key: str, label: str, required: bool) -> Any:
        if key not in obj:
            if required:
                self.fatal = True
                self._missing.setdefault(id(obj), (obj, []))[1].append(label)
            return None
        return obj[key]

    def finish(self) -> tuple[Problem, ...]:
        """All problems, with one ``missing_field`` per object that lacks fields."""
        for obj, labels in self._missing.values():
            names = ", ".join(f"'{label}'" for label in labels)
            self.problems.append(Problem("missing_field", (
                f"missing field{'s' if len(labels) > 1 else ''} {names} ({self.fmt} expects "
                f"{EXPECTED[self.fmt]}; found keys: {_keys(obj)})")))
        self._missing.clear()
        return tuple(self.problems)

    def text(self, obj: Mapping[str, Any], key: str, label: str = "", required: bool = True) -> str:
        """String field ``key``; missing/null optional fields read as ''."""
        label = label or key
        value = self._get(obj, key, label, required)
        if value is None:
            if required and key in obj:
                self.fail("non_string", f"field '{label}' is null, expected a string")
            return ""
        return self.check_text(value, label, required)

    def check_text(self, value: Any, label: str, required: bool = True) -> str:
        """``value`` if it is a string ('' and a problem if not); notes an empty required one."""
        if not isinstance(value, str):
            self.fail("non_string", f"field '{label}' is {json_type(value)}, expected a string")
            return ""
        if required and not value.strip():
            self.problems.append(Problem("empty_field", f"field '{label}' is empty"))
        return value

    def items(self, obj: Mapping[str, Any], key: str, label: str = "", required: bool = True) -> list:
        """List field ``key``; a missing/null optional list reads as []."""
        label = label or key
        value = self._get(obj, key, label, required)
        if value is None:
            if required and key in obj:
                self.fail("non_string", f"field '{label}' is null, expected an array")
            return []
        if not isinstance(value, list):
            self.fail("non_string", f"field '{label}' is {json_type(value)}, expected an array")
            return []
        if required and not value:
            self.problems.append(Problem("empty_field", f"field '{label}' is empty"))
        return value

    def obj(self, value: Any, label: str) -> Mapping[str, Any] | None:
        """``value`` if it is an object, else a problem and None."""
        if isinstance(value, dict):
            return value
        self.fail("non_string", f"field '{label}' is {json_type(value)}, expected an object")
        return None


def _joined(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p.strip()) or parts[0]


def _pair(user: str, assistant: str) -> list[Turn]:
    return [Turn("user", user), Turn("assistant", assistant)]


def _alpaca(rec: Mapping[str, Any], f: Fields) -> list[Turn]:
    instruction = f.text(rec, "instruction")
    use_response = rec.get("output") is None and rec.get("response") is not None
    output = f.text(rec, "response" if use_response else "output")
    inp = f.text(rec, "input", required=False)
    system = f.text(rec, "system", required=False)
    turns = [Turn("system", system)] if system.strip() else []
    turns += _history(rec, f)
    return turns + _pair(_joined(instruction, inp), output)


def _history(rec: Mapping[str, Any], f: Fields) -> list[Turn]:
    """LLaMA-Factory ``history``: [[user, assistant], ...] before the last pair."""
    turns: list[Turn] = []
    for i, pair in enumerate(f.items(rec, "history", required=False)):
        if not (isinstance(pair, list) and len(pair) == 2):
            f.fail("non_string", f"field 'history[{i}]' is {json_type(pair)}"
                                 f"{f' of {len(pair)}' if isinstance(pair, list) else ''},"
                                 " expected a [user, assistant] pair")
            continue
        turns += _pair(f.check_text(pair[0], f"history[{i}][0]"),
                       f.check_text(pair[1], f"history[{i}][1]"))
    return turns


def _two(first: str, second: str) -> Callable[[Mapping[str, Any], Fields], list[Turn]]:
    def convert_pair(rec: Mapping[str, Any], f: Fields) -> list[Turn]:
        return _pair(f.text(rec, first), f.text(rec, second))
    return convert_pair


def _content(m: Mapping[str, Any], label: str, f: Fields) -> str:
    """OpenAI message content: a string or a list of ``{type: text, text}`` parts;
    null is fine next to ``tool_calls``."""
    value = m.get("content")
    if value is None and ("tool_calls" in m or "function_call" in m):
        return ""
    if isinstance(value, list):
        return _parts(value, label, f)
    return f.text(m, "content", f"{label}.content")


def _parts(parts: list, label: str, f: Fields) -> str:
    texts = []
    for i, part in enumerate(parts):
        p = f.obj(part, f"{label}.content[{i}]")
        if p is not None and "text" in p and p.get("type", "text") == "text":
            texts.append(f.check_text(p["text"], f"{label}.content[{i}].text", required=False))
    text = "\n".join(texts)
    if not text.strip():
        f.problems.append(Problem("empty_field", f"field '{label}.content' has no text"))
    return text


def _messages(rec: Mapping[str, Any], f: Fields, key: str = "messages") -> list[Turn]:
    turns = []
    for i, item in enumerate(f.items(rec, key)):
        label = f"{key}[{i}]"
        if (m := f.obj(item, label)) is not None:
            role = f.text(m, "role", f"{label}.role")
            turns.append(Turn(_ROLES.get(role, role), _content(m, label, f)))
    return turns


def _sharegpt(rec: Mapping[str, Any], f: Fields) -> list[Turn]:
    system = f.text(rec, "system", required=False)
    turns = [Turn("system", system)] if system.strip() else []
    for i, item in enumerate(f.items(rec, "conversations")):
        label = f"conversations[{i}]"
        if (m := f.obj(item, label)) is None:
            continue
        role_key, text_key = ("role", "content") if "from" not in m and "role" in m else ("from", "value")
        role = f.text(m, role_key, f"{label}.{role_key}")
        turns.append(Turn(_ROLES.get(role, role), f.text(m, text_key, f"{label}.{text_key}")))
    return turns


def _chosen_rejected(rec: Mapping[str, Any], f: Fields) -> list[Turn]:
    """HH-RLHF ``chosen`` transcript, or a DPO-style ``prompt`` + ``chosen``."""
    if isinstance(rec.get("chosen"), list):
        return _messages(rec, f, "chosen")
    chosen = f.text(rec, "chosen")
    prompt = rec.get("prompt") if isinstance(rec.get("prompt"), str) else ""
    turns = parse_transcript(prompt + chosen)
    if turns is None and prompt:
        return _pair(prompt, chosen)
    if turns is None:
        if not f.fatal and chosen.strip():
            f.fail("unknown_format", "field 'chosen' is not a Human/Assistant transcript "
                                     "(no '\\n\\nHuman:' or '\\n\\nAssistant:' markers)")
        return []
    for i, turn in enumerate(turns):
        if not turn.content.strip() and chosen.strip():
            f.problems.append(Problem("empty_field", f"field 'chosen' turn {i + 1} ({turn.role}) is empty"))
    return turns


def parse_transcript(text: str) -> list[Turn] | None:
    """Split "\\n\\nHuman: ..\\n\\nAssistant: .." into turns; None without markers.

    Text before the first marker, if any, becomes a system turn."""
    marks = list(_SPEAKER.finditer(text))
    if not marks:
        return None
    lead = text[:marks[0].start()]
    turns = [Turn("system", lead)] if lead.strip() else []
    ends = [m.start() for m in marks[1:]] + [len(text)]
    for m, end in zip(marks, ends):
        role = "user" if m.group(1) == "Human" else "assistant"
        turns.append(Turn(role, text[m.end():end]))
    return turns


def _self_instruct(rec: Mapping[str, Any], f: Fields) -> list[Turn]:
    """Seed task: instruction + the first instance (see module doc)."""
    instruction = f.text(rec, "instruction")
    instances = f.items(rec, "instances")
    first = f.obj(instances[0], "instances[0]") if instances else None
    if first is None:
        f.fatal = True
        return []
    inp = f.text(first, "input", "instances[0].input", required=False)
    return _pair(_joined(instruction, inp), f.text(first, "output", "instances[0].output"))


_CONVERTERS: dict[str, Callable[[Mapping[str, Any], Fields], list[Turn]]] = {
    "alpaca": _alpaca,
    "prompt_completion": _two("prompt", "completion"),
    "prompt_response": _two("prompt", "response"),
    "messages": _messages,
    "sharegpt": _sharegpt,
    "question_answer": _two("question", "answer"),
    "chosen_rejected": _chosen_rejected,
    "self_instruct": _self_instruct,
}
assert set(_CONVERTERS) == set(FORMATS)
