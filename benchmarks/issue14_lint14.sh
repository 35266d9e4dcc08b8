#!/usr/bin/env bash
# Lint every ../shared/data/instruct set one at a time (static model, default
# threshold) and keep the JSON and text reports: the verdicts of issue 14.
# Usage: benchmarks/issue14_lint14.sh OUT_DIR [extra lint options]
# Features are cached in $TUNEAHEAD_CACHE (default ~/.cache/tuneahead-lint),
# so a second run only re-predicts.
set -u
out=${1:?OUT_DIR}; shift
data=${DATA:-/work/shared/data/instruct}
py=${PY:-python}
mkdir -p "$out"
for d in "$data"/*/; do
  name=$(basename "$d")
  start=$(date +%s)
  $py -m tuneahead_lint lint --fail-on never --no-color -f json -o "$out/$name.json" "$@" "$d"
  rc=$?
  $py -m tuneahead_lint lint --fail-on never --no-color -o "$out/$name.txt" "$@" "$d"
  echo "$name rc=$rc $(( $(date +%s) - start ))s" >> "$out/times.log"
done
