#!/bin/bash
# Issue 17: CPU builds of the tiny preset with the embedded SmolLM2-135M, one
# thread, probe features: one by one (--group-size 1) vs as one group (2);
# then each store's per-phase medians and runs/min (benchmarks/bench_meta.py)
# and the build's process CPU seconds (user + system; wall time is contended
# on a shared machine).
#   bash benchmarks/issue17_cpu_batch.sh [outdir]      # JOBS="tiny-all:11" for others
set -u
cd "$(dirname "$0")/.."
OUTDIR=${1:-/tmp/issue17}
mkdir -p "$OUTDIR"
export PYTHONPATH=$PWD TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}
for job in ${JOBS:-tiny:1 tiny:2}; do
  preset=${job%%:*}; k=${job##*:}
  rm -f "$OUTDIR/$preset-k$k.sqlite"*
  /usr/bin/time -f "cpu %U user %S sys, %e s wall" -o "$OUTDIR/$preset-k$k.time" \
    $PY -m tuneahead_lint meta build --preset $preset --features probe --workers 0 --threads 1 --group-size $k \
    --store "$OUTDIR/$preset-k$k.sqlite" --data-dir tests/fixtures/meta/instruct --eval-dir tests/fixtures/meta/eval \
    > "$OUTDIR/$preset-k$k.log" 2>&1
  echo "== $preset, group size $k: $(cat "$OUTDIR/$preset-k$k.time"), load $(cut -d' ' -f1-3 /proc/loadavg)"
  $PY benchmarks/bench_meta.py --store "$OUTDIR/$preset-k$k.sqlite" | tail -n 8
done
