"""Catastrophic-forgetting proxy on a fixed general-domain slice.

The slice is 64 ARC-Easy questions shipped as ``general_slice.jsonl`` (source
and licence in ``general_slice.md``: mosaicml/llm-foundry @ 8c8dd48f, Apache-2.0;
upstream ARC CC BY-SA 4.0). Each item is scored as plain text, without the chat
template, so that the probe's formatting cannot help or hurt it: context
``"{query}\\nAnswer:"``, target ``" {gold choice}"``. The proxy is the
token-weighted mean NLL of the gold answers after the LoRA run minus before it
(nats per token; positive = the run made general knowledge less likely).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from tuneahead_lint.probe.data import IGNORE, Encoded

SLICE_FILE = "general_slice.jsonl"


@functools.lru_cache(maxsize=1)
def general_slice() -> tuple[dict, ...]:
    """The shipped ARC-Easy items, in file order."""
    text = resources.files("tuneahead_lint.probe").joinpath(SLICE_FILE).read_text("utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def encode_slice(tokenizer, n_items: int, max_len: int) -> list[Encoded]:
    """The first ``n_items`` items as (context, gold answer) encodings."""
    out = []
    for item in general_slice()[:n_items]:
        c = tokenizer(f"{item['query']}\nAnswer:", add_special_tokens=True)["input_ids"]
        t = tokenizer(f" {item['choices'][item['gold']]}", add_special_tokens=False)["input_ids"]
        c, t = c[-max(1, max_len - len(t)):], t[:max_len - 1]
        out.append(Encoded(tuple(c) + tuple(t), (IGNORE,) * len(c) + tuple(t)))
    return out
