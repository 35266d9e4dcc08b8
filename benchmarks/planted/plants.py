"""Builders of planted defects: each takes a seeded ``random.Random`` and real
host records and returns the planted record(s).

A builder returns a list of ``(record, role)``: role ``plant`` is the defective
record; role ``partner`` is a real record the defect needs beside it (the
original of a duplicate, the first answer of a conflicting pair).
"""

from __future__ import annotations

import base64
import ipaddress
import random
import re
import string

from benchmarks.planted.sources import Rec, rec

Out = list[tuple[Rec, str]]


def _with(host: Rec, **changes: str) -> Rec:
    return {**host, **changes}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _insert_sentence(rng: random.Random, text: str, sentence: str) -> str:
    """Put ``sentence`` between two sentences of ``text`` (or at its end)."""
    parts = _sentences(text)
    at = rng.randint(1, len(parts)) if parts else 0
    return " ".join(parts[:at] + [sentence] + parts[at:])


# ---- non-text -------------------------------------------------------------

KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"]


def _mash_word(rng: random.Random) -> str:
    row = rng.choice(KEYBOARD_ROWS[:3])
    start = rng.randrange(len(row) - 3)
    return "".join(rng.choice(row[start:start + 4]) for _ in range(rng.randint(3, 9)))


def gibberish(rng: random.Random, host: Rec) -> Out:
    n = rng.randint(25, 90)
    style = rng.randrange(4)
    if style == 0:
        words = [_mash_word(rng) for _ in range(n)]
        text = " ".join(words)
    elif style == 1:
        words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 11))) for _ in range(n)]
        text = " ".join(words).capitalize() + "."
    elif style == 2:
        pool = string.ascii_letters + string.digits + "!@#$%^&*()_+-=[]{};:,.<>/?~"
        text = " ".join("".join(rng.choices(pool, k=rng.randint(4, 14))) for _ in range(n // 2))
    else:
        text = "".join(rng.choices(string.ascii_lowercase + "      ", k=n * 6)).strip()
    return [(_with(host, output=text), "plant")]


def _blob(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))


def _wrap(text: str, width: int) -> str:
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


B64_TEMPLATES = [
    "{blob}",
    "Here is the file you asked for, base64-encoded:\n\n{blob}",
    "<img src=\"data:image/png;base64,{blob}\">",
    "{lead}\n\nAttachment (base64):\n{blob}",
]


def base64_blob(rng: random.Random, host: Rec) -> Out:
    raw = base64.b64encode(_blob(rng, rng.randint(240, 700))).decode()
    tpl = rng.choice(B64_TEMPLATES)
    blob = raw if "img" in tpl else _wrap(raw, rng.choice([64, 76, 10_000]))
    lead = _sentences(host["output"])[0] if host["output"] else "See below."
    return [(_with(host, output=tpl.format(blob=blob, lead=lead)), "plant")]


def hex_blob(rng: random.Random, host: Rec) -> Out:
    data = _blob(rng, rng.randint(120, 360))
    style = rng.randrange(3)
    if style == 0:
        text = data.hex()
    elif style == 1:
        text = " ".join(f"0x{b:02x}," for b in data).rstrip(",")
    else:
        rows = [f"{i:08x}  " + " ".join(f"{b:02x}" for b in data[i:i + 16]) for i in range(0, len(data), 16)]
        text = "\n".join(rows)
    return [(_with(host, output=text), "plant")]


HTML_TEMPLATES = [
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{title} | {site}</title>\n'
    '<link rel="stylesheet" href="/static/css/main.css"></head>\n<body>\n<nav class="navbar">'
    '<a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></nav>\n'
    '<div class="content"><p>{body}</p></div>\n<footer>&copy; 2023 {site}. All rights reserved. '
    '<a href="/privacy">Privacy Policy</a></footer>\n</body>\n</html>',
    '<div id="cookie-banner">We use cookies to improve your experience. '
    '<button class="btn-accept">Accept all</button></div>\n<div class="article-body">\n<p>{body}</p>\n'
    '</div>\n<div class="share">Share on <a href="#">Facebook</a> <a href="#">Twitter</a></div>',
    'Skip to main content\n<header><ul class="menu"><li><a href="/">Home</a></li><li><a href="/blog">Blog'
    '</a></li><li><a href="/login">Sign in</a></li></ul></header>\n<main><h1>{title}</h1><p>{body}</p>'
    '</main>\n<script src="https://cdn.{site}/js/analytics.min.js"></script>',
    '<table class="layout" width="100%"><tr><td class="sidebar"><a href="/">Home</a><br><a href="/faq">FAQ'
    '</a></td><td class="main"><span style="font-size:12px">{body}</span></td></tr></table>\n'
    '<p class="footer">Subscribe to our newsletter &raquo; <a href="/unsubscribe">Unsubscribe</a></p>',
]
SITES = ["example-answers.com", "howtohub.net", "quickfacts.org", "learnbase.io"]


def html_boilerplate(rng: random.Random, host: Rec) -> Out:
    title = host["instruction"].splitlines()[0][:60]
    body = host["output"].replace("\n", "<br>\n")
    text = rng.choice(HTML_TEMPLATES).format(title=title, site=rng.choice(SITES), body=body)
    return [(_with(host, output=text), "plant")]


# ---- PII and secrets ------------------------------------------------------

FIRST = ["john", "maria", "wei", "priya", "olga", "ahmed", "laura", "kenji", "sofia", "daniel"]
LAST = ["smith", "garcia", "chen", "patel", "ivanova", "hassan", "becker", "tanaka", "rossi", "miller"]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "acme-corp.com", "uni-hamburg.de", "mail.ru"]


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _pii(rng: random.Random, host: Rec, value: str, templates: list[str]) -> Out:
    first, last = _person(rng)
    sentence = rng.choice(templates).format(v=value, first=first.title(), last=last.title())
    return [(_with(host, output=_insert_sentence(rng, host["output"], sentence)), "plant")]


