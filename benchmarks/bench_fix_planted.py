"""``tuneahead-lint fix`` on the two issue-16 planted sets: planted units fixed, clean records lost.

Usage: python benchmarks/bench_fix_planted.py [--full] [--redact-pii] [--sets A,B]

Default: record-level remedies (``fix --fast``) on set A
(tests/fixtures/planted16) and set B (benchmarks/planted/planted16b).
``--full`` runs the semantic remedies too (embeddings: near-duplicates TA201,
outliers TA202, mismatched pairs TA207) on the sets named by ``--sets``
(default A only; slow on a CPU, the embedding cache makes reruns faster).

A plant *unit* is the planted record plus its partner lines in truth.json
(the original of a duplicate, the other answer of a conflict). A unit is
**fixed** when:

* exact_duplicate, near_duplicate: exactly one copy dropped, the other kept
  (both dropped is reported as ``over``: the clean original lost);
* conflicting_answers: every record of the group dropped (fix cannot tell
  which answer is right, see tuneahead_lint/fix/flagged.py);
* PII classes (email, phone, payment_card, iban, ip_address, ssn): dropped or
  redacted;
* mojibake: repaired (ftfy) or dropped; template_leak: stripped or dropped;
* every other class: the planted record dropped.

Clean records lost: clean lines of truth.json that fix dropped or changed,
with the rule and detail from the removal log and the hand verdict from
benchmarks/planted/fix_planted16_verdicts.json ("unread" where none).

Before/after: findings per rule and records, from a ``--fast`` lint of the
input and of the fixed output (also after a full fix, to keep it cheap).

Writes benchmarks/results/fix_planted16.json (runs keyed "A fast", "B fast",
"A full", ...; a rerun replaces only its own runs) and fix_planted16.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tuneahead_lint.config import Config
from tuneahead_lint.fix import FixOptions, run_fix
from tuneahead_lint.pipeline import LintOptions, lint
from tuneahead_lint.ruleset.registry import load_rules

ROOT = Path(__file__).resolve().parents[1]
SETS = {"A": ROOT / "tests" / "fixtures" / "planted16", "B": ROOT / "benchmarks" / "planted" / "planted16b"}
RESULTS = ROOT / "benchmarks" / "results"
VERDICTS = ROOT / "benchmarks" / "planted" / "fix_planted16_verdicts.json"
READING = ROOT / "benchmarks" / "planted" / "fix_planted16_reading.md"  # hand-written, appended
PAIRS = ("exact_duplicate", "near_duplicate")
GROUPS = ("conflicting_answers",)
PII = ("email", "phone", "payment_card", "iban", "ip_address", "ssn")
ALSO_OK = {**{c: {"drop", "redact"} for c in PII}, "mojibake": {"drop", "repair"},
           "template_leak": {"drop", "strip"}}


def units(truth: dict) -> dict[str, dict[int, list[dict]]]:
    """class -> unit id -> its truth rows (plant first)."""
    out: dict[str, dict[int, list[dict]]] = {}
    for row in truth["lines"]:
        if row["class"] != "clean":
            out.setdefault(row["class"], {}).setdefault(row["unit"], []).append(row)
    for by_unit in out.values():
        for rows in by_unit.values():
            rows.sort(key=lambda r: r["role"] != "plant")
    return out


def unit_fixed(cls: str, rows: list[dict], acts: dict[int, dict]) -> str:
    """'fixed', 'over' (pair: both copies dropped), 'partial' (group: some dropped) or 'missed'."""
    dropped = [acts.get(r["line"], {}).get("action") == "drop" for r in rows]
    if cls in PAIRS:
        return "over" if all(dropped) else "fixed" if any(dropped) else "missed"
    if cls in GROUPS:
        return "fixed" if all(dropped) else "partial" if any(dropped) else "missed"
    act = acts.get(rows[0]["line"], {}).get("action")
    return "fixed" if act in ALSO_OK.get(cls, {"drop"}) else "missed"


def score_classes(truth: dict, acts: dict[int, dict],
                  flagged: dict[int, set[str]]) -> dict[str, dict[str, Any]]:
    """Per class: units, outcome counts, actions and rules on the unit's lines, and the units
    not fixed with the rules the --fast lint names on their lines (``flagged``)."""
    out = {}
    for cls, by_unit in sorted(units(truth).items()):
        outcome, actions, rules, not_fixed = Counter(), Counter(), Counter(), []
        for rows in by_unit.values():
            result = unit_fixed(cls, rows, acts)
            outcome[result] += 1
            for r in rows:
                if (a := acts.get(r["line"])) is not None:
                    actions[a["action"]] += 1
                    rules[a["rule"]] += 1
            if result != "fixed":
                named = sorted(set().union(*(flagged.get(r["line"], set()) for r in rows)))
                not_fixed.append({"lines": [r["line"] for r in rows], "outcome": result, "linted": named})
        out[cls] = {"units": len(by_unit), "fixed": outcome["fixed"], "outcome": dict(outcome),
                    "actions": dict(actions), "rules": dict(rules),
                    "expected_rules": truth["classes"].get(cls, []), "not_fixed": not_fixed}
    return out


def clean_lost(truth: dict, acts: dict[int, dict], records: list[str], name: str) -> list[dict]:
    """Clean lines fix dropped or changed, with the log's reason and the hand verdict."""
    verdicts = json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}
    lost = []
    for row in truth["lines"]:
        if row["class"] == "clean" and (a := acts.get(row["line"])) is not None:
            key = f"{name}:{row['line']}"
            lost.append({"line": row["line"], "src": row["src"], **a,
                         "record": records[row["line"] - 1][:300],
                         "verdict": verdicts.get(key, "unread")})
    return lost


