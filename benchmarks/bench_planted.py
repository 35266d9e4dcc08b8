"""Planted-defect benchmark of issue 16: per class, planted found / planted, and
clean records flagged, for tuneahead-lint (``--fast``, optionally full) and the
peer linter dropoutt.

    PYTHONPATH=$PWD python benchmarks/bench_planted.py                  # --fast, both sets
    PYTHONPATH=$PWD python benchmarks/bench_planted.py --full           # + full lint
    PYTHONPATH=$PWD python benchmarks/bench_planted.py --peer dropoutt \\
        --peer-python /work/dropoutt-venv/bin/python
    ... --repo /work/wt-rec1 --tag rec1                                 # another checkout, read-only
    ... --full --config benchmarks/planted/ta207_min_gap.toml --tag s21-mismatch-gap  # an option on

Sets: tests/fixtures/planted16 (set A, also the test) and
benchmarks/planted/planted16b (set B, other sources and seed); rebuild both with
``python -m benchmarks.planted.make_planted``. Writes
benchmarks/results/planted16[-TAG].md and .json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.planted.score import (  # noqa: E402
    ClassScore, CleanScore, Flags, lint_flags, lint_json, load_truth, registry_rules, score,
)

SETS = {"A": ROOT / "tests" / "fixtures" / "planted16", "B": ROOT / "benchmarks" / "planted" / "planted16b"}
DROPOUTT = ROOT / "benchmarks" / "planted" / "dropoutt_records.py"


def run_ours(folder: Path, repo: Path, python: str, full: bool, config: Path | None) -> tuple[Flags, float]:
    start = time.perf_counter()
    report = lint_json(folder / "planted.jsonl", repo, python, full=full, config=config)
    return lint_flags(report), time.perf_counter() - start


def run_dropoutt(folder: Path, python: str) -> tuple[Flags, float, float]:
    """(line -> check ids, wall of the whole process, wall of the scan itself)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([python, str(DROPOUTT), str(folder / "planted.jsonl"), tmp],
                       check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        out = json.loads((Path(tmp) / "records.json").read_text())
    flags = {int(i) + 1: set(checks) for i, checks in out["records"].items()}
    return flags, wall, out["wall_s"]


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def _top(by_rule: dict[str, int]) -> str:
    """The two checks that name most plant units of a class."""
    top = sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    return ", ".join(f"{k} {v}" for k, v in top) or "-"


def table(runs: dict[str, tuple[dict[str, ClassScore], CleanScore]], known: set[str]) -> list[str]:
    """Markdown rows: one per class, then the clean rows."""
    names = list(runs)
    head = "| class | rules | " + " | ".join(
        f"{n}: {'checks naming plants' if n.startswith('dropoutt') else 'found (own rules)'} | {n}: named by any"
        for n in names) + " |"
    out = [head, "|" + "---|" * (2 + 2 * len(names))]
    first = runs[names[0]][0]
    for cls, s0 in first.items():
        rules = ", ".join(r if r in known else f"{r}*" for r in s0.rules)
        cells = []
        for n in names:
            s = runs[n][0][cls]
            own = pct(s.found, s.plants) if not n.startswith("dropoutt") else _top(s.by_rule)
            cells += [own, pct(s.found_any, s.plants)]
        out.append(f"| {cls} | {rules} | " + " | ".join(cells) + " |")
    tot = lambda n, attr: sum(getattr(s, attr) for s in runs[n][0].values())  # noqa: E731
    out.append("| **all plants** | | " + " | ".join(
        f"{pct(tot(n, 'found'), tot(n, 'plants')) if not n.startswith('dropoutt') else 'n/a'} | "
        f"{pct(tot(n, 'found_any'), tot(n, 'plants'))}" for n in names) + " |")
    out.append("| **clean flagged, any rule** | | " + " | ".join(
        f" | {pct(runs[n][1].flagged_any, runs[n][1].records)}" for n in names) + " |")
    out.append("| **clean flagged, new rules** | TA107-TA121, TA207 | " + " | ".join(
        f" | {pct(runs[n][1].flagged_new, runs[n][1].records)}" if not n.startswith("dropoutt") else " | n/a"
        for n in names) + " |")
    return out


def as_json(runs: dict[str, tuple[dict[str, ClassScore], CleanScore]], walls: dict[str, float]) -> dict:
    return {n: {"classes": {c: {"plants": s.plants, "found": s.found, "found_any": s.found_any,
                                "rules": s.rules, "named_by": dict(sorted(s.by_rule.items())),
                                "missed_lines": s.missed,
                                "variants_found_plants": dict(sorted(s.variants.items()))}
                            for c, s in cls.items()},
                "clean": {"records": cl.records, "flagged_any": cl.flagged_any, "flagged_new": cl.flagged_new,
                          "by_rule": dict(sorted(cl.by_rule.items())), "lines_new_rules": cl.lines_new},
                "wall_s": round(walls[n], 2)}
            for n, (cls, cl) in runs.items()}


def bench_set(label: str, folder: Path, args: argparse.Namespace, known: set[str]) -> tuple[list[str], dict]:
    truth = load_truth(folder)
    runs, walls = {}, {}
    modes = [("fast", False)] + ([("full", True)] if args.full else [])
    for mode, full in modes:
        flags, walls[f"ours-{mode}"] = run_ours(folder, args.repo, args.python, full, args.config)
        runs[f"ours-{mode}"] = score(truth, flags)
    if args.peer == "dropoutt":
        flags, walls["dropoutt"], scan_s = run_dropoutt(folder, args.peer_python)
        runs["dropoutt"] = score(truth, flags, new_rules=set())
    md = [f"### Set {label}: `{folder.relative_to(ROOT)}` ({len(truth['lines'])} records, seed {truth['seed']})", ""]
    md += table(runs, known)
    md += ["", "Wall time (s, contended 2-core machine): " + ", ".join(f"{n} {w:.1f}" for n, w in walls.items()), ""]
    return md, {"set": str(folder.relative_to(ROOT)), "runs": as_json(runs, walls)}


def _head(repo: Path) -> str:
    """Commit of the checkout, and whether its tree has uncommitted changes."""
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *a], capture_output=True, text=True).stdout.strip()

    dirty = " (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"`{git('rev-parse', '--short', 'HEAD')}`{dirty}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="planted-defect benchmark (issue 16)")
    ap.add_argument("--full", action="store_true", help="also run the full lint (embeddings)")
    ap.add_argument("--peer", choices=["dropoutt"], help="also score the peer linter")
    ap.add_argument("--peer-python", default="/work/dropoutt-venv/bin/python")
    ap.add_argument("--repo", type=Path, default=ROOT, help="checkout of tuneahead-lint to run (PYTHONPATH)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--set", choices=["A", "B", "both"], default="both")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--config", type=Path, help="config file passed to every lint (e.g. TA207 min_gap)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    known = registry_rules(args.repo, args.python)
    labels = ["A", "B"] if args.set == "both" else [args.set]
    name = "planted16" + (f"-{args.tag}" if args.tag else "")
    md = [f"# Planted-defect benchmark (issue 16){' - ' + args.tag if args.tag else ''}", "",
          f"tuneahead-lint from `{args.repo}` at {_head(args.repo)}; rule ids marked * are not in its registry.",
          *([f"Config: `{args.config}`: `{' '.join(args.config.read_text().split())}`."] if args.config else []),
          "found (own rules): plant units named by a rule that catches the class (truth.json);",
          "named by any: by any rule/check. A unit with a partner (duplicate original, first",
          "answer of a conflict) counts when either line is named. dropoutt 1.4.1 runs in its own",
          "venv through benchmarks/planted/dropoutt_records.py (evidence caps lifted so every",
          "record behind a finding is known; detection unchanged; one worker). Clean rows: the",
          "value is in the 'named by any' column. Reproduce: see the docstring of",
          "benchmarks/bench_planted.py.", ""]
    data = {}
    for label in labels:
        part, data[label] = bench_set(label, SETS[label], args, known)
        md += part
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (args.out / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
