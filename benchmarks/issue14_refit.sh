#!/usr/bin/env bash
# Refit the shipped predictor variants on the 42 converged GPU runs with the
# issue-14 procedure (every row trains; CV+ interval by data recipe; distance
# guard; min_child_samples = max(2, rows // 15); grouped-CV skill in the card).
set -eu
py=${PY:-python}
csv=data/meta/gpu-lease-converged.csv
desc="LightGBM predictor of the mean ARC-Easy/PIQA accuracy after a LoRA r16 fine-tune of SmolLM2-135M-Instruct, trained on the 42 converged runs of the gpu-lease meta-dataset (data/meta/CARD-gpu-lease.md; 43 GPU runs on an H200, one diverged run left out). Every row trains the model; the CV+ interval comes from 10 folds of whole data recipes; the grouped-CV section below says how far to trust it."
$py -m tuneahead_lint meta fit $csv -o models/tuneahead-smollm2-135m/full \
    --name tuneahead-smollm2-135m --description "$desc"
$py -m tuneahead_lint meta fit $csv -o models/tuneahead-smollm2-135m/static --static-only \
    --name tuneahead-smollm2-135m --description "$desc"
