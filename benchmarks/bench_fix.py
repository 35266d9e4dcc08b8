"""Exactness and speed of ``tuneahead-lint fix`` on real data with planted problems.

Usage: python benchmarks/bench_fix.py [--large]

1. Exactness: the planted sets of tests/fixtures/fix (GSM8K JSON Lines and an
   Alpaca one-line JSON array, see make_planted.py) are fixed with every
   remedy on; the removal log is compared with the planted truth: planted
   records found with the right action and rule, planted records missed, clean
   records touched, and whether the written file equals the clean source slice
   byte for byte.
2. Outlier score: the same comparison for TA202 with ``--outlier-method``
   sigma (default) and robust, at 3.0.
3. Speed: record-level fix (--fast) of the whole GSM8K train file (7,473
   records); with --large also the semantic remedies on it (embeds 15k texts).

Embeddings are cached under $TUNEAHEAD_CACHE (default ~/.cache/tuneahead-lint),
so a second run times the cached path.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tuneahead_lint.config import Config
from tuneahead_lint.fix import FixOptions, run_fix
from tuneahead_lint.readers.containers import pieces
from tuneahead_lint.ruleset.registry import load_rules

ROOT = Path(__file__).resolve().parents[1]
PLANTED = ROOT / "tests" / "fixtures" / "fix"
SHARED = ROOT.parent / "shared" / "data" / "instruct"
sys.path.insert(0, str(PLANTED))
from make_planted import source_slice  # noqa: E402  (the planted sets' own builder)


def fix(paths: list[str], out: str, **options):
    return run_fix(paths, FixOptions(**options), Config(), load_rules(), output=out, relint=False)


def compare(name: str, actions, rules: tuple[str, ...] | None = None) -> dict[str, int]:
    """Counts of planted found / missed / wrong, and clean records touched."""
    truth = json.loads((PLANTED / (name.rsplit(".", 1)[0] + ".truth.json")).read_text())
    want = {t["record"]: (t["action"], t["rule"]) for t in truth if rules is None or t["rule"] in rules}
    got = {a.record: (a.action, a.rule_id) for a in actions if rules is None or a.rule_id in rules}
    planted_any = {t["record"] for t in truth}
    return {"planted": len(want),
            "found": sum(got.get(r) == w for r, w in want.items()),
            "missed": sum(r not in got for r in want),
            "wrong_rule": sum(r in got and got[r] != w for r, w in want.items()),
            "clean_touched": sum(r not in planted_any for r in got)}


def exactness(tmp: Path) -> None:
    print("1. exactness (all remedies, defaults: cosine 0.95, sigma 3.0)")
    for name in ("gsm8k_planted.jsonl", "alpaca_planted.json"):
        out = tmp / name
        start = time.perf_counter()
        result = fix([str(PLANTED / name)], str(out))
        secs = time.perf_counter() - start
        c = compare(name, result.plan.actions)
        counts = result.plan.counts()
        by_rule = ", ".join(f"{k.split()[1]} {v}" for k, v in sorted(counts.items()) if " TA" in k)
        print(f"  {name}: {counts['records']} records, {c['planted']} planted: {c['found']} found, "
              f"{c['missed']} missed, {c['wrong_rule']} wrong rule; {c['clean_touched']} clean touched; "
              f"output == clean source slice: {out.read_bytes() == source_slice(name, SHARED)}; {secs:.1f} s")
        print(f"    {by_rule}")


def outlier_methods(tmp: Path) -> None:
    print("2. outliers (TA202) at 3.0 by score")
    for name in ("gsm8k_planted.jsonl", "alpaca_planted.json"):
        for method in ("sigma", "robust"):
            result = fix([str(PLANTED / name)], str(tmp / f"{method}-{name}"), outlier_method=method)
            c = compare(name, result.plan.actions, ("TA202",))
            print(f"  {name:22} {method:6}: {c['planted']} planted, {c['found']} found, "
                  f"{c['missed']} missed; {c['clean_touched']} clean records dropped")


def speed(tmp: Path, large: bool) -> None:
    print("3. speed")
    path = str(SHARED / "gsm8k_train/train.jsonl")
    for fast in (True, False) if large else (True,):
        start = time.perf_counter()
        result = fix([path], str(tmp / "gsm8k.jsonl"), fast=fast)
        counts = result.plan.counts()
        print(f"  gsm8k train {'--fast' if fast else 'semantic'}: {counts['records']} records, "
              f"{counts['dropped']} dropped, {counts['changed']} changed, "
              f"{time.perf_counter() - start:.1f} s")


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        exactness(Path(tmp))
        outlier_methods(Path(tmp))
        speed(Path(tmp), "--large" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