def partners_lost(truth: dict, acts: dict[int, dict], name: str) -> list[dict]:
    """Partner lines (the clean original of a duplicate pair) dropped with their copy."""
    verdicts = json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}
    lost = []
    for cls in PAIRS:
        for rows in units(truth).get(cls, {}).values():
            if unit_fixed(cls, rows, acts) == "over":
                lost += [{"line": r["line"], "class": cls, "plant": rows[0]["line"], **acts[r["line"]],
                          "verdict": verdicts.get(f"{name}:{r['line']}", "unread")}
                         for r in rows[1:]]
    return lost


def per_rule(report) -> Counter:
    return Counter(f"{f.rule_id} {f.rule_name}" for f in report.findings)


def fast_lint(path: Path):
    return lint([str(path)], Config(), LintOptions(features=False), load_rules())


def rules_by_line(report) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for f in report.findings:
        for line in f.lines:
            out.setdefault(line, set()).add(f.rule_id)
    return out


def before_after(before, after) -> dict[str, Any]:
    """Findings per rule and records, --fast lint of input and output."""
    b, a = per_rule(before), per_rule(after)
    rows = {rule: [b[rule], a[rule]] for rule in sorted(set(b) | set(a))}
    return {"rules": rows, "findings": [len(before.findings), len(after.findings)],
            "records": [before.summary.records, after.summary.records]}


def run(name: str, fast: bool, tmp: Path, redact: bool = False) -> dict[str, Any]:
    folder = SETS[name]
    truth = json.loads((folder / "truth.json").read_text())
    src, out = folder / "planted.jsonl", tmp / f"{name}-{'fast' if fast else 'full'}.jsonl"
    start = time.perf_counter()
    result = run_fix([str(src)], FixOptions(fast=fast, redact_pii=redact), Config(), load_rules(), output=str(out), relint=False)
    secs = time.perf_counter() - start
    acts = {a.line: {"action": a.action, "rule": a.rule_id or a.rule_name, "reason": a.reason,
                     "detail": a.detail} for a in result.plan.actions}
    records = src.read_text(encoding="utf-8").splitlines()
    before, after = fast_lint(src), fast_lint(out)
    return {"set": str(src.relative_to(ROOT)), "mode": "fast" if fast else "full",
            "seconds": round(secs, 1), "counts": result.plan.counts(), "notes": list(result.plan.notes),
            "classes": score_classes(truth, acts, rules_by_line(before)), "clean_lost": clean_lost(truth, acts, records, name),
            "partners_lost": partners_lost(truth, acts, name),
            "clean_records": sum(r["class"] == "clean" for r in truth["lines"]),
            "before_after": before_after(before, after)}


