#!/usr/bin/env bash
# medseg's training augmentation against the reference's own transforms (issue 25): builds
# bench/medseg_augmentation_check, installs the reference nnU-Net v2 (scripts/install-reference.sh:
# nnunetv2 with the batchgeneratorsv2 its requirements resolve to), has medseg transform fixed
# inputs with fixed parameters and sample its random factors, then runs the reference's
# transforms on the same inputs with the same parameters (bench/augmentation_check.py) and
# compares: label agreement and image differences of rotated/scaled phantoms (3D, in-plane, 2D),
# blur and low-resolution differences, Kolmogorov-Smirnov statistics of the scale factor and
# brightness draws. A check for a person or a benchmark run, not a CI test (it needs the venv).
#
# Usage: scripts/check-augmentation.sh [--work DIR] [--draws N]
# Writes WORK/comparison.json (default WORK: benchmark-work/augmentation) and prints a table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$root/benchmark-work/augmentation
draws=20000
while [ $# -gt 0 ]; do
  case $1 in
    --work) work=$2; shift 2 ;;
    --draws) draws=$2; shift 2 ;;
    *) echo "check-augmentation: unknown option '$1'" >&2; exit 2 ;;
  esac
done
MEDSEG_BUILD_TARGETS="medseg_augmentation_check" bash "$root/scripts/build.sh" -DMEDSEG_BUILD_BENCHMARKS=ON
bash "$root/scripts/install-reference.sh"
build=${MEDSEG_BUILD_DIR:-$root/build}
python=$(ls -d "$root"/.deps/nnunetv2-*/bin/python | head -1)
mkdir -p "$work"
"$build/bench/medseg_augmentation_check" "$work" --draws "$draws"
"$python" "$root/bench/augmentation_check.py" "$work"
