#!/usr/bin/env bash
# The demo's pipeline on an already built binary (scripts/demo.sh sets up and calls this; the
# e2e CTest runs it too): synth -> validate -> plan -> preprocess -> train (fold 0, 10 epochs x
# 25 iterations) -> predict the 6 held-out cases -> evaluate, printing Dice and HD95 per class.
# Exits 1 if the held-out mean foreground Dice is below 0.85 (the data is easy: a lower value
# means a bug). About 2 minutes on 2 cores with native bfloat16, 4-5 minutes in float32.
# Usage: scripts/demo-pipeline.sh <medseg binary> <work folder (replaced)>
set -euo pipefail
medseg=$1
work=$(realpath -m "$2")
threads=$(nproc)

rm -rf "$work"
mkdir -p "$work"
start=$(date +%s)
step() { echo; echo "== $* =="; }

step "synth: 24 training + 6 test cases"
"$medseg" synth "$work/dataset" --cases 24 --test-cases 6
step "validate"
"$medseg" --threads "$threads" validate "$work/dataset"
step "plan"
"$medseg" --threads "$threads" plan "$work/dataset" -o "$work/run"
step "preprocess 3d_fullres"
"$medseg" --threads "$threads" preprocess "$work/run" -c 3d_fullres --dataset "$work/dataset"
step "train 3d_fullres fold 0 (10 epochs x 25 iterations)"
"$medseg" --threads "$threads" train "$work/run" -c 3d_fullres -f 0 --epochs 10 --iterations-per-epoch 25 \
  --val-iterations 5
step "predict the held-out cases (imagesTs)"
"$medseg" --threads "$threads" predict -i "$work/dataset/imagesTs" -o "$work/predictions" \
  -m "$work/run/models/3d_fullres" -f 0
step "evaluate against labelsTs"
"$medseg" --threads "$threads" evaluate -r "$work/dataset/labelsTs" -p "$work/predictions" \
  -d "$work/dataset/dataset.json"

echo
echo "demo finished in $(( $(date +%s) - start )) s; outputs in $work"
echo "  model: $work/run/models/3d_fullres (progress plot: fold_0/progress.svg)"
dice=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["foreground_mean"]["Dice"])' \
  "$work/predictions/summary.json")
if awk -v d="$dice" 'BEGIN { exit !(d >= 0.85) }'; then
  echo "held-out mean foreground Dice $dice (>= 0.85: ok)"
else
  echo "held-out mean foreground Dice $dice is below 0.85: something is wrong" >&2
  exit 1
fi