def email(rng: random.Random, host: Rec) -> Out:
    first, last = _person(rng)
    sep = rng.choice([".", "_", ""])
    value = f"{first}{sep}{last}{rng.choice(['', str(rng.randint(1, 99))])}@{rng.choice(DOMAINS)}"
    return _pii(rng, host, value, [
        "If you have questions, write to {first} at {v}.",
        "You can reach me directly at {v} for the full document.",
        "For more details, contact {first} {last} ({v}).",
        "Please send your completed form to {v} by Friday.",
    ])


def phone(rng: random.Random, host: Rec) -> Out:
    d = lambda k: "".join(rng.choices(string.digits, k=k))  # noqa: E731
    value = rng.choice([
        f"({rng.randint(201, 989)}) {rng.randint(200, 989)}-{d(4)}",
        f"+1 {rng.randint(201, 989)}-{rng.randint(200, 989)}-{d(4)}",
        f"+44 20 {rng.randint(7000, 8999)} {d(4)}",
        f"+49 30 {d(8)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
    ])
    return _pii(rng, host, value, [
        "Call {first} on {v} if anything is unclear.",
        "My mobile number is {v}, feel free to text me.",
        "To book an appointment, phone the office at {v}.",
        "{first} {last} can be reached at {v} during business hours.",
    ])


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choices(string.digits, k=length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


def card(rng: random.Random, host: Rec) -> Out:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    num = _luhn_complete(prefix, length, rng)
    sep = rng.choice([" ", "-", ""])
    value = sep.join(num[i:i + 4] for i in range(0, len(num), 4))
    return _pii(rng, host, value, [
        "I paid with my card {v} (exp 09/27) and the order went through.",
        "Card number: {v}, CVV {first}'s birthday digits.",
        "{first} {last} used the credit card {v} for the booking.",
        "Charge the remaining amount to {v}.",
    ])


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


def iban(rng: random.Random, host: Rec) -> Out:
    d = lambda k: "".join(rng.choices(string.digits, k=k))  # noqa: E731
    country, bban = rng.choice([
        ("DE", d(18)), ("GB", "NWBK" + d(14)), ("FR", d(23)), ("NL", "ABNA" + d(10)), ("ES", d(20)),
    ])
    raw = _iban(country, bban)
    value = raw if rng.random() < 0.5 else " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))
    return _pii(rng, host, value, [
        "Please transfer the deposit to IBAN {v} (account holder {first} {last}).",
        "My bank details: {v}.",
        "Refunds go to the account {v}.",
        "{first} asked us to wire the money to {v} before the end of the month.",
    ])


def ip_address(rng: random.Random, host: Rec) -> Out:
    value = "10.0.0.1"
    while not ipaddress.ip_address(value).is_global:  # public addresses only: a LAN address names nobody
        if rng.random() < 0.75:
            value = ".".join(str(rng.randint(1, 223)) for _ in range(4))
        else:
            value = "2a0" + f"{rng.randrange(16):x}:" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(7))
    return _pii(rng, host, value, [
        "My home server is at {v}, so you can test against it.",
        "The login attempts all came from {v}.",
        "Connect with ssh {first}@{v} and run the script there.",
        "{first}'s router has the public address {v}.",
    ])


