#!/usr/bin/env bash
# HTML report of a real set (full lint: features, prediction, SHAP) and its
# screenshot in Debian's headless Chromium (issue 13):
#   bash benchmarks/issue13_html_screenshot.sh [SET]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SET="${1:-/work/shared/data/instruct/code_alpaca_2k}"
OUT="$ROOT/benchmarks/results"
PY="${PYTHON:-python}"
PYTHONPATH="$ROOT" "$PY" -m tuneahead_lint --format html -o "$OUT/issue13_report.html" "$SET" || true
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --disable-quic --user-data-dir="$PROFILE" --enable-logging=stderr --v=0 \
  --hide-scrollbars --window-size=1200,2400 --screenshot="$OUT/issue13_report.png" \
  "file://$OUT/issue13_report.html" 2> "$PROFILE/log"
echo "console messages: $(grep -c ':CONSOLE' "$PROFILE/log" || true)"
ls -l "$OUT/issue13_report.html" "$OUT/issue13_report.png"
