"""Named run grids. A preset expands to an ordered list of :class:`RunSpec`;
the order interleaves blocks (and puts seed repeats early) so that a build
cut short still covers every kind of variant.

``gpu-v2``
    Ground truth v2 (issue 17): every corruption kind of ``meta.variants``
    at four doses (0.1/0.25/0.5/1.0; duplicates up to 0.75) on each of nine
    source sets at learning rates 1e-4, 3e-4, 1e-3 and 3e-3, clean controls
    at every (set, rate) and a few runs at 1e-2; 400-5,000 records (what the
    set's training pool allows once 200 records are held out for
    ``y_indomain``), batch 8 (16 from 4,000 records) and whole epochs, so
    every run takes 200-313 steps and trains every record equally often;
    one config in six of each (kind, rate) also with training seeds 1 and 2.
    The (kind, dose) strata are dealt round-robin, each stratum walking
    source x rate on coprime cycles, so a build stopped by its deadline
    after any number of runs holds every kind, dose, set and rate in near
    equal shares (``tests/meta/test_presets_v2.py`` measures it).
``gpu-full``
    The meta-dataset the predictor is meant to learn from: LoRA r16 on the
    base model, 250-2,000 records, seven benchmarks x up to 1,000 items. Four blocks:
    one corruption at a time on four clean bases; a learning-rate x epochs and
    a learning-rate x batch-size grid on clean data (rates up to 1e-2, where
    LoRA training breaks down); 200 random combinations of sources, size,
    0-3 corruptions and hyperparameters; and two extra training seeds for
    about one config in six (the seed noise floor).
``gpu-lease``
    What one short GPU lease can build (about 6 minutes of an H100/H200 at
    12 workers): 250-1,000-record LoRA r16 fine-tunes at 256 tokens,
    ARC-Easy, ARC-Challenge, PIQA and WinoGrande x 1,000 items, the 100-step
    probe. The grid of ``gpu-full`` scaled down (single corruptions on four
    bases, learning rate x epochs up to 1e-2, sizes, mixes, random
    combinations, seed repeats), and its blocks interleaved round-robin so
    that a build cut off after any number of runs is a balanced sample of all
    of them, seed repeats included.
``cpu-small``
    A small but real meta-dataset for machines without a GPU: 64-record
    Alpaca variants, 16 optimizer steps at batch 4 (128 tokens), ARC-Easy
    and PIQA (100 items each); 20 runs, 7 of them in seed-repeated configs;
    a cheaper probe (8 steps, 8 contrast pairs, 16 forgetting items).
``tiny``
    Two 2-step runs scored on 8 items of one benchmark, 4 held-out records
    per source: for tests and smoke checks (pair it with ``--base-model``
    pointing at a small model and ``--data-dir tests/fixtures/meta/instruct``).
``tiny-all``
    ``tiny`` for every corruption kind: clean and each kind at dose 0.5,
    2 steps of 2 records (half the records train, so the dose placement is
    exercised).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.heldout import HELDOUT_N
from tuneahead_lint.meta.spec import RunSpec, SuiteSpec
from tuneahead_lint.meta.variants import GARBAGE, KINDS, OVERWRITES, Recipe

FULL_SUITE = ("arc_easy", "arc_challenge", "piqa", "boolq", "winogrande", "mmlu", "truthfulqa_mc1")
# The default target averages the change from the base model over these
# benchmarks. Both sit well above chance for a 135M model (ARC-Easy 0.54 vs
# 0.25, PIQA 0.65 vs 0.5), so a fine-tune can move them either way, and
# ARC-Easy is the one that moved with label noise in the first experiment.
# MMLU (0.27 vs 0.25), ARC-Challenge and WinoGrande sit near chance at this
# scale and BoolQ swings with the model's yes/no prior; they are scored and
# exported per benchmark but kept out of the default target (rebuild it with
# ``meta export --target-benchmarks``).
TARGET_BENCHMARKS = ("arc_easy", "piqa")


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    suite: SuiteSpec
    probe_steps: int
    make: Callable[[str, SuiteSpec], list[RunSpec]]
    probe_extra: tuple[tuple[str, int], ...] = ()  # other ProbeConfig fields

    def specs(self, base_model: str, suite: SuiteSpec | None = None) -> list[RunSpec]:
        return self.make(base_model, suite or self.suite)


def _one(src: str) -> tuple[tuple[str, float], ...]:
    return ((src, 1.0),)


def _with_repeats(configs: list[tuple[Recipe, HParams]], share: float, extra_seeds: tuple[int, ...],
                  base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    """Seed 0 for every config; ``extra_seeds`` too for the configs whose
    hash falls in the first ``share`` of the unit interval. Repeats go first,
    everything else in a fixed hash order."""
    specs = [RunSpec(r, hp, 0, base_model, suite) for r, hp in configs]
    seen: set[str] = set()
    unique = [s for s in specs if not (s.run_id in seen or seen.add(s.run_id))]
    rep, rest = [], []
    for s in unique:
        h = int(hashlib.sha256(s.config_id.encode()).hexdigest()[:8], 16) / 2**32
        (rep if h < share else rest).append(s)
    rep_all = [replace(s, seed=k) for s in rep for k in (0, *extra_seeds)]
    rest.sort(key=lambda s: s.run_id)
    return rep_all + rest


# ---------------------------------------------------------------- gpu-full

_GPU_HP = HParams(lr=3e-4, batch_size=8, epochs=1.0, lora_r=16, lora_alpha=32, max_len=512)
_GPU_BASES = ("alpaca", "dolly_hh", "gsm8k", "code_alpaca")
_GPU_MAX = {"lima": 1000, "dolly_hh": 1000, "oasst_zh": 600, "alpaca": 4000, "roleplay": 1900,
            "code_alpaca": 2000, "gsm8k": 4000, "medical": 4000, "toolformer": 4000}
_GPU_MIXES = (
    (("alpaca", 0.5), ("gsm8k", 0.5)), (("alpaca", 0.5), ("code_alpaca", 0.5)),
    (("alpaca", 0.7), ("medical", 0.3)), (("dolly_hh", 0.5), ("lima", 0.5)),
    (("alpaca", 0.4), ("roleplay", 0.3), ("gsm8k", 0.3)),
)
_CORRUPTIONS: tuple[tuple[str, tuple[float, ...], str], ...] = (
    ("label_noise", (0.1, 0.25, 0.5, 0.75, 1.0), GARBAGE),
    ("near_dups", (0.1, 0.3, 0.6), GARBAGE),
    ("outliers", (0.05, 0.2, 0.4), GARBAGE),
    ("outliers", (0.2, 0.5), "oasst_zh"),
    ("outliers", (0.2, 0.5), "toolformer"),
    ("truncate", (0.2, 0.5, 0.9), GARBAGE),
    ("template_leak", (0.1, 0.3, 0.6), GARBAGE),
)
_LRS = (2e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


def _gpu_full(base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    configs: list[tuple[Recipe, HParams]] = []
    # A: one corruption at a time
    for src in _GPU_BASES:
        size = min(2000, _GPU_MAX[src])
        configs.append((Recipe(_one(src), size), _GPU_HP))
        for key, levels, osrc in _CORRUPTIONS:
            for v in levels:
                configs.append((Recipe(_one(src), size, **{key: v}, outlier_source=osrc), _GPU_HP))
    # sub-sampling and domain mixing, clean
    for src in ("alpaca", "gsm8k", "lima", "medical", "roleplay"):
        for size in (250, 500, 1000, 2000):
            if size <= _GPU_MAX[src]:
                configs.append((Recipe(_one(src), size), _GPU_HP))
    for mix in _GPU_MIXES:
        configs.append((Recipe(mix, 2000 if "lima" not in str(mix) else 1000), _GPU_HP))
    # B: hyperparameter grids on clean data
    for src in _GPU_BASES:
        size = min(2000, _GPU_MAX[src])
        for lr in _LRS:
            for ep in (1.0, 2.0, 3.0):
                configs.append((Recipe(_one(src), size), replace(_GPU_HP, lr=lr, epochs=ep)))
    for src in ("alpaca", "dolly_hh"):
        for lr in (1e-4, 1e-3, 1e-2):
            for bs in (4, 16, 32):
                configs.append((Recipe(_one(src), 1000), replace(_GPU_HP, lr=lr, batch_size=bs)))
    # C: random combinations
    configs += _random_block(200, seed=2026)
    return _with_repeats(configs, share=1 / 6, extra_seeds=(1, 2), base_model=base_model, suite=suite)


def _random_block(n: int, seed: int) -> list[tuple[Recipe, HParams]]:
    rng = random.Random(seed)
    pools = [_one(s) for s in ("alpaca", "dolly_hh", "gsm8k", "code_alpaca", "medical", "roleplay", "lima")]
    pools += list(_GPU_MIXES)
    out = []
    for i in range(n):
        sources = rng.choice(pools)
        cap = min(int(_GPU_MAX[name] / w) for name, w in sources)
        size = rng.choice([s for s in (250, 500, 1000, 2000) if s <= cap])
        kw: dict = {}
        for key, levels, osrc in rng.sample(_CORRUPTIONS, rng.choice((0, 1, 1, 2, 2, 3))):
            level = rng.choice(levels)
            if key in OVERWRITES and sum(kw.get(k, 0.0) for k in OVERWRITES) + level > 1.0:
                continue  # whole-record corruptions share the records: at most all of them
            kw[key] = level
            if key == "outliers":
                kw["outlier_source"] = osrc
        hp = replace(_GPU_HP, lr=rng.choice(_LRS), batch_size=rng.choice((4, 8, 16)),
                     epochs=rng.choice((1.0, 1.0, 2.0, 3.0)))
        out.append((Recipe(sources, size, seed=i, **kw), hp))
    return out


# ---------------------------------------------------------------- gpu-lease

_LEASE_HP = HParams(lr=3e-4, batch_size=8, epochs=1.0, lora_r=16, lora_alpha=32, max_len=256)
_LEASE_CORRUPTIONS: tuple[tuple[str, tuple[float, ...], str], ...] = (
    ("label_noise", (0.25, 0.5, 1.0), GARBAGE),
    ("near_dups", (0.3, 0.6), GARBAGE),
    ("outliers", (0.2, 0.4), GARBAGE),
    ("outliers", (0.3,), "oasst_zh"),
    ("truncate", (0.5, 0.9), GARBAGE),
    ("template_leak", (0.3, 0.6), GARBAGE),
)
_LEASE_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


def _gpu_lease(base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    hp, size = _LEASE_HP, 500
    corrupt = [(Recipe(_one(src), size, **{key: v}, outlier_source=osrc), hp)
               for src in _GPU_BASES for key, levels, osrc in _LEASE_CORRUPTIONS for v in levels]
    grid = [(Recipe(_one(src), size), replace(hp, lr=lr, epochs=ep))
            for src in _GPU_BASES for lr in _LEASE_LRS for ep in (1.0, 2.0)]
    grid += [(Recipe(_one(src), size), replace(hp, batch_size=bs)) for src in _GPU_BASES for bs in (4, 16)]
    sizes = [(Recipe(_one(src), n), hp) for src in ("alpaca", "gsm8k", "medical", "roleplay", "lima")
             for n in (250, 1000)]
    sizes += [(Recipe(mix, 1000), hp) for mix in _GPU_MIXES]
    rng = random.Random(2027)
    combos = []
    for recipe, rhp in _random_block(120, seed=2027):
        combos.append((replace(recipe, size=min(recipe.size, 1000)),
                       replace(rhp, max_len=256, epochs=min(rhp.epochs, 2.0))))
    # seed repeats: the clean base of each source, and a few configs that fail or nearly do
    repeat_cfgs = [(Recipe(_one(src), size), hp) for src in _GPU_BASES]
    repeat_cfgs += [(Recipe(_one("alpaca"), size, label_noise=1.0), hp),
                    (Recipe(_one("gsm8k"), size), replace(hp, lr=1e-2)),
                    (Recipe(_one("dolly_hh"), size, near_dups=0.6), hp),
                    (Recipe(_one("code_alpaca"), size), replace(hp, lr=3e-3, epochs=2.0))]
    rng.shuffle(repeat_cfgs)
    repeats = [RunSpec(r, h, k, base_model, suite) for r, h in repeat_cfgs for k in (0, 1, 2)]
    blocks = [repeats] + [_hash_order([RunSpec(r, h, 0, base_model, suite) for r, h in b])
                          for b in (corrupt, grid, sizes, combos)]
    return _round_robin(blocks)


def _hash_order(specs: list[RunSpec]) -> list[RunSpec]:
    return sorted(specs, key=lambda s: s.run_id)


def _round_robin(blocks: list[list[RunSpec]]) -> list[RunSpec]:
    """One run from each block in turn (a block that runs out drops out);
    a run already taken (same run_id) is skipped."""
    out, seen = [], set()
    queues = [list(b) for b in blocks]
    while any(queues):
        for q in queues:
            while q:
                s = q.pop(0)
                if s.run_id not in seen:
                    seen.add(s.run_id)
                    out.append(s)
                    break
    return out


# ---------------------------------------------------------------- gpu-v2

V2_SOURCES = ("alpaca", "code_alpaca", "gsm8k", "dolly_hh", "medical", "lima", "roleplay", "toolformer", "oasst_zh")
# records each source can give once HELDOUT_N are held out (tests/meta/test_presets_v2.py checks them)
V2_POOL = {"alpaca": 4798, "code_alpaca": 1815, "gsm8k": 7273, "dolly_hh": 800, "medical": 5742, "lima": 829,
           "roleplay": 1723, "toolformer": 7473, "oasst_zh": 489}
# an English set of another domain with records enough for any dose (off-domain ``outliers``)
V2_OFF_DOMAIN = {"alpaca": "toolformer", "code_alpaca": "medical", "gsm8k": "medical", "dolly_hh": "gsm8k",
                 "medical": "toolformer", "lima": "gsm8k", "roleplay": "gsm8k", "toolformer": "medical",
                 "oasst_zh": "gsm8k"}
V2_LRS = (1e-4, 3e-4, 1e-3, 3e-3)
V2_HIGH_LR = 1e-2
V2_SIZES = (500, 1000, 2000, 5000)
V2_MIN_STEPS = 200
V2_REPEAT_EVERY = 6  # every 6th config of each (kind, learning rate) also runs seeds 1 and 2
_V2_HP = HParams(lr=1e-3, batch_size=8, epochs=1.0, lora_r=16, lora_alpha=32, max_len=256)


def v2_doses(kind: str) -> tuple[float, ...]:
    """Doses of a kind; duplicates stop at 0.75 (they need originals to copy)."""
    return (0.1, 0.25, 0.5, 0.75) if kind in ("exact_dups", "near_dups") else (0.1, 0.25, 0.5, 1.0)


def v2_sizes(src: str) -> tuple[int, ...]:
    """:data:`V2_SIZES` the source can fill, then its whole pool (to the hundred) when that is larger."""
    levels = [n for n in V2_SIZES if n <= V2_POOL[src]]
    top = V2_POOL[src] // 100 * 100
    return tuple(levels + ([top] if not levels or levels[-1] < top < V2_SIZES[-1] else []))


def v2_hparams(size: int, lr: float) -> HParams:
    """Batch 8 (16 from 4,000 records) and whole epochs, enough for :data:`V2_MIN_STEPS` steps."""
    bs = 16 if size >= 4000 else 8
    return replace(_V2_HP, lr=lr, batch_size=bs, epochs=float(max(1, math.ceil(V2_MIN_STEPS * bs / size))))


def _v2_limit(src: str, kind: str, dose: float) -> int:
    """The largest size whose ``dose`` another set can fill (wrong language, off-domain)."""
    other = {"wrong_lang": "alpaca" if src == "oasst_zh" else "oasst_zh",
             "outliers": V2_OFF_DOMAIN[src]}.get(kind)
    return int(V2_POOL[other] / dose) if other else V2_POOL[src]


def _v2_recipe(src: str, kind: str, dose: float, size_idx: int) -> Recipe:
    levels = v2_sizes(src)
    limit = _v2_limit(src, kind, dose) if kind else V2_POOL[src]
    fitting = [n for n in levels if n <= limit] or [limit // 100 * 100]
    size = fitting[min(size_idx % len(levels), len(fitting) - 1)]
    kw: dict = {kind: dose} if kind else {}
    if kind == "outliers":
        kw["outlier_source"] = V2_OFF_DOMAIN[src]
    return Recipe(_one(src), size, heldout=HELDOUT_N, **kw)


def _v2_stratum(kind: str, dose: float, offset: int) -> list[tuple[Recipe, HParams]]:
    """One (kind, dose) over every source x learning rate (9 x 4, coprime: step ``j``
    takes source ``j+offset`` mod 9 and rate ``j+offset`` mod 4, so any first
    steps spread over both); sizes rotate with the round."""
    out = []
    for j in range(len(V2_SOURCES) * len(V2_LRS)):
        src = V2_SOURCES[(j + offset) % len(V2_SOURCES)]
        lr = V2_LRS[(j + offset) % len(V2_LRS)]
        recipe = _v2_recipe(src, kind, dose, j // len(V2_SOURCES) + offset)
        out.append((recipe, v2_hparams(recipe.size, lr)))
    return out


def _v2_high_lr() -> list[tuple[Recipe, HParams]]:
    """Learning rate 1e-2 (where LoRA training tends to break): clean, label noise and gibberish at 0.5."""
    out = []
    for kind, dose in (("", 0.0), ("label_noise", 0.5), ("gibberish", 0.5)):
        for src in V2_SOURCES:
            recipe = _v2_recipe(src, kind, dose, 1)
            out.append((recipe, v2_hparams(recipe.size, V2_HIGH_LR)))
    return [out[i] for i in sorted(range(len(out)), key=lambda i: (i % len(V2_SOURCES), i))]


def _v2_cells() -> list[tuple[str, float]]:
    """Every (kind, dose), in a stride-7 order (7 is coprime with the 40
    cells): neighbours differ in kind and dose, so a round cut short is not
    one kind's."""
    cells = [(kind, dose) for kind in KINDS for dose in v2_doses(kind)]
    return [cells[(7 * i) % len(cells)] for i in range(len(cells))]


