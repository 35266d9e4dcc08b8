"""Personal data (TA113) and secrets (TA114) in any turn.

Every candidate is validated before it counts: payment cards by the Luhn
checksum and issuer prefix, IBANs by their mod-97 checksum, US SSNs by the
number ranges the SSA never issues, IP addresses must be public. Documented
placeholders are not personal data and are skipped: the reserved example
domains (example.com, *.test, ...), the phone numbers reserved for fiction (555-01xx)
and the SSA's sample SSNs.

Secrets are high-precision patterns for well-known key formats (the same
formats detect-secrets' plugins look for) plus PEM private-key headers; a
generic ``key = "..."`` assignment counts only when its value is long and
random-looking (Shannon entropy).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tuneahead_lint.checks import CheckContext, check
from tuneahead_lint.checks.text import record_hit
from tuneahead_lint.checks.textutil import valid
from tuneahead_lint.types import Example, Hit


@dataclass(frozen=True, slots=True)
class Match:
    kind: str  # email, phone, card, ssn, iban, ip / the secret's format
    start: int
    end: int
    text: str


# --- validators ------------------------------------------------------------

_PLACEHOLDER_DOMAIN = re.compile(
    r"(?:^|\.)(?:example|test|invalid|localhost|domain|yourdomain|yourcompany|company|email|"
    r"sample|website|mysite|acme|foo|bar|xyz|abc|xxx+)\.[a-z.]+$|\.(?:test|example|invalid|localhost)$")
_PLACEHOLDER_LOCAL = re.compile(r"^(?:name|username|user|email|someone|me|you|test|git|noreply|no-reply|"
                                r"first[._]?last|(?:john|jane|joe)[._]?doe|(.)\1+|"
                                r".*(?:example|sample|address|your|xxx|dummy|fake|placeholder).*)$")
# role mailboxes of organisations are contact data, not personal data
_ROLE_LOCAL = re.compile(r"^(?:support|info|contact|sales|admin|help|helpdesk|alerts?|enquiries|\w*queries|press|"
                         r"media|privacy|webmaster|hello|team|office|service|billing|careers|jobs|hr|marketing|"
                         r"feedback|e?customs|\w*policy)$")
_SAMPLE_SSN = frozenset({"078-05-1120", "123-45-6789", "219-09-9999"})
_PUBLIC_DNS = frozenset({"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "208.67.222.222",
                         "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111",
                         "2606:4700:4700::1001", "2620:fe::fe"})


def luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


# Test numbers that payment providers publish for their sandboxes (Stripe, Braintree,
# PayPal, Adyen docs): code samples and tutorials carry them, and no card holder has them.
TEST_CARDS = frozenset({
    "4242424242424242", "4000056655665556", "4111111111111111", "4012888888881881", "4222222222222",
    "5555555555554444", "2223003122003222", "5200828282828210", "5105105105105100", "5500000000000004",
    "378282246310005", "371449635398431", "378734493671000", "6011111111111117", "6011000990139424",
    "3566002020360505", "3530111333300000",
})


def _card(text: str) -> bool:
    """Issuer prefix and Luhn checksum, and not a published test number (:data:`TEST_CARDS`)."""
    digits = re.sub(r"[ -]", "", text)
    issuer = re.match(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35", digits)
    return (13 <= len(digits) <= 19 and bool(issuer) and len(set(digits)) > 1 and luhn(digits)
            and digits not in TEST_CARDS)


def _iban(text: str) -> bool:
    s = text.replace(" ", "")
    moved = s[4:] + s[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return 15 <= len(s) <= 34 and int(number) % 97 == 1


def _email(text: str) -> bool:
    local, _, domain = text.lower().rpartition("@")
    return not (_PLACEHOLDER_DOMAIN.search(domain) or _PLACEHOLDER_LOCAL.match(local) or _ROLE_LOCAL.match(local))


# reserved for fiction: 555-0100..0199, and the 555-555-xxxx / (555) forms films use
_FICTIONAL = re.compile(r"555\D?01\d\d$|555\D+555\D|\(555\)")


def _phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if not 10 <= len(digits) <= 15 or len(set(digits)) <= 2:
        return False
    if not text.startswith("+") or text.startswith("+1"):  # North American plan: NXX-NXX-XXXX
        nanp = digits[-10:]
        if nanp[0] in "01" or nanp[3] in "01":  # (123) 456-7890 and the like are not numbers
            return False
    return not _FICTIONAL.search(text)


def _intl_phone(text: str) -> bool:
    """A number in international format (+CC ...) of a known country code and
    a length libphonenumber's metadata allows for that country (numbers in
    ranges not yet allocated still look like, and may become, real numbers)."""
    import phonenumbers

    digits = re.sub(r"\D", "", text)
    if not 8 <= len(digits) <= 15 or len(set(digits)) <= 2 or _FICTIONAL.search(text):
        return False
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return False
    known = phonenumbers.region_code_for_number(number) not in (None, "ZZ")
    return known and phonenumbers.is_possible_number(number)


def _ip(text: str) -> bool:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False
    octets = text.split(".")
    return addr.is_global and text not in _PUBLIC_DNS and any(len(o) == 3 for o in octets)


def _ipv6(text: str) -> bool:
    """A public IPv6 address (documentation, private and link-local ranges
    are not) with at least four groups written out."""
    try:
        addr = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    groups = [g for g in text.split(":") if g]
    return addr.is_global and addr.ipv4_mapped is None and len(groups) >= 4 and text.lower() not in _PUBLIC_DNS


PII: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"),
     _email),
    ("card", re.compile(r"(?<![\d.,-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -]?)\d{6}\2\d{4,5})"
                        r"(?![\d-]|[.,]\d)"), _card),
    ("ssn", re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])"),
     lambda s: s not in _SAMPLE_SSN),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), _iban),
    ("phone", re.compile(r"(?<![\w+.=/$-])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,3}\d{3,4}|"
                         r"\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}([.-])\d{3}\1\d{4})(?![\w=-]|[.,]\d)"), _phone),
    ("phone", re.compile(r"(?<![\w+.=/$-])\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w=-]|[.,]\d)"),
     _intl_phone),
    ("ip", re.compile(r"(?<![\w.§-])(?:\d{1,3}\.){3}\d{1,3}(?![\w-]|\.\w)"), _ip),
    ("ip", re.compile(r"(?<![\w:.-])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,6}|[0-9A-Fa-f]{1,4})"
                      r"(?![\w:-]|\.\w)"), _ipv6),
)


_DIGITS = re.compile(r"\d\d\d")
_PLUS_DIGIT = re.compile(r"\+\d")
_IPV6_HINT = re.compile(r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")


def find_pii(text: str, kinds: Sequence[str]) -> list[Match]:
    """Validated PII in ``text``, leftmost first; overlapping matches keep the
    earlier kind in :data:`PII` (a card number is not also a phone number)."""
    found: list[Match] = []
    has_at, has_digits = "@" in text, bool(_DIGITS.search(text))
    has_colons = "::" in text or bool(_IPV6_HINT.search(text))
    has_plus = bool(_PLUS_DIGIT.search(text))
    for kind, rx, ok in PII:
        if kind not in kinds or not (has_at if kind == "email" else has_colons if ok is _ipv6 else
                                     has_plus if ok is _intl_phone else has_digits):
            continue
        for m in rx.finditer(text):
            if ok(m.group(0)) and not any(m.start() < f.end and f.start < m.end() for f in found):
                found.append(Match(kind, m.start(), m.end(), m.group(0)))
    return sorted(found, key=lambda f: f.start)


def mask(text: str) -> str:
    """``text`` with its middle hidden: enough to find it, not to reuse it."""
    keep = max(2, len(text) // 4)
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:] if len(text) > 2 * keep else "*" * len(text)


_PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "ssn": "[SSN]",
                 "iban": "[IBAN]", "ip": "[IP]"}


def redact(text: str, kinds: Sequence[str]) -> str:
    """``text`` with every PII match replaced by its typed placeholder ([EMAIL] ...)."""
    out, last = [], 0
    for f in find_pii(text, kinds):
        out += [text[last:f.start], _PLACEHOLDERS[f.kind]]
        last = f.end
    return "".join(out) + text[last:]


@check("pii", per_record=True)
def pii(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Turns with e-mail addresses, phone, card, SSN, IBAN numbers or public IPs."""
    kinds = tuple(ctx.options["kinds"])
    for ex in valid(examples):
        found = [f for t in ex.turns for f in find_pii(t.content, kinds)]
        if found:
            count = Counter(f.kind for f in found)
            yield record_hit(ex, "pii", (("kinds", ", ".join(sorted(count))), ("count", len(found)),
                                         ("text", mask(found[0].text))))


