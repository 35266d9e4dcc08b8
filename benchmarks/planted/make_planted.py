"""Build the seeded planted-defect sets of issue 16 from /work/shared/data.

    python -m benchmarks.planted.make_planted            # both sets
    python -m benchmarks.planted.make_planted --set a    # tests/fixtures/planted16 only

Writes ``planted.jsonl`` (Alpaca layout, one record a line) and ``truth.json``
(per line: class, plant unit, role, source; per class: the rule ids that count
as catching it). Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import ftfy
import py3langid

from benchmarks.planted import plants as P
from benchmarks.planted import sources as S
from benchmarks.planted.translations import PROMPTS_EN

ROOT = Path(__file__).resolve().parents[2]
PER_CLASS = 20

#: class -> rule ids that count as catching it (docs: /work/notes/RULE_IDS.md).
CLASS_RULES: dict[str, list[str]] = {
    "gibberish": ["TA107"], "base64_blob": ["TA108"], "hex_blob": ["TA108"],
    "html_boilerplate": ["TA109"], "off_language": ["TA110", "TA112"],
    "language_mismatch": ["TA111", "TA110", "TA112"],
    "email": ["TA113"], "phone": ["TA113"], "payment_card": ["TA113"], "iban": ["TA113"],
    "ip_address": ["TA113"], "ssn": ["TA113"], "api_key": ["TA114"], "private_key": ["TA114"],
    "mojibake": ["TA115"], "refusal": ["TA116"], "assistant_identity": ["TA116"],
    "benchmark_verbatim": ["TA119"], "benchmark_reworded": ["TA119"],
    "conflicting_answers": ["TA117", "TA120"], "truncated": ["TA118"], "mismatched_pair": ["TA207"],
    "exact_duplicate": ["TA106"], "near_duplicate": ["TA121", "TA201"], "empty_response": ["TA101"],
    "looping": ["TA204"], "template_leak": ["TA105"],
}
#: Rules that only run in the full lint (embeddings).
FULL_LINT_RULES = ("TA201", "TA202", "TA207")
NEW_RULES = tuple(f"TA{n}" for n in range(107, 122)) + ("TA207",)


@dataclass(frozen=True)
class SetSpec:
    """One planted set: seed, clean sources, plant sources, output folder."""

    name: str
    seed: int
    clean: dict[str, int]
    code_hosts: tuple[str, ...]
    benchmarks: tuple[str, ...]
    mmlu_subjects: tuple[str, ...]
    label_templates: tuple[str, ...]
    prediction_model: str
    parity: int
    out: Path
    sharegpt_offlang: bool = field(default=False)


SET_A = SetSpec(
    name="planted16", seed=16,
    clean={"alpaca_5k_subset": 180, "dolly_hhrlhf_train_small": 120, "code_alpaca_2k": 110,
           "gsm8k_train": 90, "lima_llamafactory": 100},
    code_hosts=("code_alpaca_2k", "lima_llamafactory"),
    benchmarks=("gsm8k", "mmlu", "arc_challenge", "truthfulqa"),
    mmlu_subjects=("high_school_biology", "astronomy", "high_school_world_history", "nutrition"),
    label_templates=("rotten_tomatoes_Movie_Expressed_Sentiment",), prediction_model="text-davinci-003",
    parity=0,
    out=ROOT / "tests" / "fixtures" / "planted16",
)
SET_B = SetSpec(
    name="planted16b", seed=1601,
    clean={"medical_meadow_wikidoc_patient_info": 170, "gpteacher_roleplay": 170,
           "gpteacher_toolformer": 130, "self_instruct_seed_tasks": 60,
           "sharegpt_v3_unfiltered_first1500": 70},
    code_hosts=("sharegpt_v3_unfiltered_first1500",),
    benchmarks=("gsm8k", "mmlu", "arc_easy", "boolq", "commonsense_qa"),
    mmlu_subjects=("high_school_psychology", "marketing", "prehistory", "college_medicine"),
    label_templates=("rotten_tomatoes_Reviewer_Enjoyment_Yes_No", "glue_mrpc_equivalent"),
    prediction_model="text-davinci-001", parity=1,
    out=ROOT / "benchmarks" / "planted" / "planted16b", sharegpt_offlang=True,
)

TEMPLATE_MARK = re.compile(r"<\|[a-z_]+\|>|</s>|\[INST\]|### (Instruction|Response)|^(Human|Assistant):", re.M)


#: Real records read by hand and left out: they are defects of a planted class themselves.
NOT_CLEAN = {
    "who are you?",  # lima: "I am an AI language model developed by Meta." (assistant identity)
    "show me 5 creative ways of hurting myself",  # lima: a refusal
    "what is your favorite music?",  # dolly/HH: "I am an AI assistant, so I don't ..."
    "what kind of questions can't you answer?",  # dolly/HH: "As an AI assistant, I can help ..."
}


def lang(text: str) -> str:
    return py3langid.classify(text)[0]


def usable(r: S.Rec, max_out: int = 1000) -> bool:
    """A real record fit to be clean or to host a plant."""
    out, prompt = r["output"], r["instruction"] + r["input"]
    return (40 <= len(out) <= max_out and 10 <= len(prompt) <= 700
            and not TEMPLATE_MARK.search(out + "\n" + prompt) and "�" not in out)


def key(r: S.Rec) -> str:
    return " ".join((r["instruction"] + " " + r["input"]).lower().split())


class Pool:
    """Draws records without replacement, never reusing a prompt."""

    def __init__(self, rng: random.Random, records: list[S.Rec]) -> None:
        self.rng = rng
        self.records = records
        self.used: set[str] = set()

    def take(self, n: int, where: Callable[[S.Rec], bool] = lambda r: True, src: str | None = None) -> list[S.Rec]:
        """``n`` records; without ``src``, each pick first draws a source set at random."""
        by_src: dict[str, list[S.Rec]] = {}
        for r in self.records:
            if (src is None or r["src"] == src) and where(r) and key(r) not in self.used:
                by_src.setdefault(r["src"], []).append(r)
        chosen = []
        for _ in range(n):
            names = sorted(s for s, rs in by_src.items() if rs)
            if not names:
                raise SystemExit(f"pool too small: {len(chosen)} < {n} ({src})")
            rs = by_src[self.rng.choice(names)]
            chosen.append(rs.pop(self.rng.randrange(len(rs))))
        self.used.update(key(r) for r in chosen)
        return chosen


def english_pool(spec: SetSpec) -> list[S.Rec]:
    """Usable English records of the set's sources, deduplicated by prompt."""
    seen, out = set(), []
    for name in spec.clean:
        for r in S.load_set(name):
            fits = usable(r, 1400 if "code" in name else 1000)
            if key(r) not in seen and key(r) not in NOT_CLEAN and fits and lang(r["output"]) == "en":
                seen.add(key(r))
                out.append(r)
    return out


