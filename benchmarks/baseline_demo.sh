#!/usr/bin/env bash
# Baseline demo (issue 13): a data repository with 3 accepted problems gets a
# pull request that adds 3 bad records (and shifts every other line); with
# --baseline the gate fails naming only those 3.
#   bash benchmarks/baseline_demo.sh > benchmarks/results/issue13_baseline_demo.txt
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LINT="${LINT:-python -m tuneahead_lint}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
REPO="$(mktemp -d)"
trap 'rm -rf "$REPO"' EXIT
cd "$REPO"
show() { echo "\$ $*"; "$@" 2>&1 && echo "(exit 0)" || echo "(exit $?)"; echo; }

git init -q -b main && git config user.name demo && git config user.email demo@example.com
python - "$ROOT/tests/fixtures/sample/alpaca_sample.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
old = [{"instruction": "Name a colour.", "input": "", "output": "Blue<|endoftext|>"},
       {"instruction": "Say hello.", "input": "", "output": ""},
       {"instruction": "Count to three.", "input": "", "output": "### Response: 1, 2, 3"}]
for i, rec in zip((50, 120, 200), old):
    lines.insert(i, json.dumps(rec))
open("data.jsonl", "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
git add data.jsonl && git commit -qm "main: 303 records, 3 known problems"
echo "# main: 303 records with 3 known problems; record the baseline"
show $LINT --fast --no-color --fail-on warning --format concise --write-baseline baseline.json data.jsonl
git add baseline.json && git commit -qm "baseline"

git checkout -qb pr
python - <<'PY'
import json
lines = open("data.jsonl", encoding="utf-8").read().splitlines()
lines.insert(0, json.dumps({"instruction": "Name a fruit.", "input": "", "output": "Apple<|endoftext|>"}))
lines.insert(150, json.dumps({"instruction": "Translate 'cat' to French.", "input": "", "output": "  "}))
lines.append(json.dumps({"instruction": "Give a synonym of big.", "input": "", "output": "large</s>"}))
open("data.jsonl", "w", encoding="utf-8").write("\n".join(lines) + "\n")
PY
git commit -qam "PR: add 3 records (lines 1, 151, 306)"
echo "# the PR adds 3 bad records at lines 1, 151 and 306 (every old record moves)"
git diff --stat main
echo
echo "# without the baseline: old and new problems"
show $LINT --fast --no-color --fail-on warning --format concise data.jsonl
echo "# with the baseline: only the 3 new records"
show $LINT --fast --no-color --fail-on warning --format concise --baseline baseline.json data.jsonl
show $LINT --fast --no-color --fail-on warning --baseline baseline.json data.jsonl