def _v2_strata() -> list[list[tuple[Recipe, HParams]]]:
    """Every (kind, dose) stratum, a clean stratum after every ten, the 1e-2 stratum last."""
    strata: list[list[tuple[Recipe, HParams]]] = []
    for c, (kind, dose) in enumerate(_v2_cells()):
        strata.append(_v2_stratum(kind, dose, c))
        if c % 10 == 9:
            strata.append(_v2_stratum("", 0.0, c // 10))
    return strata + [_v2_high_lr()]


def v2_kind(spec: RunSpec) -> str:
    """The corruption kind of a v2 run (``clean`` for none)."""
    return next(iter(spec.recipe.doses), "clean")


def _gpu_v2(base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    """The strata round-robin (one config of each in turn). Every
    :data:`V2_REPEAT_EVERY`-th config of each (kind, learning rate), from a
    staggered start, also runs seeds 1 and 2; repeats wait in a queue and
    come one after every third config, so they spread like the configs."""
    blocks = [[RunSpec(r, hp, 0, base_model, suite) for r, hp in stratum] for stratum in _v2_strata()]
    out: list[RunSpec] = []
    seen: dict[tuple[str, float], int] = {}
    waiting: list[RunSpec] = []
    for n, spec in enumerate(_round_robin(blocks), 1):
        key = (v2_kind(spec), spec.hp.lr)
        k = seen[key] = seen.get(key, len(seen) * 5) + 1  # stagger: each key starts elsewhere in the cycle
        out.append(spec)
        if k % V2_REPEAT_EVERY == 0:
            waiting += [replace(spec, seed=seed) for seed in (1, 2)]
        if n % 3 == 0 and waiting:
            out.append(waiting.pop(0))
    return out + waiting


# ---------------------------------------------------------------- cpu-small

_CPU_HP = HParams(lr=1e-3, batch_size=4, epochs=1.0, lora_r=16, lora_alpha=32, max_len=128)


def _cpu_small(base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    a = _one("alpaca")
    clean = Recipe(a, 64)
    repeats = [(clean, _CPU_HP), (Recipe(a, 64, label_noise=1.0), _CPU_HP),
               (clean, replace(_CPU_HP, lr=5e-2))]
    singles = [  # most telling first: a build cut short keeps these
        (Recipe(a, 64, label_noise=0.5), _CPU_HP),
        (clean, replace(_CPU_HP, lr=1e-2)),
        (Recipe(a, 64, outliers=0.3), _CPU_HP),
        (Recipe(a, 64, truncate=0.6), _CPU_HP),
        (Recipe(a, 64, template_leak=0.5), _CPU_HP),
        (Recipe(a, 64, near_dups=0.5), _CPU_HP),
        (Recipe((("alpaca", 0.5), ("gsm8k", 0.5)), 64), _CPU_HP),
        (Recipe(a, 32), replace(_CPU_HP, epochs=2.0)),
        (clean, replace(_CPU_HP, batch_size=8)),
        (clean, replace(_CPU_HP, lr=1e-4)),
        (Recipe(a, 64, label_noise=1.0), replace(_CPU_HP, lr=1e-2)),
        (Recipe(a, 64, outliers=0.3, outlier_source="oasst_zh"), _CPU_HP),
        (Recipe(_one("gsm8k"), 64), _CPU_HP),
    ]
    specs = [RunSpec(r, hp, s, base_model, suite) for r, hp in repeats for s in (0, 1)]
    specs.insert(2, RunSpec(clean, _CPU_HP, 2, base_model, suite))
    rest = [RunSpec(r, hp, 0, base_model, suite) for r, hp in singles]
    # clean x3 and noise x2 seeds, then the singles, the lr=5e-2 pair after six of them
    return specs[:5] + rest[:6] + specs[5:] + rest[6:]


_TINY_HP = HParams(lr=1e-3, batch_size=2, max_len=64, max_steps=2)


def _tiny(base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    return [RunSpec(Recipe(_one("alpaca"), 8, heldout=4), _TINY_HP, 0, base_model, suite),
            RunSpec(Recipe(_one("alpaca"), 8, label_noise=1.0, heldout=4), _TINY_HP, 0, base_model, suite)]


def _tiny_all(base_model: str, suite: SuiteSpec) -> list[RunSpec]:
    """Clean, then every corruption kind at dose 0.5 (2 steps x 2 records: half the records train)."""
    recipes = [Recipe(_one("alpaca"), 8, heldout=4)]
    recipes += [Recipe(_one("alpaca"), 8, heldout=4, **{kind: 0.5}) for kind in KINDS]
    return [RunSpec(r, _TINY_HP, 0, base_model, suite) for r in recipes]


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("gpu-v2", "2,091 runs (ground truth v2): 10 corruptions x 4 doses x 9 source sets x lr 1e-4..3e-3 "
           "(+ clean, 27 at 1e-2), 400-5,000 records, 200-313 steps, 200 held-out records per set, 1 config in 6 "
           "x 3 seeds; round-robin order (a build cut short covers the grid)",
           SuiteSpec(("arc_easy", "piqa"), 0), probe_steps=100, make=_gpu_v2),
    Preset("gpu-full", "~530 runs: 250-2,000-record LoRA r16 fine-tunes, 7 benchmarks x <=1,000 items",
           SuiteSpec(FULL_SUITE, 1000), probe_steps=100, make=_gpu_full),
    Preset("gpu-lease", "247 runs: 250-1,000-record LoRA r16 fine-tunes, 4 benchmarks x 1,000 items, "
           "blocks interleaved (a short GPU lease)",
           SuiteSpec(("arc_easy", "arc_challenge", "piqa", "winogrande"), 1000), probe_steps=100,
           make=_gpu_lease),
    Preset("cpu-small", "20 runs: 64-record Alpaca variants, 16 steps, ARC-Easy + PIQA x 100",
           SuiteSpec(("arc_easy", "piqa"), 100), probe_steps=8, make=_cpu_small,
           probe_extra=(("contrast_pairs", 8), ("forgetting_items", 16), ("flatness_items", 4))),
    Preset("tiny", "2 runs of 2 steps, 8 items of ARC-Easy, 4 held-out records per source (tests)",
           SuiteSpec(("arc_easy",), 8), probe_steps=2, make=_tiny),
    Preset("tiny-all", f"{1 + len(KINDS)} runs of 2 steps: clean and each corruption at dose 0.5 (tests)",
           SuiteSpec(("arc_easy",), 8), probe_steps=2, make=_tiny_all),
)}
