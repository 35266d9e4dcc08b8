#!/usr/bin/env bash
# Table 1 of issue 14 on data/meta: grouped repeated 5-fold (the default),
# leave-one-recipe-out, and the leaky random protocol for comparison.
# Writes benchmarks/results/issue14_table1_{group,logo,random}.{md,json}.
set -eu
py=${PY:-python}
csv=data/meta/gpu-lease-converged.csv
out=benchmarks/results
for spec in "group:--split group --folds 5 --repeats 20" "logo:--split group --folds 0" \
            "random:--split random --repeats 20"; do
  name=${spec%%:*}; opts=${spec#*:}
  $py -m tuneahead_lint meta eval $csv $opts -o $out/issue14_table1_$name.md \
      --json-output $out/issue14_table1_$name.json
done