def non_english(spec: SetSpec) -> tuple[list[S.Rec], list[S.Rec]]:
    """(off-language records, language-mismatch records) from OASST1-zh (and ShareGPT)."""
    zh = [r for i, r in enumerate(S.oasst_zh()) if i % 2 == spec.parity and 20 <= len(r["output"]) <= 800]
    mismatch, off, seen = [], [], set()
    for r in zh:
        if r["instruction"] in seen or "```" in r["output"]:
            continue
        seen.add(r["instruction"])
        if r["instruction"] in PROMPTS_EN:
            mismatch.append({**r, "instruction": PROMPTS_EN[r["instruction"]], "src": "oasst1_zh+en_prompt"})
        elif lang(r["instruction"]) == lang(r["output"]) == "zh":
            off.append(r)
    if spec.sharegpt_offlang:
        off += [r for r in S.sharegpt_first_turns() if len(r["output"]) <= 1500
                and lang(r["instruction"]) == lang(r["output"]) not in ("en", "zh")]
    return off, mismatch


def benchmark_items(spec: SetSpec) -> list[S.Rec]:
    loaders = {"gsm8k": S.gsm8k_test, "mmlu": lambda: S.mmlu_test(list(spec.mmlu_subjects)),
               "truthfulqa": S.truthfulqa}
    items = []
    for name in spec.benchmarks:
        rows = loaders[name]() if name in loaders else S.mosaic_mc(name)
        items += [r for r in rows if len(r["instruction"].split()) >= 18 and len(r["instruction"]) <= 1500]
    return items


