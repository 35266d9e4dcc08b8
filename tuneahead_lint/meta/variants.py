"""Dataset variants (TuneAhead Appendix A.1): a :class:`Recipe` names source
sets and the corruptions applied to a sample of them, each at a dose (a
fraction of the records); :func:`build_variant` turns it into records, the
same records on every machine.

Every random choice has its own seeded stream
(``random.Random(f"{seed}:{step}")``, Python's Mersenne twister, the same on
every platform): sub-sampling (``sample:<source>``), ordering (``order``),
which records a corruption picks (``pick:<kind>``) and what it writes
(``<kind>:content``). Changing a dose never changes which records are
sampled or their order; the training seed's batch order is the run's own
(``HParams.plan``). Steps, in this order:

1. **sample** ``size`` records from the ``sources`` (domain mixing: weights,
   largest-remainder allocation), each source sampled without replacement
   from its training pool (``heldout``: the fixed held-out split and any
   normalised copy of it are never drawn, see ``meta.heldout``);
2. **shuffle** them together;
3. whole-record corruptions, on disjoint records (their rates sum to <= 1):
   **outliers** (garbage or another source's records, ``outlier_source``),
   **wrong_lang** (records of another-language set, :func:`wrong_lang_source`),
   **exact_dups** (exact copies of untouched records) and **near_dups**
   (lightly edited copies: case, whitespace, punctuation, a word);
4. response corruptions, each picking its records independently (they may
   overlap; later ones act on the result): **label_noise** (responses
   rotated among the picked records: each gets another prompt's response),
   **scramble** (the response's words shuffled), **gibberish** (the
   response replaced by garbage: random characters, a repeated word, markup,
   a base64-like blob), **refusal** (a refusal or an assistant disclaimer),
   **truncate** (cut at 20-60% on a word boundary), **template_leak**
   (ChatML tags, Alpaca headers, role prefixes or a leaked next turn).

Picks are made within each group of records the run trains equally often
(``plan``), one in each stretch of ``1/dose`` records in training order, so
the dose that trains is the dose asked for, at any step the run stops. The size stays
fixed (corruptions overwrite, never add), so a size effect is never
confounded with a corruption.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tuneahead_lint.meta import corrupt, heldout
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
OVERWRITES = ("outliers", "wrong_lang", "exact_dups", "near_dups")  # whole record replaced
EDITS = ("label_noise", "scramble", "gibberish", "refusal", "truncate", "template_leak")  # in this order
KINDS = OVERWRITES + EDITS
# v2 fields, left out of the JSON at their default so v1 recipes keep their ids
_V2_DEFAULTS: dict[str, object] = {"heldout": 0, "wrong_lang": 0.0, "exact_dups": 0.0, "scramble": 0.0,
                                   "gibberish": 0.0, "refusal": 0.0}
_SHORT = {"label_noise": "noise", "near_dups": "dup", "outliers": "out", "truncate": "trunc",
          "template_leak": "leak", "wrong_lang": "lang", "exact_dups": "exact", "scramble": "scramble",
          "gibberish": "gibberish", "refusal": "refusal"}


class VariantError(ValueError):
    """A recipe cannot be built from the data at hand (exit code 2)."""


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to build one dataset variant. Rates (doses) are fractions of
    ``size`` in [0, 1]; the whole-record ones (:data:`OVERWRITES`) sum to <= 1."""

    sources: tuple[tuple[str, float], ...]
    size: int
    seed: int = 0
    label_noise: float = 0.0
    near_dups: float = 0.0
    outliers: float = 0.0
    outlier_source: str = GARBAGE
    truncate: float = 0.0
    template_leak: float = 0.0
    heldout: int = 0  # records per source held out (meta.heldout.split); 0: none
    wrong_lang: float = 0.0
    exact_dups: float = 0.0
    scramble: float = 0.0
    gibberish: float = 0.0
    refusal: float = 0.0

    def __post_init__(self) -> None:
        if self.size < 1:
            raise VariantError(f"size must be >= 1, got {self.size}")
        for name, w in self.sources:
            if name not in SOURCES:
                raise VariantError(f"unknown source {name!r} (known: {', '.join(SOURCES)})")
            if w <= 0:
                raise VariantError(f"source weight must be > 0, got {name}={w}")
        for rate in KINDS:
            if not 0.0 <= getattr(self, rate) <= 1.0:
                raise VariantError(f"{rate} must be in [0, 1], got {getattr(self, rate)}")
        if sum(getattr(self, k) for k in OVERWRITES) > 1.0 + 1e-9:
            raise VariantError(f"{' + '.join(OVERWRITES)} must sum to <= 1")
        if self.heldout < 0:
            raise VariantError(f"heldout must be >= 0, got {self.heldout}")
        if self.outlier_source != GARBAGE and self.outlier_source not in SOURCES:
            raise VariantError(f"unknown outlier_source {self.outlier_source!r}")

    @property
    def drawn_sources(self) -> tuple[str, ...]:
        """Every source set the variant draws records from (sorted): its
        sources, an off-domain ``outlier_source``, the wrong-language set."""
        names = {n for n, _ in self.sources}
        if self.outliers and self.outlier_source != GARBAGE:
            names.add(self.outlier_source)
        if self.wrong_lang:
            names.add(wrong_lang_source(self))
        return tuple(sorted(names))

    @property
    def doses(self) -> dict[str, float]:
        """The corruption kinds this recipe applies, with their rates."""
        return {k: getattr(self, k) for k in KINDS if getattr(self, k)}

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
        for key, short in _SHORT.items():
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
    return _sealed_pool(tuple(sorted(n for n, _ in recipe.sources)), name, data_dir, recipe.heldout)


