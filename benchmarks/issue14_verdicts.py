"""Table of the verdicts in the JSON reports written by issue14_lint14.sh.

Usage: python benchmarks/issue14_verdicts.py OUT_DIR > benchmarks/results/issue14_verdicts.md
       python benchmarks/issue14_verdicts.py OUT_DIR --slim DEST   (reports cut to the prediction parts)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(name: str, doc: dict, rc: str) -> str:
    p = doc["prediction"]
    s = doc["summary"]
    bad = sum(f.get("unreadable", 0) for f in s["files"])
    valid = f"{s['records']}" + (f" ({bad} unreadable)" if bad else "")
    if p is None:
        why = next((x["reason"] for x in doc["skipped"] if x["rule_id"] == "TA401"), "no prediction")
        return f"| {name} | {valid} | - | - | - | none | {why} | {rc} |"
    d = doc["extra"]["prediction_detail"]
    g = d.get("guard") or {}
    size = "; ".join(f"{x['feature']} {x['value']:.0f} beyond {x['train_low']:.0f}-{x['train_high']:.0f} "
                     f"(not counted)" for x in g.get("size_beyond_training", []))
    rules = sorted({f["rule_id"] for f in doc["findings"] if f["rule_id"].startswith("TA4")})
    return (f"| {name} | {valid} | {p['score']:.4f} | {p['low']:.4f}-{p['high']:.4f} | "
            f"{g.get('distance_ratio', float('nan')):.2f} | **{p['verdict']}** | {d['verdict_reason']}"
            f"{'; ' + size if size else ''}{'; TA4xx: ' + ', '.join(rules) if rules else ''} | {rc} |")


def main(out: Path) -> None:
    rcs = {}
    for line in (out / "times.log").read_text().splitlines():
        name, ext, rc, secs = line.split()
        if ext == "json":
            rcs[name] = f"{rc.split('=')[1]} ({secs})"
    print("# Verdicts of the shipped static model on the shared instruction sets\n")
    print("`tuneahead-lint lint -f json --fail-on never SET` (no `--probe`: the static model; default threshold: "
          "the base model's score 0.5775; hyperparameters at the training medians). Exit code 1 only on "
          "no-go. The static model has no grouped-CV skill (+0.02 ± 0.11): read \"go\" as \"no evidence "
          "that fine-tuning makes the base model worse\", nothing more. Records: all records the lint read "
          "in the set's folder.\n")
    print("| set | records | predicted | interval | distance ratio | verdict | why | exit code (wall) |")
    print("|---|---|---|---|---|---|---|---|")
    for path in sorted(out.glob("*.json")):
        print(row(path.stem, json.loads(path.read_text()), rcs.get(path.stem, "?")))


def slim(out: Path, dest: Path) -> None:
    """Copy each report keeping the summary, prediction, its detail and
    attributions, the TA4xx findings and the skipped rules."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(out.glob("*.json")):
        doc = json.loads(path.read_text())
        keep = {"summary": doc["summary"], "prediction": doc["prediction"], "skipped": doc["skipped"],
                "findings": [f for f in doc["findings"] if f["rule_id"].startswith("TA4")],
                "extra": {k: v for k, v in doc["extra"].items() if k in ("prediction_detail", "attributions")}}
        (dest / path.name).write_text(json.dumps(keep, indent=1, sort_keys=True) + "\n")
    (dest / "times.log").write_text((out / "times.log").read_text())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--slim":
        slim(Path(sys.argv[1]), Path(sys.argv[3]))
    else:
        main(Path(sys.argv[1]))
