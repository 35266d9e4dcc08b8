#!/usr/bin/env bash
# After a GPU build of ground truth v2 (benchmarks/device/build_v2.sh), on CPU:
# fill the static features, export, card with plots, then per target the
# grouped-CV Table 1 (`meta eval`) and the refit of the shipped model variants
# (`meta fit`, full and static-only).
#
#   [EVAL_OPTS=...] [FIT_OPTS=...] benchmarks/refit_v2.sh STORE OUT_DIR
#
# (a tiny build has one run per recipe, so nothing to group by: there
# EVAL_OPTS="--split random --repeats 2" FIT_OPTS="--cv-repeats 2")
# Works on any v2 store, the tiny CPU build too (tests/meta/test_v2_e2e.py
# runs the same commands); OUT_DIR gets meta.csv, card/, and per target
# table1_<target>.md and models/<target>/{full,static}, and the divergence
# classifier models/y_diverged/{full,static} when some runs diverged and some
# did not (else `meta fit` says so and writes none). OUT_DIR/models is a
# multi-target predictor bundle: `tuneahead-lint --model OUT_DIR/models DATA`.
set -eu
store=${1:?store}; out=${2:?out dir}
py=${PY:-python}
mkdir -p "$out"
$py -m tuneahead_lint meta features --store "$store" --kinds static ${DATA_DIR:+--data-dir "$DATA_DIR"}
$py -m tuneahead_lint meta export --store "$store" -o "$out/meta.csv"
$py -m tuneahead_lint meta card --store "$store" -o "$out/card"
for target in y_indomain y_general y_general_acc; do
  $py -m tuneahead_lint meta eval "$out/meta.csv" --target "$target" ${EVAL_OPTS:-} > "$out/table1_$target.md"
  for variant in full static; do
    flag=$([ $variant = static ] && echo --static-only || true)
    $py -m tuneahead_lint meta fit "$out/meta.csv" --target "$target" $flag ${FIT_OPTS:-} \
        -o "$out/models/$target/$variant" --name "tuneahead-smollm2-135m-$target"
  done
done
for variant in full static; do
  flag=$([ $variant = static ] && echo --static-only || true)
  $py -m tuneahead_lint meta fit "$out/meta.csv" --target y_diverged $flag ${FIT_OPTS:-} \
      -o "$out/models/y_diverged/$variant" --name "tuneahead-smollm2-135m-y_diverged"
done
ls -R "$out" | head -40