@functools.lru_cache(maxsize=64)
def _sealed_pool(trained: tuple[str, ...], name: str, data_dir: str, n: int) -> tuple[Example, ...]:
    sealed = _sealed(trained, data_dir, n)
    return tuple(ex for ex in source_split(name, data_dir, n)[0] if not heldout.touches(ex, sealed))


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


@dataclass(frozen=True, slots=True)
class Variant:
    """The records of a variant and, per record, the corruption kinds it carries (in the order applied)."""

    examples: tuple[Example, ...]
    tags: tuple[tuple[str, ...], ...]


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


def build_variant(recipe: Recipe, data_dir: str | Path, plan: Sequence[Sequence[int]] | None = None) -> list[Example]:
    """The records of ``recipe`` as Examples (``path`` = ``meta:<recipe id>``);
    see :func:`build_tagged` for ``plan``.

    :raises VariantError: a source is missing or smaller than its share."""
    return list(build_tagged(recipe, data_dir, plan).examples)


def build_tagged(recipe: Recipe, data_dir: str | Path, plan: Sequence[Sequence[int]] | None = None) -> Variant:
    """The records of ``recipe`` with their corruption tags.

    ``plan``: the record indices of each training step (``HParams.plan``);
    corruptions are then picked within each group of records trained equally
    often, so each kind's share among the records the run trains on is its
    rate (within rounding), whatever the truncation. ``None``: every record
    counts once."""
    data_dir = str(data_dir)
    recs = _sample(recipe, data_dir)
    _rng(recipe, "order").shuffle(recs)
    strata = _strata(len(recs), plan)
    _overwrite(recipe, recs, strata, data_dir)
    for kind in EDITS:
        rate = getattr(recipe, kind)
        if rate:
            _EDIT_FNS[kind](recipe, recs, _pick(recipe, kind, strata, rate))
    for r in recs:
        if not r.response.strip():
            raise VariantError(f"recipe {recipe.label}: a corruption left a blank response ({r.origin})")
    path = f"meta:{recipe.id}"
    return Variant(tuple(_example(path, i, r) for i, r in enumerate(recs)), tuple(tuple(r.edits) for r in recs))


def _sample(recipe: Recipe, data_dir: str) -> list[_Rec]:
    recs: list[_Rec] = []
    counts = _allocate(recipe.size, [w for _, w in recipe.sources])
    for (name, _), k in zip(recipe.sources, counts):
        pool = train_pool(recipe, name, data_dir)
        if k > len(pool):
            raise VariantError(f"source {name!r} has {len(pool)} usable records, recipe needs {k}")
        for i in sorted(_rng(recipe, f"sample:{name}").sample(range(len(pool)), k)):
            recs.append(_split(pool[i], f"{name}:{pool[i].line}"))
    return recs


def _strata(n: int, plan: Sequence[Sequence[int]] | None) -> list[list[int]]:
    """Record indices grouped by how often ``plan`` trains them (most often
    first), each group in the order the plan first trains its records."""
    if plan is None:
        return [list(range(n))]
    first = list(dict.fromkeys(i for batch in plan for i in batch))
    if any(not 0 <= i < n for i in first):
        raise VariantError(f"training plan names a record outside the variant's {n}")
    times = Counter(i for batch in plan for i in batch)
    groups: dict[int, list[int]] = {}
    for i in first + sorted(set(range(n)) - set(first)):
        groups.setdefault(times[i], []).append(i)
    return [groups[m] for m in sorted(groups, reverse=True)]