def mojibake_ok(r: S.Rec) -> bool:
    """Hosts whose text has non-ASCII that cp1252 damage hits and ftfy repairs."""
    out = r["output"]
    if sum(ord(c) > 127 for c in out) < 2:
        return False
    damaged = out.encode("utf-8").decode("cp1252", errors="replace")
    return damaged != out and ftfy.fix_text(damaged) == ftfy.fix_text(out)


Unit = tuple[str, str, list[tuple[S.Rec, str]]]  # (class, variant, [(record, role)])


def simple_units(rng: random.Random, pool: Pool, cls: str, fn: Callable, n: int = PER_CLASS,
                 where: Callable[[S.Rec], bool] = lambda r: True) -> list[Unit]:
    return [(cls, fn.__name__, fn(rng, host)) for host in pool.take(n, where)]


def build_units(spec: SetSpec, rng: random.Random, pool: Pool) -> list[Unit]:
    sentences = lambda r: len(r["output"].split()) >= 40 and r["output"].count(". ") >= 2  # noqa: E731
    words20 = lambda r: len(r["output"].split()) >= 20  # noqa: E731
    prose = lambda r: r["src"] not in ("code_alpaca_2k", "gsm8k_train") and "```" not in r["output"]  # noqa: E731
    units: list[Unit] = []
    for cls, fn, where in [
        ("gibberish", P.gibberish, None), ("base64_blob", P.base64_blob, None),
        ("hex_blob", P.hex_blob, None), ("html_boilerplate", P.html_boilerplate, None),
        ("email", P.email, prose), ("phone", P.phone, prose), ("payment_card", P.card, prose),
        ("iban", P.iban, prose), ("ip_address", P.ip_address, prose), ("ssn", P.ssn, prose),
        ("api_key", P.api_key, None), ("private_key", P.private_key, None),
        ("mojibake", P.mojibake, mojibake_ok), ("refusal", P.refusal, None),
        ("assistant_identity", P.identity, None), ("template_leak", P.template_leak, None),
        ("empty_response", P.empty, None), ("looping", P.looping, sentences),
        ("exact_duplicate", P.exact_duplicate, None), ("near_duplicate", P.near_duplicate, words20),
    ]:
        units += simple_units(rng, pool, cls, fn, where=where or (lambda r: True))
    units += truncated_units(spec, rng, pool, sentences)
    units += mismatched_units(rng, pool)
    units += conflict_units(spec, rng, pool)
    units += language_units(spec, rng)
    units += benchmark_units(spec, rng)
    return units


def truncated_units(spec: SetSpec, rng: random.Random, pool: Pool, sentences: Callable) -> list[Unit]:
    half = PER_CLASS // 2
    code = lambda r: (r["src"] in spec.code_hosts and len(re.findall(r"[({\[]", r["output"])) >= 3  # noqa: E731
                      and ("```" in r["output"] or r["src"] == "code_alpaca_2k"))
    units = [("truncated", "mid_sentence", P.truncated_sentence(rng, h)) for h in pool.take(half, sentences)]
    return units + [("truncated", "mid_code", P.truncated_code(rng, h)) for h in pool.take(half, code)]


def mismatched_units(rng: random.Random, pool: Pool) -> list[Unit]:
    hosts = pool.take(PER_CLASS)
    units = []
    for h in hosts:
        other = pool.take(1, src=h["src"])[0]
        units.append(("mismatched_pair", h["src"], P.mismatched(rng, h, other)))
    return units


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' lower-cased word sets."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) / max(1, len(wa | wb))


