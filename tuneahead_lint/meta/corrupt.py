"""What each corruption writes: pure text functions of a seeded generator.

``meta.variants`` decides which records a corruption touches; these
functions only make the new text. Each corruption is one the linter
detects (rule in brackets): garbage text (TA107 gibberish, TA108 encoded
blobs, TA109 markup), near-duplicates (TA201), scrambled word order
(TA206 reference perplexity), cut responses (TA118), template text in
content (TA105), refusals and assistant-identity boilerplate (TA116).
"""

from __future__ import annotations

import random
import string

_ALPACA_HEAD = ("Below is an instruction that describes a task. Write a response that "
                "appropriately completes the request.\n\n### Instruction:\n")

# Each is matched by TA116's English patterns (tests/meta/test_corruptions.py checks it).
REFUSALS = (
    "I'm sorry, but I cannot help with that request.",
    "As an AI language model, I cannot provide an answer to this question.",
    "I'm sorry, but I can't assist with that.",
    "Unfortunately, I am unable to fulfill this request.",
    "I apologize, but I cannot answer that. Is there anything else I can help you with?",
    "As an AI language model, I do not have personal opinions, so I cannot help with this.",
    "I'm afraid I can't do that. As an AI, I have to decline this request.",
    "I am not able to provide that information. As a language model, my knowledge is limited.",
)
_DISCLAIMERS = (
    "As an AI language model, I don't have personal experiences, but here is my answer.",
    "I am just an AI assistant and my knowledge cutoff limits me, but I will try.",
)


def garbage(rng: random.Random) -> str:
    """Random characters, a repeated word, markup soup or a base64-like blob (20-200 chars)."""
    kind = rng.randrange(4)
    n = rng.randint(20, 200)
    if kind == 0:
        return "".join(rng.choice(string.ascii_letters + string.digits + string.punctuation + " ")
                       for _ in range(n))
    if kind == 1:
        word = rng.choice(("lorem", "asdf", "the the", "null", "ok", "!!!"))
        return " ".join([word] * (n // 4 + 1))
    if kind == 2:
        return "".join(f"<div class=\"c{rng.randint(0, 99)}\"><span>{rng.randint(0, 10**6)}</span></div>"
                       for _ in range(n // 40 + 1))
    return "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(n)) + "=="


def perturb(text: str, rng: random.Random) -> str:
    """A near-duplicate of ``text``: one or two light edits (case, spacing,
    punctuation, a dropped or an inserted word); never blank."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 2)):
        kind = rng.randrange(5)
        if kind == 0 and len(words) > 3:
            del words[rng.randrange(len(words))]
        elif kind == 1:
            words[0] = words[0].lower() if words[0][:1].isupper() else words[0].capitalize()
        elif kind == 2:
            words[-1] = words[-1].rstrip(".!?") if words[-1][-1:] in ".!?" else words[-1] + "."
        elif kind == 3:
            j = rng.randrange(len(words))
            words[j] = words[j] + " "
        else:
            words.insert(rng.randrange(len(words) + 1), rng.choice(("please", "the", "Also,", "just")))
    out = " ".join(words)
    return out if out.strip() else f"{text}."  # '?????' stripped of its punctuation


def scramble(text: str, rng: random.Random) -> str:
    """The words of ``text`` in a random order (a one-word text stays as is)."""
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def truncate(text: str, rng: random.Random) -> str:
    """``text`` cut at 20-60% of its length on a word boundary, closing
    punctuation dropped; never blank (the first word at least)."""
    cut = int(len(text) * rng.uniform(0.2, 0.6))
    space = text.rfind(" ", 0, cut)
    out = text[: space if space > 0 else max(1, cut)].rstrip(" .!?")
    return out if out.strip() else (text.split() or [text])[0]


def refusal(text: str, rng: random.Random) -> str:
    """A refusal instead of the answer (three in four), or an assistant
    disclaimer in front of it."""
    if rng.random() < 0.75:
        return rng.choice(REFUSALS)
    return f"{rng.choice(_DISCLAIMERS)} {text}"


def template_leak(prompt: str, response: str, other: str, rng: random.Random) -> tuple[str, str]:
    """(prompt, response) carrying template text: a leaked next ChatML turn,
    the raw Alpaca template, transcript role prefixes, or the next
    instruction (``other``, another record's prompt) leaked into the response."""
    kind = rng.randrange(4)
    if kind == 0:
        return prompt, f"{response}<|im_end|>\n<|im_start|>user\n{other}"
    if kind == 1:
        return f"{_ALPACA_HEAD}{prompt}\n\n### Response:", f"### Response:\n{response}"
    if kind == 2:
        return f"Human: {prompt}\n\nAssistant:", f"Assistant: {response}\n\nHuman:"
    return prompt, f"{response}\n\n### Instruction:\n{other}\n\n### Response:\n"