def ssn(rng: random.Random, host: Rec) -> Out:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    return _pii(rng, host, value, [
        "For the application, {first} {last} gave SSN {v}.",
        "My social security number is {v}, in case the form needs it.",
        "Employee: {first} {last}, SSN: {v}.",
        "Enter the SSN ({v}) in box 3 of the form.",
    ])


def _token(rng: random.Random, alphabet: str, k: int) -> str:
    return "".join(rng.choices(alphabet, k=k))


def api_key(rng: random.Random, host: Rec) -> Out:
    up, alnum = string.ascii_uppercase + string.digits, string.ascii_letters + string.digits
    kind = rng.randrange(5)
    if kind == 0:
        snippet = (f"export AWS_ACCESS_KEY_ID=AKIA{_token(rng, up, 16)}\n"
                   f"export AWS_SECRET_ACCESS_KEY={_token(rng, alnum + '/+', 40)}")
    elif kind == 1:
        snippet = f'import openai\nopenai.api_key = "sk-{_token(rng, alnum, 48)}"'
    elif kind == 2:
        snippet = f"git clone https://ghp_{_token(rng, alnum, 36)}@github.com/{rng.choice(LAST)}/tools.git"
    elif kind == 3:
        snippet = f'stripe.api_key = "sk_live_{_token(rng, alnum, 24)}"'
    else:
        team, bot = rng.randint(10**10, 10**11), rng.randint(10**10, 10**11)
        snippet = f'SLACK_BOT_TOKEN="xoxb-{team}-{bot}-{_token(rng, alnum, 24)}"'
    lead = rng.choice(["Here is my setup:", "I use this in my config:", "This works for me:"])
    return [(_with(host, output=f"{host['output']}\n\n{lead}\n```\n{snippet}\n```"), "plant")]


PEM_KINDS = ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]


def private_key(rng: random.Random, host: Rec) -> Out:
    kind = rng.choice(PEM_KINDS)
    body = _wrap(base64.b64encode(_blob(rng, rng.choice([121, 360, 600]))).decode(), 64)
    pem = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"
    lead = rng.choice(["The key file looks like this:", "Save this as ~/.ssh/id_rsa:",
                       "Here is the key we use on the server:"])
    return [(_with(host, output=f"{host['output']}\n\n{lead}\n{pem}"), "plant")]


# ---- encoding, boilerplate -----------------------------------------------