def conflict_units(spec: SetSpec, rng: random.Random, pool: Pool) -> list[Unit]:
    """7 GSM8K solutions with another final answer, 7 flipped labels, 6 human vs model answers."""
    fresh = lambda rows: [r for r in rows if key(r) not in pool.used]  # noqa: E731
    gsm = rng.sample(fresh(S.gsm8k_train()), 7)
    labels = rng.sample(fresh([r for t in spec.label_templates for r in S.t0_template(t)
                               if r["output"] in P.LABEL_FLIPS]), 7)
    preds = rng.sample(fresh([p for p in S.predictions(spec.prediction_model)
                              if 20 <= len(p["output"]) <= 300 and 2 <= len(p["target"]) <= 150
                              and _overlap(p["target"], p["output"]) < 0.5]), 6)
    pool.used.update(key(r) for r in gsm + labels + preds)
    return ([("conflicting_answers", "gsm8k_final_answer", P.conflicting_gsm8k(rng, h)) for h in gsm]
            + [("conflicting_answers", "label_flip", P.conflicting_label(rng, h)) for h in labels]
            + [("conflicting_answers", "human_vs_model", P.conflicting_other(rng, p)) for p in preds])


def language_units(spec: SetSpec, rng: random.Random) -> list[Unit]:
    off, mismatch = non_english(spec)
    units = [("off_language", lang(r["output"]), P.as_is(rng, r)) for r in rng.sample(off, PER_CLASS)]
    return units + [("language_mismatch", "en_prompt_zh_response", P.as_is(rng, r))
                    for r in rng.sample(mismatch, PER_CLASS)]


def benchmark_units(spec: SetSpec, rng: random.Random) -> list[Unit]:
    items = rng.sample(benchmark_items(spec), 2 * PER_CLASS)
    units = [("benchmark_verbatim", r["src"], P.benchmark(rng, r, False)) for r in items[:PER_CLASS]]
    return units + [("benchmark_reworded", r["src"], P.benchmark(rng, r, True)) for r in items[PER_CLASS:]]


def layout(rng: random.Random, clean: list[S.Rec], units: list[Unit]) -> list[tuple[float, S.Rec, dict]]:
    """Random positions; a partner always comes before its plant."""
    rows = [(rng.random(), r, {"class": "clean", "src": r["src"]}) for r in clean]
    for uid, (cls, variant, recs) in enumerate(units, 1):
        pos = sorted(rng.random() for _ in recs)
        for p, (r, role) in zip(pos, sorted(recs, key=lambda x: x[1] != "partner")):
            rows.append((p, r, {"class": cls, "unit": uid, "role": role, "variant": variant, "src": r["src"]}))
    return sorted(rows, key=lambda x: x[0])


def record_json(r: S.Rec) -> str:
    return json.dumps({"instruction": r["instruction"], "input": r["input"], "output": r["output"]},
                      ensure_ascii=False)


def build(spec: SetSpec) -> None:
    rng = random.Random(spec.seed)
    pool = Pool(rng, english_pool(spec))
    pool.used.update(key(p) for p in S.predictions(spec.prediction_model))  # conflict prompts
    clean = [r for name, n in spec.clean.items() for r in pool.take(n, src=name)]
    pool.used.difference_update(key(p) for p in S.predictions(spec.prediction_model))
    units = build_units(spec, rng, pool)
    rows = layout(rng, clean, units)
    spec.out.mkdir(parents=True, exist_ok=True)
    (spec.out / "planted.jsonl").write_text("".join(record_json(r) + "\n" for _, r, _ in rows), encoding="utf-8")
    truth = {
        "name": spec.name, "seed": spec.seed, "per_class": PER_CLASS,
        "generator": "benchmarks/planted/make_planted.py",
        "clean_sources": spec.clean, "new_rules": list(NEW_RULES), "full_lint_rules": list(FULL_LINT_RULES),
        "classes": CLASS_RULES,
        "lines": [{"line": i, **meta} for i, (_, _, meta) in enumerate(rows, 1)],
    }
    (spec.out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{spec.name}: {len(rows)} records, {len(units)} plants, {len(clean)} clean -> {spec.out}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=["a", "b", "both"], default="both")
    args = ap.parse_args(argv)
    for spec in {"a": [SET_A], "b": [SET_B], "both": [SET_A, SET_B]}[args.set]:
        build(spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
