#!/usr/bin/env bash
# Lint every ../shared/data/instruct set, one at a time, with the shipped
# static model at the default threshold (the base model's score): the
# verdicts of issue 14. Pass 1 writes the JSON reports (and exit codes),
# pass 2 the text reports; features are cached in $TUNEAHEAD_CACHE (default
# ~/.cache/tuneahead-lint), so pass 2 and reruns only re-predict.
# Usage: [SETS="a b ..."] benchmarks/issue14_lint14.sh OUT_DIR [extra lint options]
# (SETS: names under $DATA in the order to lint them; default all, alphabetical)
# The issue-14 run: SETS="..." benchmarks/issue14_lint14.sh OUT --fail-on never (exit code = verdict)
# Then: python benchmarks/issue14_verdicts.py OUT_DIR > benchmarks/results/issue14_verdicts.md
set -u
out=${1:?OUT_DIR}; shift
data=${DATA:-/work/shared/data/instruct}
py=${PY:-python}
mkdir -p "$out"
sets=${SETS:-$(ls "$data")}
for ext in json txt; do
  for name in $sets; do
    d="$data/$name"
    start=$(date +%s)
    if [ "$ext" = json ]; then fmt=(-f json); else fmt=(--no-color); fi
    $py -m tuneahead_lint lint "${fmt[@]}" -o "$out/$name.$ext" "$@" "$d"
    echo "$name $ext rc=$? $(( $(date +%s) - start ))s" >> "$out/times.log"
  done
done