def mojibake(rng: random.Random, host: Rec) -> Out:
    """UTF-8 text decoded as cp1252 (the common 'â€™' damage); host must hold non-ASCII text."""
    raw = host["output"].encode("utf-8")
    damaged = raw.decode("cp1252", errors="replace") if rng.random() < 0.8 else raw.decode("latin-1")
    return [(_with(host, output=damaged), "plant")]


REFUSALS = [
    "I'm sorry, but I cannot help with that request.",
    "I apologize, but I am not able to provide that information.",
    "I'm sorry, I can't assist with that.",
    "Unfortunately, I cannot fulfill this request as it goes against my guidelines.",
    "I'm afraid I can't do that. Is there something else I can help you with?",
    "Sorry, but I won't be able to help with this one.",
    "I cannot comply with this request. If you have another question, feel free to ask.",
]


def refusal(rng: random.Random, host: Rec) -> Out:
    return [(_with(host, output=rng.choice(REFUSALS)), "plant")]


IDENTITIES = [
    "As an AI language model, I don't have personal opinions, but here is what I can tell you.",
    "I am ChatGPT, a large language model trained by OpenAI.",
    "As a large language model developed by OpenAI, I do not have access to real-time data.",
    "I'm Claude, an AI assistant made by Anthropic.",
    "As Bard, a language model from Google, I can help with that.",
    "As an AI assistant, I do not have feelings or personal experiences, but",
    "I am an AI developed by OpenAI and I cannot browse the internet.",
]


def identity(rng: random.Random, host: Rec) -> Out:
    lead = rng.choice(IDENTITIES)
    return [(_with(host, output=f"{lead} {host['output']}"), "plant")]


TEMPLATE_MARKS = [
    ("", "<|endoftext|>"), ("", "</s>"), ("", "<|im_end|>\n<|im_start|>user\nThanks!"),
    ("### Response:\n", ""), ("[INST] ", " [/INST]"), ("", "\n\nHuman: Can you explain more?\n\nAssistant:"),
    ("<|assistant|>\n", "<|end|>"),
]


def template_leak(rng: random.Random, host: Rec) -> Out:
    pre, post = rng.choice(TEMPLATE_MARKS)
    return [(_with(host, output=f"{pre}{host['output']}{post}"), "plant")]


# ---- record-level content -------------------------------------------------


def empty(rng: random.Random, host: Rec) -> Out:
    return [(_with(host, output=rng.choice(["", " ", "\n", "  \n  ", "\t"])), "plant")]


