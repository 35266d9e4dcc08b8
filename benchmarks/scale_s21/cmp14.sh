#!/bin/bash
# Usage: cmp14.sh SET ... ; needs /tmp/scale-logs/code_before (git archive of main), and feature-cache
# copies /tmp/scale-logs/wc_before, wc_after (MiniLM/perplexity entries kept, static: and candidates: deleted).
# warm full lint (MiniLM/perplexity cached, static vectors and candidates recomputed) before vs after; byte compare
for s in "$@"; do
  for v in before after; do
    code=/tmp/scale-logs/code_$v; [ $v = after ] && code=/work/wt-scale
    /usr/bin/time -f "$s $v wall %e user %U sys %S rss %M" env TUNEAHEAD_CACHE=/tmp/scale-logs/wc_$v PYTHONPATH=$code \
      /work/main/.venv/bin/python -m tuneahead_lint lint /work/shared/data/instruct/$s --format json --fail-on never \
      -o /tmp/scale-logs/cmp/$s.$v.json 2>&1 | tail -1
  done
  cmp -s /tmp/scale-logs/cmp/$s.before.json /tmp/scale-logs/cmp/$s.after.json && echo "$s IDENTICAL" || echo "$s DIFFERENT"
done
