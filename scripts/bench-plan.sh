#!/usr/bin/env bash
# Times `medseg plan` (validation + fingerprint + planning) with /usr/bin/time -v (wall time,
# peak RSS) on 100 synthetic cases of 150 x 256 x 256 voxels (written once to a cache folder)
# and, when present, on the Hippocampus dataset (200 cases).
# Usage: scripts/bench-plan.sh [medseg binary] [threads]   (defaults: build/medseg, 2)
# BENCH_DIR: the cache and output folder (default /tmp/medseg-bench-plan).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
medseg=$(realpath "${1:-${MEDSEG_BUILD_DIR:-$root/build}/medseg}")
threads=${2:-2}
bench=${BENCH_DIR:-/tmp/medseg-bench-plan}
hippocampus="$root/../shared/data/Dataset004_Hippocampus"
mkdir -p "$bench"

time_plan() {  # name dataset_folder
  local name=$1 data=$2
  rm -rf "$bench/work-$name"
  /usr/bin/time -v "$medseg" --quiet --threads "$threads" plan "$data" -o "$bench/work-$name" \
    > "$bench/summary-$name.txt" 2> "$bench/time-$name.txt"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$bench/time-$name.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$bench/time-$name.txt" | awk '{print $NF}')
  printf '%-28s wall %s  peak RSS %d MiB  (%d threads)\n' "$name" "$wall" $((rss / 1024)) "$threads"
}

if [ ! -f "$bench/synth100/dataset.json" ]; then
  echo "writing 100 synthetic cases of 150 x 256 x 256 to $bench/synth100 (once) ..."
  "$medseg" --quiet --threads "$threads" synth "$bench/synth100.tmp" --cases 100 --shape 150 256 256
  mv "$bench/synth100.tmp" "$bench/synth100"
fi
time_plan synth100-150x256x256 "$bench/synth100"
if [ -f "$hippocampus/dataset.json" ]; then
  time_plan hippocampus-200 "$hippocampus"
fi
