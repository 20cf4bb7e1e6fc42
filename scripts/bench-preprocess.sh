#!/usr/bin/env bash
# Times `medseg preprocess` (3d_fullres) with /usr/bin/time -v: seconds per case and peak RSS,
# with 1 and 2 cases at a time (-j), the median (min-max) of REPEATS runs, on
#   - the Hippocampus dataset (200 cases, ~36x50x35, no resampling), when present in ../shared;
#   - 100 synthetic anisotropic cases of about 88 x 150 x 200 voxels (the size of the reference's
#     0.68 s/case figure) at spacing 3 x 0.8 x 0.8: kept at their spacing (crop, normalize,
#     store), and resampled to 2 x 0.7 x 0.7 (separate z: cubic in-plane, nearest along z);
#   - 10 synthetic cases of about 200 x 256 x 256, resampled the same way (memory at scale).
# Plans come from `medseg plan` (--overwrite-target-spacing for the synthetic sets); when plan
# fails, a hand-written plans.json with the reference's values is used instead.
# Usage: scripts/bench-preprocess.sh [medseg binary]   (default build/medseg)
# BENCH_DIR: cache and output folder (default /tmp/medseg-bench-preprocess); REPEATS (default 3).
# Writes $BENCH_DIR/results.json.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
medseg=$(realpath "${1:-${MEDSEG_BUILD_DIR:-$root/build}/medseg}")
bench=${BENCH_DIR:-/tmp/medseg-bench-preprocess}
repeats=${REPEATS:-3}
hippocampus="$root/../shared/data/Dataset004_Hippocampus"
mkdir -p "$bench"
results="$bench/results.jsonl"
: > "$results"

# A plans.json with one 3d_fullres configuration (z-score, the given spacing), for when
# `medseg plan` is not available.
write_plans_by_hand() {  # work_dir dataset_name spacing_z spacing_y spacing_x
  cat > "$1/plans.json" <<EOF
{"schema_version": 1, "dataset_name": "$2", "plans_name": "medsegPlans", "gpu_memory_target_gb": 8.0,
 "original_median_spacing_after_transp": [$3, $4, $5], "original_median_shape_after_transp": [36, 50, 35],
 "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
 "configurations": {"3d_fullres": {"data_identifier": "medsegPlans_3d_fullres", "batch_size": 2,
   "patch_size": [40, 56, 40], "median_image_size_in_voxels": [36, 50, 35], "spacing": [$3, $4, $5],
   "normalization_schemes": ["ZScoreNormalization"], "use_mask_for_norm": [false],
   "resampling_order_data": 3, "resampling_order_seg": 1, "resampling_order_z": 0, "batch_dice": false,
   "architecture": {"network": "PlainConvUNet", "n_stages": 1, "features_per_stage": [32],
     "kernel_sizes": [[3, 3, 3]], "strides": [[1, 1, 1]], "n_conv_per_stage": [2],
     "n_conv_per_stage_decoder": [], "conv_bias": true, "norm_eps": 1e-05, "leaky_relu_slope": 0.01}}},
 "foreground_intensity_properties_per_channel": [{"mean": 0, "median": 0, "std": 1, "min": 0, "max": 1,
   "percentile_00_5": 0, "percentile_99_5": 1}]}
EOF
  cp "$6/dataset.json" "$1/dataset.json"
}

prepare_work() {  # name dataset_dir spacing_z spacing_y spacing_x [plan flags...]
  local name=$1 data=$2 z=$3 y=$4 x=$5
  shift 5
  local work="$bench/work-$name"
  if [ -f "$work/plans.json" ]; then return; fi
  rm -rf "$work"
  if ! "$medseg" --quiet plan "$data" -o "$work" "$@" > "$bench/plan-$name.txt" 2>&1; then
    echo "  medseg plan failed for $name (see $bench/plan-$name.txt); using hand-written plans"
    mkdir -p "$work"
    write_plans_by_hand "$work" "$name" "$z" "$y" "$x" "$data"
  fi
}

