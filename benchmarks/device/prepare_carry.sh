#!/bin/bash
# Make what the GPU lease carries (run here, before the lease; needs PyPI
# for the wheels). The model GGUF (98 MB) and the data do not fit one call
# (64 MiB per call, the ~22 MB working tree included), so three calls carry
# them, each under the limit:
#
#   call 1  bash benchmarks/device/lease_setup.sh    carry .carry/a = gguf.part1 + whl/
#   call 2  bash benchmarks/device/lease_setup.sh    carry .carry/c = gguf.part2
#   call 3  bash benchmarks/device/build_v2.sh       carry .carry/b = gguf.part3 + data.tar.xz
#                                                    [+ gpu-v2.sqlite to resume]
#
# RESUME=path/to/gpu-v2.sqlite puts a store returned by an earlier lease
# into .carry/b, so the next build goes on where it stopped.
set -eu
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
GGUF=$($PY -c "from tuneahead_lint.basemodel import resolve; s = resolve(None); print(s.source + '/' + s.gguf_file)")
SHARED=${SHARED:-../shared/data}
grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo /.carry/ >> "$(git rev-parse --git-path info/exclude)"
rm -rf .carry && mkdir -p .carry/a/whl .carry/b .carry/c
split -b 40M -d -a 1 "$GGUF" .carry/gguf.part
mv .carry/gguf.part0 .carry/a/gguf.part1
mv .carry/gguf.part1 .carry/c/gguf.part2
mv .carry/gguf.part2 .carry/b/gguf.part3
# pure-Python wheels the device image (torch, transformers, peft) lacks
$PY -m pip download -q --no-deps --only-binary=:all: -d .carry/a/whl gguf click
# gpu-v2's source sets and benchmarks (meta/presets.py V2_SOURCES, suite arc_easy + piqa)
tar -cJf .carry/b/data.tar.xz -C "$SHARED" \
    instruct/alpaca_5k_subset instruct/code_alpaca_2k instruct/gsm8k_train instruct/dolly_hhrlhf_train_small \
    instruct/medical_meadow_wikidoc_patient_info instruct/lima_llamafactory instruct/gpteacher_roleplay \
    instruct/gpteacher_toolformer instruct/oasst1_zh_sft_llamafactory eval/arc_easy eval/piqa
[ -n "${RESUME:-}" ] && cp "$RESUME" .carry/b/gpu-v2.sqlite
du -sh .carry/* .carry/*/*