def looping(rng: random.Random, host: Rec) -> Out:
    parts = _sentences(host["output"])
    loop = rng.choice(parts[:3]) if parts else "I hope this helps."
    if len(loop.split()) < 5:
        loop = rng.choice(["I hope this helps you with your question.",
                           "Let me know if you have any other questions about this."])
    keep = " ".join(parts[:rng.randint(1, max(1, len(parts) // 2))])
    text = keep + " " + " ".join([loop] * rng.randint(8, 16))
    return [(_with(host, output=text), "plant")]


def truncated_sentence(rng: random.Random, host: Rec) -> Out:
    words = host["output"].split(" ")
    cut = rng.randint(len(words) // 3, len(words) * 3 // 4)
    while cut > 3 and re.search(r"[.!?:;,)\]]$", words[cut - 1]):
        cut -= 1
    return [(_with(host, output=" ".join(words[:cut])), "plant")]


def truncated_code(rng: random.Random, host: Rec) -> Out:
    """Cut a code answer inside a block: after an opening bracket/brace or mid-line."""
    text = host["output"]
    fence = text.find("```")
    start = max(len(text) // 3, fence + 4 if fence >= 0 else 0)
    opens = [m.end() for m in re.finditer(r"[({\[]", text) if m.end() > start]
    cut = rng.choice(opens) if opens else len(text) * 2 // 3
    cut = min(len(text) - 1, cut + rng.randint(0, 12))
    return [(_with(host, output=text[:cut].rstrip("\n")), "plant")]


def mismatched(rng: random.Random, host: Rec, other: Rec) -> Out:
    return [(_with(host, output=other["output"]), "plant")]


def exact_duplicate(rng: random.Random, host: Rec) -> Out:
    copy = dict(host)
    if rng.random() < 0.3:
        copy["output"] = copy["output"].replace(". ", ".  ", 1) + " "
    return [(host, "partner"), (copy, "plant")]


SYNONYMS = {"large": "big", "small": "little", "important": "crucial", "use": "utilize", "help": "assist",
            "very": "really", "good": "great", "many": "numerous", "often": "frequently", "also": "as well",
            "can": "could", "make": "create", "show": "demonstrate", "get": "obtain", "people": "individuals"}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def near_duplicate(rng: random.Random, host: Rec) -> Out:
    words = host["output"].split(" ")
    swaps = [i for i, w in enumerate(words) if w.lower() in SYNONYMS]
    for i in rng.sample(swaps, min(len(swaps), rng.randint(1, 3))):
        words[i] = SYNONYMS[words[i].lower()]
    out = " ".join(words)
    if not swaps or rng.random() < 0.5:
        out = rng.choice(["Sure! ", "Certainly. ", "", "Here you go: "]) + out.rstrip(".") + "."
    if _norm(out) == _norm(host["output"]):
        out = rng.choice(["Sure! ", "Certainly. ", "Here you go: "]) + out
    instr = host["instruction"]
    if rng.random() < 0.5:
        instr = instr.rstrip(".?") + rng.choice([".", "?", " please."])
    return [(host, "partner"), (_with(host, instruction=instr, output=out), "plant")]


def conflicting_gsm8k(rng: random.Random, host: Rec) -> Out:
    """Same GSM8K problem, final answer changed (the wrong result of the last step)."""
    m = re.search(r"#### (-?[\d,]+)\s*$", host["output"])
    old = m.group(1) if m else "0"
    value = int(old.replace(",", ""))
    delta = rng.choice([-12, -5, -2, 2, 3, 7, 10, 15])
    new = str(value + delta if value + delta > 0 else value + abs(delta))
    lines = host["output"].splitlines()
    last = re.sub(rf"(?<=[=>$]){re.escape(old)}(?![\d,])", new, lines[-2]) if len(lines) > 1 else ""
    body = "\n".join(lines[:-2] + ([last] if last else []) + [f"#### {new}"])
    return [(host, "partner"), (_with(host, output=body), "plant")]


LABEL_FLIPS = {"positive": "negative", "Yes": "No", "equivalent": "not equivalent",
               "not equivalent": "equivalent"}


def conflicting_label(rng: random.Random, host: Rec) -> Out:
    """Same classification prompt, the opposite label."""
    return [(host, "partner"), (_with(host, output=LABEL_FLIPS[host["output"]]), "plant")]


def conflicting_other(rng: random.Random, host: Rec) -> Out:
    """Same prompt: the human target and another model's (different) response."""
    first = _with(host, output=host["target"])
    first.pop("target", None)
    second = dict(host)
    second.pop("target", None)
    return [(first, "partner"), (second, "plant")]


def benchmark(rng: random.Random, item: Rec, reword: bool) -> Out:
    if not reword:
        return [(dict(item), "plant")]
    lead = rng.choice(["Solve the following problem. ", "Answer this question: ", "Please help me with this: ",
                       "Can you work this out? ", ""])
    words = item["instruction"].split(" ")
    i = rng.randrange(len(words))
    if words[i].lower() in SYNONYMS:
        words[i] = SYNONYMS[words[i].lower()]
    text = lead + " ".join(words)
    tail = rng.choice(["", " Explain briefly.", " Show your work."])
    return [(_with(item, instruction=text + tail), "plant")]


def as_is(rng: random.Random, host: Rec) -> Out:
    """A real record planted unchanged (off-language and language-mismatch records)."""
    return [(dict(host), "plant")]