time_preprocess() {  # name dataset_dir cases workers threads
  local name=$1 data=$2 cases=$3 workers=$4 threads=$5
  local work="$bench/work-$name" walls=() rsses=()
  for _ in $(seq "$repeats"); do
    rm -rf "$work/preprocessed" "$work/gt_segmentations"
    sync
    /usr/bin/time -v "$medseg" --quiet --threads "$threads" preprocess "$work" -c 3d_fullres -j "$workers" \
      --dataset "$data" 2> "$bench/time-$name.txt"
    walls+=("$(grep "Elapsed (wall clock)" "$bench/time-$name.txt" | awk '{print $NF}' |
      awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')")
    rsses+=("$(grep "Maximum resident set size" "$bench/time-$name.txt" | awk '{print $NF}')")
  done
  local sorted median min max rss
  sorted=$(printf '%s\n' "${walls[@]}" | sort -g)
  median=$(echo "$sorted" | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  min=$(echo "$sorted" | head -1)
  max=$(echo "$sorted" | tail -1)
  rss=$(printf '%s\n' "${rsses[@]}" | sort -g | tail -1)
  awk -v n="$name" -v c="$cases" -v j="$workers" -v t="$threads" -v med="$median" -v lo="$min" -v hi="$max" \
    -v r="$rss" 'BEGIN {
      printf "%-22s -j %d --threads %d: %.4f s/case (median of runs; min %.4f, max %.4f), %.1f s total, peak RSS %d MiB\n",
        n, j, t, med / c, lo / c, hi / c, med, r / 1024
    }'
  printf '{"set": "%s", "cases": %d, "workers": %d, "threads": %d, "wall_s_median": %s, "wall_s_min": %s, "wall_s_max": %s, "peak_rss_kib": %d}\n' \
    "$name" "$cases" "$workers" "$threads" "$median" "$min" "$max" "$rss" >> "$results"
}

synth_set() {  # name cases z y x
  local dir="$bench/$1"
  if [ ! -f "$dir/dataset.json" ]; then
    echo "writing $2 synthetic cases of $3 x $4 x $5 to $dir (once) ..."
    "$medseg" --quiet synth "$dir.tmp" --cases "$2" --shape "$3" "$4" "$5" --spacing 3 0.8 0.8
    mv "$dir.tmp" "$dir"
  fi
}

echo "medseg preprocess benchmark: $medseg, $(nproc) cores, $repeats runs each"
if [ -f "$hippocampus/dataset.json" ]; then
  prepare_work hippocampus "$hippocampus" 1 1 1
  for jt in "1 1" "1 2" "2 2"; do time_preprocess hippocampus "$hippocampus" 200 $jt; done
else
  echo "hippocampus: $hippocampus not found, skipped"
fi

synth_set synth-88x150x200 100 88 150 200
prepare_work synth-88x150x200 "$bench/synth-88x150x200" 3 0.8 0.8 --overwrite-target-spacing 3 0.8 0.8
for jt in "1 1" "1 2" "2 2"; do time_preprocess synth-88x150x200 "$bench/synth-88x150x200" 100 $jt; done
prepare_work synth-88x150x200-resampled "$bench/synth-88x150x200" 2 0.7 0.7 --overwrite-target-spacing 2 0.7 0.7
for jt in "1 1" "1 2" "2 2"; do
  time_preprocess synth-88x150x200-resampled "$bench/synth-88x150x200" 100 $jt
done

synth_set synth-200x256x256 10 200 256 256
prepare_work synth-200x256x256 "$bench/synth-200x256x256" 2 0.7 0.7 --overwrite-target-spacing 2 0.7 0.7
for jt in "1 1" "1 2" "2 2"; do time_preprocess synth-200x256x256 "$bench/synth-200x256x256" 10 $jt; done

{
  echo "["
  sed '$!s/$/,/' "$results"
  echo "]"
} > "$bench/results.json"
echo "results: $bench/results.json"
