"""Issue 16 / TA117: does a measured signal separate substantive disagreement
from normal variation between *long* answers to one prompt?

Population: every group of records with the same normalised prompt (TA117's
``prompt_key``) inside each of the 14 shared sets (a set = its folder, linted
as one dataset), whose responses differ and which TA117 does not judge today
(some response longer than ``max_words`` and not every response stating a
final answer). Plus the planted ``human_vs_model`` pairs of both planted sets
and their source population (each user-oriented prompt's human target beside
text-davinci-003's / -001's response).

Per pair of distinct responses in a group: MiniLM cosine of the two responses
(the lint's embedder, default settings), its robust z against the set's
same-prompt pairs, content-word Jaccard (scikit-learn's English stop words
removed), and contradiction cues (negation asymmetry, disjoint numbers).

Usage (worktree root; one MiniLM pass over 3,682 distinct texts, ~90 s CPU):
    PYTHONPATH=$PWD python benchmarks/issue16_conflict.py [--out pairs.jsonl] [--load] [--read]
Writes one JSON line per pair (``--out``, default /tmp/issue16_conflict_pairs.jsonl)
and prints the tables of benchmarks/results/issue16_conflict.md; ``--load``
reuses that file, ``--read`` prints the pairs read by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from tuneahead_lint.checks.consistency import Member, conflict, final_answer, prompt_key, words
from tuneahead_lint.readers import discover, read

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "instruct"
PLANTED = (ROOT / "tests" / "fixtures" / "planted16", ROOT / "benchmarks" / "planted" / "planted16b")
MAX_WORDS, MIN_RATIO = 5, 0.6
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
NEGATIONS = frozenset("not no never none neither nor cannot isn t don doesn didn won incorrect false".split())


def stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


STOP = stop_words()


def unjudged(group: list[tuple[str, int, str]]) -> bool:
    """Responses differ and TA117 (today) neither reports nor judges the group."""
    if len({" ".join(words(r)) for _, _, r in group}) < 2:
        return False
    members = [member(p, ln, r) for p, ln, r in group]
    if conflict(members, MAX_WORDS, MIN_RATIO) is not None:
        return False
    return not all(m.final for m in members) and max(m.n_words for m in members) > MAX_WORDS


def member(path: str, line: int, response: str) -> Member:
    n = len(words(response))
    return Member(path, line, 0, final_answer(response), n, response if n <= MAX_WORDS else None, "")


def set_groups(folder: Path) -> list[list[tuple[str, int, str]]]:
    groups: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for path in discover([str(folder)]):
        for ex in read(path):
            if ex.ok and ex.response.strip() and (key := prompt_key(ex)):
                groups[key].append((ex.path, ex.line, ex.response))
    return [g for g in groups.values() if len(g) > 1 and unjudged(g)]


def planted_pairs(folder: Path) -> list[tuple[str, int, str]]:
    truth = json.loads((folder / "truth.json").read_text())
    lines = (folder / "planted.jsonl").read_text(encoding="utf-8").splitlines()
    units: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    for row in truth["lines"]:
        if row.get("variant") == "human_vs_model":
            rec = json.loads(lines[row["line"] - 1])
            units[row["unit"]].append((f"{folder.name}:{row['role']}", row["line"], rec["output"]))
    return list(units.values())


def human_vs_model(model: str) -> list[list[tuple[str, int, str]]]:
    """The planted variant's source population: each user-oriented prompt's human
    target beside ``model``'s response (the predictions file holds both)."""
    path = DATA / "self_instruct_user_oriented_252" / "predictions" / f"{model}_predictions.jsonl"
    rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [[("human", i + 1, r["target"].strip()), (model, i + 1, r["response"].strip())]
            for i, r in enumerate(rows) if r["target"].strip() and r["response"].strip()
            and len({" ".join(words(r["target"])), " ".join(words(r["response"]))}) == 2]


def content(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOP and len(w) > 1}


def cues(a: str, b: str) -> dict[str, float]:
    ca, cb = content(a), content(b)
    na, nb = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    neg = NEGATIONS.intersection(words(a)) != NEGATIONS.intersection(words(b))
    return {"jaccard": len(ca & cb) / max(1, len(ca | cb)), "negation_differs": float(neg),
            "numbers_disjoint": float(bool(na and nb and not na & nb)),
            "len_ratio": min(len(words(a)), len(words(b))) / max(1, len(words(a)), len(words(b)))}


def pair_rows(name: str, groups: list[list[tuple[str, int, str]]]) -> list[dict]:
    rows = []
    for gi, group in enumerate(groups):
        distinct = list({" ".join(words(r)): (p, ln, r) for p, ln, r in group}.values())
        for (pa, la, a), (pb, lb, b) in combinations(distinct, 2):
            rows.append({"set": name, "group": gi, "size": len(group), "a": [pa, la], "b": [pb, lb],
                         "text_a": a, "text_b": b, **cues(a, b)})
    return rows


def embed_cosines(rows: list[dict]) -> None:
    from tuneahead_lint.features.embed.embedder import Embedder

    texts = sorted({t for r in rows for t in (r["text_a"], r["text_b"])})
    index = {t: i for i, t in enumerate(texts)}
    mat = np.asarray(Embedder().load().encode(texts), np.float32)
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    for r in rows:
        r["cosine"] = float(mat[index[r["text_a"]]] @ mat[index[r["text_b"]]])


def robust_z(rows: list[dict]) -> None:
    """Cosine's robust z against the same set's same-prompt pairs (median, 1.4826 MAD)."""
    by_set: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_set[r["set"]].append(r["cosine"])
    for r in rows:
        c = np.asarray(by_set[r["set"]])
        med = float(np.median(c))
        mad = 1.4826 * float(np.median(np.abs(c - med))) or 1e-6
        r["robust_z"] = (r["cosine"] - med) / mad


