#!/usr/bin/env bash
# The main job end to end on a small built-in synthetic dataset, on a fresh Debian 12 machine:
# installs what is missing, builds, then synth -> validate -> plan -> preprocess.
# Usage: scripts/demo.sh [work_folder]   (default: ./demo-work)
# Later pipeline stages (train, predict, evaluate) join this script as they land.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(realpath -m "${1:-$PWD/demo-work}")
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
medseg="${MEDSEG_BUILD_DIR:-$root/build}/medseg"
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

echo
echo "demo finished in $(( $(date +%s) - start )) s; outputs in $work"