# --- TA114 secret ----------------------------------------------------------

SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p)) for k, p in (
    ("private key", r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    ("AWS access key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    ("GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    ("OpenAI key", r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}\b|"
                   r"\bsk-[A-Za-z0-9]{48}\b|\bsk-proj-[A-Za-z0-9_-]{40,}\b|"
                   r"\bsk-(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[a-z])[A-Za-z0-9]{24,}\b"),
    ("Anthropic key", r"\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}\b"),
    ("Slack token", r"\bxox[abposr]-[0-9A-Za-z-]{10,}\b"),
    ("Stripe key", r"\b(?:sk|rk)_live_[0-9A-Za-z]{24,}\b"),
    ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("JSON web token", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ("Hugging Face token", r"\bhf_[A-Za-z]{34}\b"),
    ("Twilio key", r"\bSK[0-9a-f]{32}\b"),
    ("SendGrid key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
))
_ASSIGNED = re.compile(r"(?i)(?<![\w-])(?!enc_|encrypted_|hashed_)[\w-]*(?:api[_-]?key|secret|access[_-]?token|"
                       r"auth[_-]?token|password|passwd)[\w-]*[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9+/_\-=]{20,})(?![\w.(])|"
                       r"\bBearer\s+([A-Za-z0-9._~+/-]{20,})")


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _random_looking(value: str, min_entropy: float) -> bool:
    classes = sum((any(c.isupper() for c in value), any(c.islower() for c in value),
                   any(c.isdigit() for c in value)))
    placeholder = re.search(r"(?i)your|xxxx|example|here|placeholder|dummy|secret|token|password|\.\.\.", value)
    return classes >= 2 and entropy(value) >= min_entropy and not placeholder


# every match of a SECRETS pattern contains one of these literals
_MARKER = re.compile(r"PRIVATE KEY|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|sk-|xox|_live_|AIza|eyJ|hf_|"
                     r"SK[0-9a-f]|SG\.|npm_")
_ASSIGN_MARKERS = ("key", "secret", "token", "passw", "bearer")


def find_secrets(text: str, min_entropy: float) -> list[Match]:
    found = [Match(kind, m.start(), m.end(), m.group(0)) for kind, rx in SECRETS
             for m in rx.finditer(text)] if _MARKER.search(text) else []
    lower = text.lower()
    if not any(mark in lower for mark in _ASSIGN_MARKERS):
        return sorted(found, key=lambda f: f.start)
    for m in _ASSIGNED.finditer(text):
        group = 1 if m.group(1) else 2
        value = m.group(group)
        if _random_looking(value, min_entropy) and not any(f.start < m.end(group) and m.start(group) < f.end
                                                           for f in found):
            found.append(Match("assigned secret", m.start(group), m.end(group), value))
    return sorted(found, key=lambda f: f.start)


@check("secret", per_record=True)
def secret(examples: Sequence[Example], ctx: CheckContext) -> Iterator[Hit]:
    """Turns with API keys, tokens or private keys."""
    min_entropy = float(ctx.options["min_entropy"])
    for ex in valid(examples):
        found = [f for t in ex.turns for f in find_secrets(t.content, min_entropy)]
        if found:
            yield record_hit(ex, "secret", (("kind", found[0].kind), ("count", len(found)),
                                            ("text", mask(found[0].text))))