def md_run(key: str, r: dict[str, Any]) -> list[str]:
    c = r["classes"]
    fixed, total = sum(v["fixed"] for v in c.values()), sum(v["units"] for v in c.values())
    lines = [f"## {key}: `{r['set']}` ({r['seconds']} s, contended CPU)", "",
             f"Planted units fixed: **{fixed} / {total}**; clean records lost: "
             f"**{len(r['clean_lost'])} / {r['clean_records']}**.", ""]
    lines += [f"Note: {n}" for n in r["notes"]] + ([""] if r["notes"] else [])
    lines += ["| class | fixed / units | other outcomes | actions on unit lines | rules named | expected | not fixed: lines (rules the --fast lint names there) |",
              "|---|---|---|---|---|---|---|"]
    for cls, v in c.items():
        other = ", ".join(f"{k} {n}" for k, n in sorted(v["outcome"].items()) if k != "fixed")
        acts = ", ".join(f"{k} {n}" for k, n in sorted(v["actions"].items()))
        rules = ", ".join(f"{k} {n}" for k, n in sorted(v["rules"].items()))
        miss = "; ".join("+".join(map(str, u["lines"])) + (f" ({','.join(u['linted'])})" if u.get("linted") else "")
                         for u in v["not_fixed"][:12])
        miss += " ..." if len(v["not_fixed"]) > 12 else ""
        lines.append(f"| {cls} | {v['fixed']} / {v['units']} | {other} | {acts} | {rules} | "
                     f"{', '.join(v['expected_rules'])} | {miss} |")
    lines += ["", "Clean records lost:", ""]
    if not r["clean_lost"]:
        lines.append("none")
    else:
        lines += ["| line | source | action | reason | detail | verdict |", "|---|---|---|---|---|---|"]
        for x in r["clean_lost"]:
            detail = x["detail"].replace("|", "\\|")[:160]
            lines.append(f"| {x['line']} | {x['src']} | {x['action']} | {x['reason']} | {detail} | {x['verdict']} |")
    if r.get("partners_lost"):
        lines += ["", "Partner lines (the original of a duplicate pair) dropped with their copy:", "",
                  "| line | class | copy | reason | detail | verdict |", "|---|---|---|---|---|---|"]
        lines += [f"| {x['line']} | {x['class']} | {x['plant']} | {x['reason']} | "
                  f"{x['detail'][:120]} | {x['verdict']} |" for x in r["partners_lost"]]
    ba = r["before_after"]
    lines += ["", "Before -> after (`--fast` re-lint of input and output; findings per rule):", "",
              "| rule | before | after |", "|---|---|---|"]
    lines += [f"| {rule} | {b} | {a} |" for rule, (b, a) in ba["rules"].items()]
    lines += [f"| **findings** | {ba['findings'][0]} | {ba['findings'][1]} |",
              f"| **records** | {ba['records'][0]} | {ba['records'][1]} |", ""]
    return lines


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fix_planted16.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    lines = ["# `fix` on the issue-16 planted sets", "",
             "Generated by `python benchmarks/bench_fix_planted.py` (see its docstring for what",
             "\"fixed\" means per class); hand verdicts on clean records lost in",
             "benchmarks/planted/fix_planted16_verdicts.json.", ""]
    for key in sorted(results):
        lines += md_run(key, results[key])
    if READING.exists():
        lines += ["", READING.read_text()]
    (RESULTS / "fix_planted16.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="semantic remedies too (embeddings)")
    ap.add_argument("--redact-pii", action="store_true", help="fix --redact-pii (run key gets ' redact')")
    ap.add_argument("--sets", default=None, help="A, B or A,B (default: A,B fast; A full)")
    args = ap.parse_args()
    names = (args.sets or ("A" if args.full else "A,B")).split(",")
    path = RESULTS / "fix_planted16.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            key = f"{name} {'full' if args.full else 'fast'}" + (" redact" if args.redact_pii else "")
            results[key] = run(name, not args.full, Path(tmp), args.redact_pii)
            r = results[key]
            fixed = sum(v["fixed"] for v in r["classes"].values())
            print(f"{key}: {fixed}/{sum(v['units'] for v in r['classes'].values())} units fixed, "
                  f"{len(r['clean_lost'])} clean lost, {r['seconds']} s")
            write(results)


if __name__ == "__main__":
    main()
