"""Run the peer linter ``dropoutt`` (in its own venv) and print which records each check names.

    /work/dropoutt-venv/bin/python benchmarks/planted/dropoutt_records.py FILE OUTDIR

dropoutt reports counts plus at most a few evidence records per check. To score it
record by record this harness (a measurement aid, it changes no detection):
lifts every check's ``EVIDENCE_CAP``; and, for the checks whose finalize keeps a
fixed number of examples, reads the records behind the finding from the check's
own state (near-duplicate pairs, language outliers, conflicting prompts).
Writes OUTDIR/records.json ``{"records": {source_index: [check ids]}, "findings": [...], "wall_s": s}``.
Runs with one worker so the hooks see every record.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from dropoutt.checks import base as _base
from dropoutt import contamination
from dropoutt.checks import tier1_content, tier1_dedup, tier1_language

EXTRA: dict[str, set[int]] = defaultdict(set)
LANG_SEEN: list[tuple[str, str, int]] = []


def _all_checks(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub] + _all_checks(sub)
    return out


def _lift_caps() -> None:
    for cls in [_base.Check] + _all_checks(_base.Check):
        if "EVIDENCE_CAP" in cls.__dict__:
            cls.EVIDENCE_CAP = 10**9


def _hook_near_duplicates() -> None:
    cls = tier1_dedup.NearDuplicates
    orig = cls.finalize

    def finalize(self, ctx):
        found = orig(self, ctx)
        if found:
            store = tier1_dedup._get_store(ctx)
            for a, b, _j in store.index.verified_pairs():
                da, db = store.doc(a), store.doc(b)
                if da[5] != db[5]:
                    EXTRA[cls.check_id].update((da[2], db[2]))
        return found

    cls.finalize = finalize


def _hook_conflicts() -> None:
    cls = tier1_dedup.ContradictorySupervision
    orig = cls.finalize

    def finalize(self, ctx):
        found = orig(self, ctx)
        if found:
            EXTRA[cls.check_id].update(r[2] for _a, n, r in self.seen.values() if n > 1)
        return found

    cls.finalize = finalize


def _hook_language_outliers() -> None:
    cls = tier1_language.LanguageOutliers
    orig_observe, orig_finalize = cls.observe, cls.finalize

    def observe(self, doc, ctx):
        before = self.total
        orig_observe(self, doc, ctx)
        if self.total > before:
            LANG_SEEN.append((doc.dataset, doc.meta.get(tier1_language.F_LANG), doc.source_index))

    def finalize(self, ctx):
        found = orig_finalize(self, ctx)
        for f in found:
            for dataset in f.by_dataset:
                counts = self.per_dataset[dataset]
                modal = max(counts, key=lambda k: counts[k])
                EXTRA[cls.check_id].update(i for d, lang, i in LANG_SEEN if d == dataset and lang != modal)
        return found

    cls.observe, cls.finalize = observe, finalize


def _contaminated(index) -> set[int]:
    """Source index of the best-matching record of every contaminated benchmark item."""
    out = set()
    for name, bench in index.benchmarks.items():
        best = index._best.get(name)
        if best is None:
            continue
        for inst in range(min(best.size, len(bench.instance_size))):
            size = bench.instance_size[inst]
            witness = index._witness.get((name, inst))
            if size and best[inst] / size > contamination.TOKEN_FRACTION and witness:
                out.add(witness[2])
    return out


def _hook_contamination() -> None:
    cls = next(c for c in _all_checks(_base.Check) if getattr(c, "check_id", "") == "T1-CONTAM-001")
    orig = cls.finalize

    def finalize(self, ctx):
        found = orig(self, ctx)
        if found:
            EXTRA[cls.check_id].update(_contaminated(ctx.contamination))
        return found

    cls.finalize = finalize


def main(argv: list[str]) -> int:
    data, out = Path(argv[0]), Path(argv[1])
    _lift_caps()
    _hook_near_duplicates()
    _hook_conflicts()
    _hook_language_outliers()
    _hook_contamination()
    from dropoutt.cli import app

    start = time.perf_counter()
    try:
        app(["scan", str(data), "--offline", "--no-html", "--no-open", "-q", "-j", "1", "-o", str(out)])
    except SystemExit as e:
        if e.code not in (0, None, 10):
            raise
    wall = time.perf_counter() - start
    records: dict[int, set[str]] = defaultdict(set)
    findings = [json.loads(line) for line in (out / "findings.jsonl").read_text().splitlines() if line]
    for f in findings:
        for ev in f.get("evidence", []):
            records[ev["source_index"]].add(f["check_id"])
    for check, idx in EXTRA.items():
        for i in idx:
            records[i].add(check)
    summary = [{"check_id": f["check_id"], "count": f["count"], "evidence": len(f.get("evidence", [])),
                "detail": f["detail"]} for f in findings]
    (out / "records.json").write_text(json.dumps(
        {"records": {i: sorted(c) for i, c in sorted(records.items())},
         "findings": summary, "wall_s": round(wall, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
