"""Records -> token ids for the probe: chat-template formatting, response-only
labels, seeded record sampling, padding.

A record is formatted with the model's own chat template, ending at its last
assistant turn. Every token up to and including the assistant header is
context (label ``-100``); the last assistant turn and whatever the template
writes after it (end-of-turn token) are the targets. Earlier assistant turns of
a multi-turn record are context, not targets. A model without a chat template
gets ``prompt + "\\n\\n"`` as context and ``response + eos`` as target.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from tuneahead_lint.types import Example, text_hash

IGNORE = -100
_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True)
class Encoded:
    """One record as token ids: ``input_ids = context + target``;
    ``labels`` is ``-100`` on the context tokens and equals the ids on the target."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

    @property
    def n_target(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def usable(examples: Sequence[Example]) -> list[Example]:
    """Records that decoded and have a non-blank final assistant turn."""
    return [ex for ex in examples if ex.ok and ex.response.strip()]


def data_hash(examples: Sequence[Example]) -> str:
    """sha256 over (path, line, roles, contents) of the records, in order."""
    parts: list[str] = []
    for ex in examples:
        parts += [ex.path, str(ex.line)]
        for t in ex.turns:
            parts += [t.role, t.content]
    return text_hash(*parts)


def sample_order(n: int, seed: int) -> list[int]:
    """A seeded permutation of ``range(n)`` (Python's Mersenne twister: the same
    on every platform)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def batch_plan(n: int, steps: int, batch_size: int, seed: int) -> list[list[int]]:
    """Record indices of each step's batch: walk a seeded permutation of the
    ``n`` records, wrapping around (a new epoch reuses the same order)."""
    order = sample_order(n, seed)
    flat = [order[i % n] for i in range(steps * batch_size)]
    return [flat[s * batch_size:(s + 1) * batch_size] for s in range(steps)]


def messages(example: Example, response: str | None = None) -> list[dict[str, str]]:
    """Chat messages up to and including the last assistant turn; unknown
    roles become ``user``. ``response`` replaces the last assistant content."""
    roles = [t.role for t in example.turns]
    end = len(roles) - roles[::-1].index("assistant") if "assistant" in roles else len(roles)
    turns = example.turns[:end]
    msgs = [{"role": t.role if t.role in _ROLES else "user", "content": t.content} for t in turns]
    if response is not None and msgs and msgs[-1]["role"] == "assistant":
        msgs[-1] = {"role": "assistant", "content": response}
    return msgs


def split_text(tokenizer, msgs: list[dict[str, str]]) -> tuple[str, str]:
    """(context text, target text) of a conversation ending in an assistant turn."""
    if getattr(tokenizer, "chat_template", None):
        for variant in (msgs, _merge_system(msgs), _collapse(msgs)):
            try:
                return _split_templated(tokenizer, variant)
            except Exception:  # noqa: BLE001 - strict templates (alternation, no system) raise
                continue
    context = "\n\n".join(m["content"] for m in msgs[:-1])
    return context + "\n\n", msgs[-1]["content"] + (tokenizer.eos_token or "")


def _split_templated(tokenizer, msgs: list[dict[str, str]]) -> tuple[str, str]:
    full = tokenizer.apply_chat_template(msgs, tokenize=False)
    head = tokenizer.apply_chat_template(msgs[:-1], tokenize=False, add_generation_prompt=True)
    if full.startswith(head):
        return head, full[len(head):]
    # Templates that render the generation prompt differently from a finished
    # turn: cut at the last occurrence of the response text instead.
    at = full.rfind(msgs[-1]["content"])
    if at < 0:
        raise ValueError("response not found in rendered template")
    return full[:at], full[at:]


def _merge_system(msgs: list[dict[str, str]]) -> list[dict[str, str]]:
    if len(msgs) < 2 or msgs[0]["role"] != "system":
        return msgs
    first = {"role": msgs[1]["role"], "content": msgs[0]["content"] + "\n\n" + msgs[1]["content"]}
    return [first, *msgs[2:]]


def _collapse(msgs: list[dict[str, str]]) -> list[dict[str, str]]:
    context = "\n\n".join(m["content"] for m in msgs[:-1])
    return [{"role": "user", "content": context}, msgs[-1]]


def encode(tokenizer, example: Example, max_len: int, response: str | None = None) -> Encoded:
    """Token ids and response-only labels of one record, at most ``max_len``
    tokens. Context and target are tokenized separately so the label boundary
    is exact. Over-long records keep the last ``max(max_len - len(target),
    max_len // 2)`` context tokens (the assistant header survives) and cut the
    target on the right."""
    context, target = split_text(tokenizer, messages(example, response))
    plain = not getattr(tokenizer, "chat_template", None)
    c = tokenizer(context, add_special_tokens=plain)["input_ids"]
    t = tokenizer(target, add_special_tokens=False)["input_ids"]
    if len(c) + len(t) > max_len:
        keep = min(len(c), max(max_len - len(t), max_len // 2))
        c = c[len(c) - keep:]
        t = t[: max_len - keep]
    return Encoded(tuple(c) + tuple(t), (IGNORE,) * len(c) + tuple(t))


def collate(items: Sequence[Encoded], pad_id: int):
    """Right-padded ``input_ids``, ``attention_mask``, ``labels`` (torch, CPU)."""
    import torch

    width = max(len(e.input_ids) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, e in enumerate(items):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        labels[i, :n] = torch.tensor(e.labels)
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
