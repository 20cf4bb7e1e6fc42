#!/usr/bin/env bash
# The second demo: self-configuration to the end, on a small built-in synthetic dataset.
# synth -> plan -> preprocess 2d and 3d_fullres -> train both, five folds each, with a short
# budget and saved probabilities -> find-best (each configuration's cross-validation and their
# ensemble, the best chosen, its postprocessing decided) -> the commands find-best wrote, run
# on the 5 held-out cases -> evaluate. Prints the comparison table and the held-out Dice; exits
# 1 if that Dice is below 0.8 (the data is easy: a lower value means a bug). About 6 minutes
# on 2 cores after the build.
# Usage: scripts/demo-find-best.sh [work_folder]   (default: ./demo-find-best-work)
# MEDSEG_BINARY=<medseg>: use that binary, no set-up or build (the CTest does this).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/torch.sh"
work=$(realpath -m "${1:-$PWD/demo-find-best-work}")
started=$SECONDS
medseg=${MEDSEG_BINARY:-}
if [ -z "$medseg" ]; then
  bash "$medseg_root/scripts/install-deps.sh"
  MEDSEG_BUILD_TARGETS=medseg bash "$medseg_root/scripts/build.sh"
  medseg=$medseg_build_dir/medseg
fi
threads=$(nproc)
step() { echo; echo "== $* =="; }
rm -rf "$work"
mkdir -p "$work"

step "synth: 20 training + 5 test cases"
"$medseg" synth "$work/dataset" --cases 20 --test-cases 5
step "plan, preprocess 2d and 3d_fullres"
"$medseg" --threads "$threads" plan "$work/dataset" -o "$work/run" > /dev/null
"$medseg" --threads "$threads" preprocess "$work/run" -c 2d 3d_fullres
cat > "$work/short.json" <<'JSON'
{"num_epochs": 4, "iterations_per_epoch": 10, "val_iterations": 2}
JSON
for configuration in 2d 3d_fullres; do
  for fold in 0 1 2 3 4; do
    step "train $configuration fold $fold (4 epochs x 10 iterations, probabilities saved)"
    "$medseg" --quiet --threads "$threads" train "$work/run" -c "$configuration" -f "$fold" \
      --trainer-config "$work/short.json" --save-probabilities
  done
done

step "find-best"
"$medseg" --threads "$threads" find-best -w "$work/run"
instructions=$work/run/find_best/inference_instructions.json

step "the chosen model on the held-out cases, as find-best wrote the commands"
python3 - "$instructions" "$medseg" "$work/dataset/imagesTs" "$work/predictions" \
  > "$work/inference.sh" <<'PY'
import json, shlex, sys
instructions, medseg, images, out = sys.argv[1:]
for command in json.load(open(instructions))["commands"]:
    command = command.replace("INPUT_FOLDER", shlex.quote(images))
    command = command.replace("OUTPUT_FOLDER", shlex.quote(out))
    print(shlex.quote(medseg) + command[len("medseg"):])
PY
cat "$work/inference.sh"
bash -e "$work/inference.sh"
step "evaluate against labelsTs"
"$medseg" --threads "$threads" evaluate -r "$work/dataset/labelsTs" -p "$work/predictions" \
  -d "$work/dataset/dataset.json"

echo
echo "demo-find-best finished in $((SECONDS - started)) s; outputs in $work"
dice=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["foreground_mean"]["Dice"])' \
  "$work/predictions/summary.json")
if awk -v d="$dice" 'BEGIN { exit !(d >= 0.8) }'; then
  echo "held-out mean foreground Dice $dice (>= 0.8: ok)"
else
  echo "held-out mean foreground Dice $dice is below 0.8: something is wrong" >&2
  exit 1
fi