def collect() -> list[dict]:
    rows: list[dict] = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        rows += pair_rows(folder.name, set_groups(folder))
    for folder in PLANTED:
        rows += pair_rows(f"planted:{folder.name}", planted_pairs(folder))
    for model in ("text-davinci-003", "text-davinci-001"):
        rows += pair_rows(f"source:human_vs_{model}", human_vs_model(model))
    embed_cosines(rows)
    robust_z(rows)
    return rows


def quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return " / ".join(f"{v:.2f}" for v in q)


def is_shared(r: dict) -> bool:
    return not r["set"].startswith(("planted:", "source:"))


def report(rows: list[dict]) -> None:
    sets = sorted({r["set"] for r in rows})
    print("| set | groups | pairs | cosine p5 / p25 / p50 / p75 / p95 | content Jaccard p50 "
          "| negation differs | numbers disjoint |")
    print("|---|---|---|---|---|---|---|")
    for s in sets:
        rs = [r for r in rows if r["set"] == s]
        print(f"| {s} | {len({r['group'] for r in rs})} | {len(rs)} | {quantiles([r['cosine'] for r in rs])} "
              f"| {np.median([r['jaccard'] for r in rs]):.2f} | {np.mean([r['negation_differs'] for r in rs]):.0%} "
              f"| {np.mean([r['numbers_disjoint'] for r in rs]):.0%} |")
    planted_table(rows)
    sweep(rows, "cosine", (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8))
    sweep(rows, "jaccard", (0.0, 0.05, 0.1, 0.2, 0.3))


def planted_table(rows: list[dict]) -> None:
    """Each planted pair's cosine and its percentile among the human/model pairs it was drawn from."""
    source = {"planted:planted16": "source:human_vs_text-davinci-003",
              "planted:planted16b": "source:human_vs_text-davinci-001"}
    print("\n| planted set | plant line | cosine | percentile in its source population | content Jaccard "
          "| negation differs | numbers disjoint |")
    print("|---|---|---|---|---|---|---|")
    for r in (r for r in rows if r["set"] in source):
        pop = np.asarray([x["cosine"] for x in rows if x["set"] == source[r["set"]]])
        print(f"| {r['set'][8:]} | {r['b'][1]} | {r['cosine']:.3f} | {(pop <= r['cosine']).mean():.0%} "
              f"| {r['jaccard']:.2f} | {r['negation_differs']:.0f} | {r['numbers_disjoint']:.0f} |")


def sweep(rows: list[dict], name: str, limits: tuple[float, ...]) -> None:
    """A group is flagged when any of its pairs has ``name`` at or below the limit."""
    planted = [r for r in rows if r["set"].startswith("planted:")]
    shared = [r for r in rows if is_shared(r)]
    print(f"\n| {name} <= | planted pairs found (of {len(planted)}) | shared groups flagged | per set |")
    print("|---|---|---|---|")
    for t in limits:
        flagged = sorted({(r["set"], r["group"]) for r in shared if r[name] <= t})
        per: dict[str, int] = defaultdict(int)
        for s, _ in flagged:
            per[s] += 1
        found = sum(r[name] <= t for r in planted)
        print(f"| {t:.2f} | {found} | {len(flagged)} | {', '.join(f'{s} {n}' for s, n in sorted(per.items()))} |")


READ_QUOTA = {"self_instruct_user_oriented_252": 3, "t0_train_templated_subset": 2, "oasst1_zh_sft_llamafactory": 2,
              "medical_meadow_wikidoc_patient_info": 2, "hh_rlhf_harmless_base_test": 1}


def read_samples(rows: list[dict], limit: float = 0.3) -> None:
    """Print what was read by hand: 10 shared groups a ``cosine <= limit`` rule
    would flag (quota per set by flagged count, seed 16; the group's
    lowest-cosine pair), then 10 human/text-davinci-003 pairs at or below
    ``limit`` and 6 between 0.45 and 0.75 (seed 1616)."""
    import random

    flagged: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in rows:
        if is_shared(r) and r["cosine"] <= limit:
            flagged[(r["set"], r["group"])].append(r)
    rng = random.Random(16)
    for s, n in READ_QUOTA.items():
        for key in rng.sample(sorted(k for k in flagged if k[0] == s), n):
            _show(f"shared {key}", min(flagged[key], key=lambda r: r["cosine"]))
    src = [r for r in rows if r["set"] == "source:human_vs_text-davinci-003"]
    rng = random.Random(1616)
    low = sorted((r for r in src if r["cosine"] <= limit), key=lambda r: r["cosine"])
    for tag, sample in (("low", rng.sample(low, 10)), ("mid", rng.sample([r for r in src if 0.45 <= r["cosine"] <= 0.75], 6))):
        for r in sample:
            _show(f"human vs text-davinci-003 ({tag}) prompt {r['a'][1]}", r)


def _show(title: str, r: dict) -> None:
    print(f"===== {title}: cosine {r['cosine']:.3f} {r['a']} {r['b']}")
    print("A:", r["text_a"][:400].replace("\n", " / "))
    print("B:", r["text_b"][:400].replace("\n", " / "))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/issue16_conflict_pairs.jsonl")
    ap.add_argument("--load", action="store_true", help="read --out instead of recomputing")
    ap.add_argument("--read", action="store_true", help="print the pairs read by hand instead of the tables")
    args = ap.parse_args(argv)
    if args.load:
        rows = [json.loads(ln) for ln in Path(args.out).read_text().splitlines()]
    else:
        rows = collect()
        Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    read_samples(rows) if args.read else report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
