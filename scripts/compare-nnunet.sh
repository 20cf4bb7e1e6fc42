#!/usr/bin/env bash
# medseg predicting with a reference nnU-Net v2 results folder, against the reference itself on
# the same model, image and CPU (issue #21): probabilities and labels at full size, seconds per
# case and peak memory, mirrored and not (bench/nnunet_compare.py says what is run and
# reported). Builds medseg, installs the reference venv (scripts/install-reference.sh), then runs
# the comparison with that venv's python. Measure on a quiet machine.
#
# Usage: scripts/compare-nnunet.sh [--work DIR] [--scenarios hippocampus,large] [--repeat N]
#          [--threads N] [--exactness-runs all|unmirrored] [--out FILE]
#   --scenarios  hippocampus, large (256x256x200), small (a check of this script); default
#                hippocampus,large.
# Writes WORK/nnunet-compare.json (or --out) and prints a table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$root/benchmark-work/nnunet-compare
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --work) work=$2; shift 2 ;;
    --scenarios | --repeat | --threads | --exactness-runs | --out) args+=("$1" "$2"); shift 2 ;;
    *) echo "compare-nnunet: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
MEDSEG_BUILD_TARGETS=medseg bash "$root/scripts/build.sh"
bash "$root/scripts/install-reference.sh"
build=${MEDSEG_BUILD_DIR:-$root/build}
python=$(ls -d "$root"/.deps/nnunetv2-*/bin/python | head -1)
exec "$python" "$root/bench/nnunet_compare.py" --medseg "$build/medseg" --work "$work" "${args[@]}"
