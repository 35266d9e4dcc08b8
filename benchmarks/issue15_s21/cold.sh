#!/bin/bash
# cold lint of alpaca_5k_subset: empty feature cache, installed models linked in
# usage: cold.sh REPO TAG
REPO=$1; TAG=$2; WARM=${TUNEAHEAD_WARM_CACHE:-/tmp/predict-cache}; OUT=${OUT:-/tmp/speed}; PY=${PY:-/work/main/.venv/bin/python}; mkdir -p $OUT
C=$(mktemp -d $OUT/cold-XXXX)
ln -s $WARM/models $C/models
cp $WARM/wordfreq-*.pickle $C/
cd $REPO
uptime > $OUT/cold_$TAG.time
TUNEAHEAD_CACHE=$C PYTHONPATH=$REPO /usr/bin/time -v $PY -m tuneahead_lint lint /work/shared/data/instruct/alpaca_5k_subset --format json --fail-on never -o $OUT/cold_$TAG.json 2>> $OUT/cold_$TAG.time
echo rc=$? >> $OUT/cold_$TAG.time
uptime >> $OUT/cold_$TAG.time
rm -rf $C
grep -E "load average|Elapsed|User time|System time|Maximum resident|rc=" $OUT/cold_$TAG.time
