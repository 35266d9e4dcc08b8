"""Build every distinct variant of a meta preset on the real sets and check
that each corruption trains at its dose; with ``--detect``, also lint one
1,000-record variant per corruption kind and count, per rule, the corrupted
and the clean records it flags.

    python benchmarks/issue17_variants.py [--preset gpu-v2] [--data-dir ../shared/data/instruct]
    python benchmarks/issue17_variants.py --detect [--source alpaca] [--full]

Results are in benchmarks/results/issue17_variants.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from tuneahead_lint.meta.presets import PRESETS
from tuneahead_lint.meta.spec import RunSpec
from tuneahead_lint.meta.variants import KINDS, Recipe, VariantError, build_tagged, default_data_dir, write_jsonl


def trained_error(spec: RunSpec, data_dir: str) -> float:
    """Largest |share of trained records carrying a kind - its dose| of one run."""
    variant = spec.variant(data_dir)
    times = Counter(i for batch in spec.plan() for i in batch)
    total = sum(times.values())
    return max((abs(sum(m for i, m in times.items() if kind in variant.tags[i]) / total - dose)
                for kind, dose in spec.recipe.doses.items()), default=0.0)


def check_preset(preset: str, data_dir: str) -> int:
    first: dict[str, RunSpec] = {}
    for spec in PRESETS[preset].specs("m"):
        first.setdefault(spec.recipe.id, spec)
    t0, worst, failed = time.perf_counter(), 0.0, []
    for spec in first.values():
        try:
            worst = max(worst, trained_error(spec, data_dir))
        except VariantError as exc:
            failed.append(f"{spec.recipe.label}: {exc}")
    print(f"{preset}: {len(first)} variants built in {time.perf_counter() - t0:.0f} s, {len(failed)} failed; "
          f"largest |trained share - dose| {worst:.2e}")
    print("\n".join(failed[:20]))
    return 1 if failed else 0


def detect(source: str, data_dir: str, full: bool) -> None:
    """Per kind at dose 0.25: rules that flag >= 5 corrupted records, with hits on clean ones."""
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            kw: dict = {kind: 0.25}
            if kind == "outliers":
                kw["outlier_source"] = "toolformer"
            variant = build_tagged(Recipe(((source, 1.0),), 1000, heldout=200, **kw), data_dir)
            path = Path(tmp) / f"{kind}.jsonl"
            write_jsonl(variant.examples, path)
            cmd = [sys.executable, "-m", "tuneahead_lint", "lint", str(path), "-f", "json", "--fail-on", "never"]
            report = json.loads(subprocess.run(cmd + ([] if full else ["--fast"]), capture_output=True,
                                               text=True, check=True).stdout)
            print(f"{kind:14s} {_hits(report, {i for i, t in enumerate(variant.tags) if kind in t})}", flush=True)


def _hits(report: dict, bad: set[int]) -> str:
    lines: dict[str, set[int]] = defaultdict(set)
    for finding in report["findings"]:
        lines[finding["rule_id"]].update(line - 1 for line in finding.get("lines", []))
    return "; ".join(f"{rule} {len(got & bad)}/{len(bad)} (+{len(got - bad)} clean)"
                     for rule, got in sorted(lines.items()) if len(got & bad) >= 5) or "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="gpu-v2")
    ap.add_argument("--data-dir", default=str(default_data_dir()))
    ap.add_argument("--detect", action="store_true")
    ap.add_argument("--source", default="alpaca")
    ap.add_argument("--full", action="store_true", help="--detect with embeddings and perplexity (slow)")
    args = ap.parse_args()
    if args.detect:
        detect(args.source, args.data_dir, args.full)
        return 0
    return check_preset(args.preset, args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
