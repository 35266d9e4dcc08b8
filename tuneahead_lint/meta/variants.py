"""Dataset variants (TuneAhead Appendix A.1): a :class:`Recipe` names source
sets and the corruptions applied to a sample of them; :func:`build_variant`
turns it into records, the same records on every machine.

Steps, in this order, each with its own seeded generator
(``random.Random(f"{seed}:{step}")``, Python's Mersenne twister, the same on
every platform):

1. **sample** ``size`` records from the ``sources`` (domain mixing: weights,
   largest-remainder allocation), each source sampled without replacement
   from its usable records (decoded, non-blank response) in file order;
2. **shuffle** them together;
3. **label_noise**: a fraction of records get another chosen record's
   response (responses rotated among them: nobody keeps its own);
4. **near_dups**: a fraction of records are overwritten by lightly edited
   copies of other records (case, whitespace, punctuation, a dropped word);
5. **outliers**: a fraction are overwritten by off-domain records (another
   source, ``outlier_source``) or by garbage (``outlier_source="garbage"``:
   random characters, repeated words, markup, base64-like blobs);
6. **truncate**: a fraction of responses are cut mid-text at 20-60% of their
   length, on a word boundary;
7. **template_leak**: a fraction of records carry chat/instruction template
   text inside their content (ChatML tags, Alpaca headers, role prefixes, a
   leaked next turn).

The size stays fixed (corruptions overwrite, never add), so a size effect is
never confounded with a corruption. Steps 3-7 pick their records
independently and may overlap.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import string
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tuneahead_lint.meta import heldout
from tuneahead_lint.types import Example, Turn, text_hash

# name -> path relative to the instruct data dir (``../shared/data/instruct``; see its MANIFEST)
SOURCES: dict[str, str] = {
    "alpaca": "alpaca_5k_subset/alpaca_5000.json",
    "code_alpaca": "code_alpaca_2k/code_alpaca_2k.json",
    "gsm8k": "gsm8k_train/train.jsonl",
    "dolly_hh": "dolly_hhrlhf_train_small/dolly_hhrlhf_train_small.jsonl",
    "medical": "medical_meadow_wikidoc_patient_info/medical_meadow_small.json",
    "lima": "lima_llamafactory/lima.json",
    "roleplay": "gpteacher_roleplay/roleplay-simple-deduped-roleplay-instruct.json",
    "toolformer": "gpteacher_toolformer/toolformer-dedupe-only-dataset.json",
    "oasst_zh": "oasst1_zh_sft_llamafactory/oaast_sft_zh.json",
    "hh_harmless": "hh_rlhf_harmless_base_test/test.jsonl.gz",
    "sharegpt": "sharegpt_v3_unfiltered_first1500/ShareGPT_V3_unfiltered_cleaned_split.first1500.json",
    "t0": "t0_train_templated_subset/data_per_template",
}
GARBAGE = "garbage"
_V2_DEFAULTS: dict[str, object] = {"heldout": 0}


class VariantError(ValueError):
    """A recipe cannot be built from the data at hand (exit code 2)."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to build one dataset variant. Rates are fractions of ``size``;
    ``label_noise`` may be 1.0 (every response swapped)."""

    sources: tuple[tuple[str, float], ...]
    size: int
    seed: int = 0
    label_noise: float = 0.0
    near_dups: float = 0.0
    outliers: float = 0.0
    outlier_source: str = GARBAGE
    truncate: float = 0.0
    template_leak: float = 0.0
    # v2 fields: left out of the JSON at their default, so v1 recipes keep their ids
    heldout: int = 0  # records per source held out (meta.heldout.split); 0: none

    def __post_init__(self) -> None:
        if self.size < 1:
            raise VariantError(f"size must be >= 1, got {self.size}")
        for name, w in self.sources:
            if name not in SOURCES:
                raise VariantError(f"unknown source {name!r} (known: {', '.join(SOURCES)})")
            if w <= 0:
                raise VariantError(f"source weight must be > 0, got {name}={w}")
        for rate in ("label_noise", "near_dups", "outliers", "truncate", "template_leak"):
            if not 0.0 <= getattr(self, rate) <= 1.0:
                raise VariantError(f"{rate} must be in [0, 1], got {getattr(self, rate)}")
        if self.heldout < 0:
            raise VariantError(f"heldout must be >= 0, got {self.heldout}")
        if self.outlier_source != GARBAGE and self.outlier_source not in SOURCES:
            raise VariantError(f"unknown outlier_source {self.outlier_source!r}")

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): the stored, hashable form."""
        d = asdict(self)
        d["sources"] = [list(s) for s in self.sources]
        for key in _V2_DEFAULTS:
            if d[key] == _V2_DEFAULTS[key]:
                del d[key]
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        d = json.loads(text)
        d["sources"] = tuple((str(n), float(w)) for n, w in d["sources"])
        return cls(**d)

    @property
    def id(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """Short human name: ``alpaca+gsm8k-n96-noise0.5``."""
        parts = ["+".join(n for n, _ in self.sources), f"n{self.size}"]
        for key, short in (("label_noise", "noise"), ("near_dups", "dup"), ("outliers", "out"),
                           ("truncate", "trunc"), ("template_leak", "leak")):
            v = getattr(self, key)
            if v:
                src = f"({self.outlier_source})" if key == "outliers" and self.outlier_source != GARBAGE else ""
                parts.append(f"{short}{v:g}{src}")
        return "-".join(parts)


# ---------------------------------------------------------------- sources


@functools.lru_cache(maxsize=16)
def load_source(name: str, data_dir: str) -> tuple[Example, ...]:
    """Usable records of one source set, in file order (cached per process)."""
    from tuneahead_lint.readers import discover, read

    path = Path(data_dir) / SOURCES[name]
    if not path.exists():
        raise VariantError(f"{path}: source {name!r} not found (--data-dir {data_dir})")
    out: list[Example] = []
    for file in discover([str(path)]):
        out.extend(ex for ex in read(file) if ex.ok and ex.response.strip())
    if not out:
        raise VariantError(f"{path}: no usable records")
    return tuple(out)


@functools.lru_cache(maxsize=64)
def source_split(name: str, data_dir: str, n: int) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """``(train_pool, heldout)`` of a source (:func:`meta.heldout.split`, cached per process).
    ``heldout`` is what ``y_indomain`` scores; no variant ever draws from it."""
    try:
        train, held = heldout.split(name, load_source(name, data_dir), n)
    except ValueError as exc:
        raise VariantError(str(exc)) from None
    return tuple(train), tuple(held)


def heldout_records(name: str, data_dir: str | Path, n: int) -> tuple[Example, ...]:
    """The fixed clean held-out records of source ``name`` (file order)."""
    return source_split(name, str(data_dir), n)[1]


def train_pool(recipe: Recipe, name: str, data_dir: str) -> tuple[Example, ...]:
    """Records of ``name`` a variant of ``recipe`` may draw (file order): the
    source's training pool minus anything duplicating a held-out record of
    a source the recipe trains on. All records when ``recipe.heldout`` is 0."""
    if not recipe.heldout:
        return load_source(name, data_dir)
    sealed = _sealed(tuple(sorted(n for n, _ in recipe.sources)), data_dir, recipe.heldout)
    return tuple(ex for ex in source_split(name, data_dir, recipe.heldout)[0] if not heldout.touches(ex, sealed))


@functools.lru_cache(maxsize=64)
def _sealed(names: tuple[str, ...], data_dir: str, n: int) -> frozenset[str]:
    return frozenset().union(*(heldout.sealed_keys(source_split(name, data_dir, n)[1]) for name in names))


@functools.lru_cache(maxsize=16)
def source_digest(name: str, data_dir: str) -> str:
    """sha256 of the source's file bytes (files in sorted order), 16 hex."""
    from tuneahead_lint.readers import discover

    h = hashlib.sha256()
    for file in discover([str(Path(data_dir) / SOURCES[name])]):
        h.update(Path(file).read_bytes())
    return h.hexdigest()[:16]


def default_data_dir() -> Path:
    """``../shared/data/instruct`` (relative to the cwd or to this checkout)."""
    for cand in (Path("../shared/data/instruct"), Path(__file__).resolve().parents[3] / "shared/data/instruct"):
        if cand.is_dir():
            return cand.resolve()
    return Path("../shared/data/instruct")


# ---------------------------------------------------------------- building


@dataclass
class _Rec:
    """Mutable working copy: earlier turns kept as is, last user and assistant texts editable."""

    head: tuple[Turn, ...]
    prompt: str
    response: str
    origin: str = ""
    edits: list[str] = field(default_factory=list)


def _split(ex: Example, origin: str) -> _Rec:
    turns = list(ex.turns)
    last_a = max(i for i, t in enumerate(turns) if t.role == "assistant")
    turns = turns[: last_a + 1]
    last_u = next((i for i in range(last_a - 1, -1, -1) if turns[i].role == "user"), None)
    if last_u is None:
        return _Rec(tuple(turns[:last_a]), "", turns[last_a].content, origin)
    head = tuple(turns[:last_u]) + tuple(turns[last_u + 1:last_a])
    return _Rec(head, turns[last_u].content, turns[last_a].content, origin)


def _allocate(size: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder split of ``size`` by ``weights``."""
    total = sum(weights)
    raw = [size * w / total for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))[: size - sum(counts)]:
        counts[i] += 1
    return counts


def _rng(recipe: Recipe, step: str) -> random.Random:
    return random.Random(f"{recipe.seed}:{step}")


def _pick(recipe: Recipe, step: str, n: int, rate: float) -> list[int]:
    m = round(rate * n)
    return _rng(recipe, step).sample(range(n), m) if m else []


def build_variant(recipe: Recipe, data_dir: str | Path) -> list[Example]:
    """The records of ``recipe`` as Examples (``path`` = ``meta:<recipe id>``).

    :raises VariantError: a source is missing or smaller than its share."""
    data_dir = str(data_dir)
    recs: list[_Rec] = []
    counts = _allocate(recipe.size, [w for _, w in recipe.sources])
    for (name, _), k in zip(recipe.sources, counts):
        pool = train_pool(recipe, name, data_dir)
        if k > len(pool):
            raise VariantError(f"source {name!r} has {len(pool)} usable records, recipe needs {k}")
        for i in sorted(_rng(recipe, f"sample:{name}").sample(range(len(pool)), k)):
            recs.append(_split(pool[i], f"{name}:{pool[i].line}"))
    _rng(recipe, "order").shuffle(recs)
    _label_noise(recipe, recs)
    _near_dups(recipe, recs)
    _outliers(recipe, recs, data_dir)
    _truncate(recipe, recs)
    _template_leak(recipe, recs)
    return [_example(recipe, i, r) for i, r in enumerate(recs)]


def _example(recipe: Recipe, i: int, r: _Rec) -> Example:
    turns = r.head + ((Turn("user", r.prompt),) if r.prompt else ()) + (Turn("assistant", r.response),)
    return Example(path=f"meta:{recipe.id}", line=i + 1, index=i, format="messages", turns=turns,
                   raw_hash=text_hash(*(p for t in turns for p in (t.role, t.content))))


def _label_noise(recipe: Recipe, recs: list[_Rec]) -> None:
    idx = _pick(recipe, "label_noise", len(recs), recipe.label_noise)
    if len(idx) < 2:
        return
    moved = [recs[idx[(k + 1) % len(idx)]].response for k in range(len(idx))]
    for i, resp in zip(idx, moved):
        recs[i].response = resp
        recs[i].edits.append("label_noise")


def _perturb(text: str, rng: random.Random) -> str:
    """A near-duplicate of ``text``: one or two light edits."""
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
    return " ".join(words)


def _near_dups(recipe: Recipe, recs: list[_Rec]) -> None:
    idx = _pick(recipe, "near_dups", len(recs), recipe.near_dups)
    keep = [i for i in range(len(recs)) if i not in set(idx)]
    if not idx or not keep:
        return
    rng = _rng(recipe, "near_dups:edit")
    for i in idx:
        src = recs[rng.choice(keep)]
        recs[i] = _Rec(src.head, _perturb(src.prompt, rng) if src.prompt else src.prompt,
                       _perturb(src.response, rng), src.origin, ["near_dup"])


def _garbage(rng: random.Random) -> str:
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


def _outliers(recipe: Recipe, recs: list[_Rec], data_dir: str) -> None:
    idx = _pick(recipe, "outliers", len(recs), recipe.outliers)
    if not idx:
        return
    rng = _rng(recipe, "outliers:make")
    if recipe.outlier_source == GARBAGE:
        for i in idx:
            recs[i] = _Rec((), _garbage(rng), _garbage(rng), GARBAGE, ["outlier"])
        return
    pool = train_pool(recipe, recipe.outlier_source, data_dir)
    for i, j in zip(idx, rng.sample(range(len(pool)), min(len(idx), len(pool)))):
        recs[i] = _split(pool[j], f"{recipe.outlier_source}:{pool[j].line}")
        recs[i].edits.append("outlier")


def _truncate(recipe: Recipe, recs: list[_Rec]) -> None:
    rng = _rng(recipe, "truncate:cut")
    for i in _pick(recipe, "truncate", len(recs), recipe.truncate):
        text = recs[i].response
        cut = int(len(text) * rng.uniform(0.2, 0.6))
        space = text.rfind(" ", 0, cut)
        recs[i].response = text[: space if space > 0 else max(1, cut)].rstrip(" .!?")
        recs[i].edits.append("truncate")


_ALPACA_HEAD = ("Below is an instruction that describes a task. Write a response that "
                "appropriately completes the request.\n\n### Instruction:\n")


def _template_leak(recipe: Recipe, recs: list[_Rec]) -> None:
    idx = _pick(recipe, "template_leak", len(recs), recipe.template_leak)
    rng = _rng(recipe, "template_leak:kind")
    for i in idx:
        r = recs[i]
        other = recs[rng.randrange(len(recs))].prompt[:200]
        kind = rng.randrange(4)
        if kind == 0:  # a leaked next ChatML turn
            r.response = f"{r.response}<|im_end|>\n<|im_start|>user\n{other}"
        elif kind == 1:  # the raw Alpaca template left in the text
            r.prompt = f"{_ALPACA_HEAD}{r.prompt}\n\n### Response:"
            r.response = f"### Response:\n{r.response}"
        elif kind == 2:  # transcript role prefixes
            r.prompt = f"Human: {r.prompt}\n\nAssistant:"
            r.response = f"Assistant: {r.response}\n\nHuman:"
        else:  # the next instruction leaked into the response
            r.response = f"{r.response}\n\n### Instruction:\n{other}\n\n### Response:\n"
        r.edits.append("template_leak")


def write_jsonl(examples: Sequence[Example], path: str | Path) -> None:
    """Write a variant as ``{"messages": [...]}`` JSONL (what the readers read)."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for ex in examples:
            msgs = [{"role": t.role, "content": t.content} for t in ex.turns]
            fh.write(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")
