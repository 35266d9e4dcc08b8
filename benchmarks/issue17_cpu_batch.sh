#!/bin/bash
# Issue 17: CPU builds of the tiny presets with the embedded SmolLM2-135M, one
# thread, probe features, one by one (--group-size 1) vs as one group; then
# the per-phase medians and runs/min of each store (benchmarks/bench_meta.py).
#   bash benchmarks/issue17_cpu_batch.sh [outdir]
set -u
cd "$(dirname "$0")/.."
OUTDIR=${1:-/tmp/issue17}
mkdir -p "$OUTDIR"
export PYTHONPATH=$PWD TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}
for job in "tiny 1" "tiny 2" "tiny-all 11"; do
  set -- $job
  rm -f "$OUTDIR/$1-k$2.sqlite"*
  $PY -m tuneahead_lint meta build --preset $1 --features probe --workers 0 --threads 1 --group-size $2 \
    --store "$OUTDIR/$1-k$2.sqlite" --data-dir tests/fixtures/meta/instruct --eval-dir tests/fixtures/meta/eval \
    > "$OUTDIR/$1-k$2.log" 2>&1
  echo "== $1, group size $2 (rc=$?, load $(cut -d' ' -f1-3 /proc/loadavg))"
  $PY benchmarks/bench_meta.py --store "$OUTDIR/$1-k$2.sqlite" | tail -n 8
done