def _pick(recipe: Recipe, kind: str, strata: list[list[int]], rate: float,
          taken: frozenset[int] = frozenset()) -> list[int]:
    """``round(rate * len(group))`` records of each group (not in ``taken``),
    from the kind's own stream: one at random from each of that many equal
    stretches of the group, so every stretch of training carries the dose."""
    rng = _rng(recipe, f"pick:{kind}")
    out: list[int] = []
    for group in strata:
        free = [i for i in group if i not in taken]
        k = min(len(free), round(rate * len(group)))
        out += [free[rng.randrange(j * len(free) // k, (j + 1) * len(free) // k)] for j in range(k)]
    return out


def _overwrite(recipe: Recipe, recs: list[_Rec], strata: list[list[int]], data_dir: str) -> None:
    """Whole-record corruptions, on disjoint records; copies come from records none of them touched."""
    picks: dict[str, list[int]] = {}
    taken: frozenset[int] = frozenset()
    for kind in OVERWRITES:
        if getattr(recipe, kind):
            picks[kind] = _pick(recipe, kind, strata, getattr(recipe, kind), taken)
            taken |= set(picks[kind])
    keep = [i for i in range(len(recs)) if i not in taken]
    if keep:
        originals = [recs[i] for i in keep]
        for kind in ("exact_dups", "near_dups"):
            _copies(recipe, kind, recs, picks.get(kind, []), originals)
    elif picks.get("exact_dups") or picks.get("near_dups"):
        raise VariantError(f"recipe {recipe.label}: duplicates need records left to copy")
    _replace(recipe, "outliers", recs, picks.get("outliers", []), data_dir, recipe.outlier_source)
    _replace(recipe, "wrong_lang", recs, picks.get("wrong_lang", []), data_dir, wrong_lang_source(recipe))


def _copies(recipe: Recipe, kind: str, recs: list[_Rec], idx: list[int], originals: list[_Rec]) -> None:
    rng = _rng(recipe, f"{kind}:content")
    for i in idx:
        src = rng.choice(originals)
        if kind == "exact_dups":
            recs[i] = _Rec(src.head, src.prompt, src.response, src.origin, [kind])
        else:
            prompt = corrupt.perturb(src.prompt, rng) if src.prompt else src.prompt
            recs[i] = _Rec(src.head, prompt, corrupt.perturb(src.response, rng), src.origin, [kind])


def _replace(recipe: Recipe, kind: str, recs: list[_Rec], idx: list[int], data_dir: str, source: str) -> None:
    """Records replaced by garbage or by records of another source (without replacement)."""
    if not idx:
        return
    rng = _rng(recipe, f"{kind}:content")
    if source == GARBAGE:
        for i in idx:
            recs[i] = _Rec((), corrupt.garbage(rng), corrupt.garbage(rng), GARBAGE, [kind])
        return
    pool = train_pool(recipe, source, data_dir)
    if len(idx) > len(pool):
        raise VariantError(f"recipe {recipe.label}: {kind} needs {len(idx)} records of {source!r}, "
                           f"it has {len(pool)}")
    for i, j in zip(idx, rng.sample(range(len(pool)), len(idx))):
        recs[i] = _split(pool[j], f"{source}:{pool[j].line}")
        recs[i].edits.append(kind)


def wrong_lang_source(recipe: Recipe) -> str:
    """Where wrong-language records come from: the Chinese set, or English
    (Alpaca) for a recipe that trains on the Chinese set."""
    return "alpaca" if any(n == "oasst_zh" for n, _ in recipe.sources) else "oasst_zh"


def _example(path: str, i: int, r: _Rec) -> Example:
    turns = r.head + ((Turn("user", r.prompt),) if r.prompt else ()) + (Turn("assistant", r.response),)
    return Example(path=path, line=i + 1, index=i, format="messages", turns=turns,
                   raw_hash=text_hash(*(p for t in turns for p in (t.role, t.content))))


def _label_noise(recipe: Recipe, recs: list[_Rec], idx: list[int]) -> None:
    """Responses rotated among the picked records (one picked: another record's response)."""
    if not idx or len(recs) < 2:
        return
    if len(idx) == 1:
        rng = _rng(recipe, "label_noise:content")
        moved = [recs[rng.choice([j for j in range(len(recs)) if j != idx[0]])].response]
    else:
        moved = [recs[idx[(k + 1) % len(idx)]].response for k in range(len(idx))]
    for i, resp in zip(idx, moved):
        recs[i].response = resp
        recs[i].edits.append("label_noise")


_Edit = Callable[[Recipe, list[_Rec], list[int]], None]


def _response_edit(kind: str, fn: Callable[[str, random.Random], str]) -> _Edit:
    """An edit that rewrites each picked response with ``fn`` (the kind's content stream)."""
    def apply(recipe: Recipe, recs: list[_Rec], idx: list[int]) -> None:
        rng = _rng(recipe, f"{kind}:content")
        for i in idx:
            recs[i].response = fn(recs[i].response, rng)
            recs[i].edits.append(kind)
    return apply


def _template_leak(recipe: Recipe, recs: list[_Rec], idx: list[int]) -> None:
    rng = _rng(recipe, "template_leak:content")
    for i in idx:
        other = recs[rng.randrange(len(recs))].prompt[:200]
        recs[i].prompt, recs[i].response = corrupt.template_leak(recs[i].prompt, recs[i].response, other, rng)
        recs[i].edits.append("template_leak")


_EDIT_FNS: dict[str, _Edit] = {
    "label_noise": _label_noise,
    "scramble": _response_edit("scramble", corrupt.scramble),
    "gibberish": _response_edit("gibberish", lambda text, rng: corrupt.garbage(rng)),
    "refusal": _response_edit("refusal", corrupt.refusal),
    "truncate": _response_edit("truncate", corrupt.truncate),
    "template_leak": _template_leak,
}


def write_jsonl(examples: Sequence[Example], path: str | Path) -> None:
    """Write a variant as ``{"messages": [...]}`` JSONL (what the readers read)."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for ex in examples:
            msgs = [{"role": t.role, "content": t.content} for t in ex.turns]
            fh.write(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")
