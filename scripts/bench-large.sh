#!/usr/bin/env bash
# Large volumes, medseg against the reference nnU-Net v2 on this CPU, in one run (issue 27).
# For each scenario: a synthetic dataset at clinical size (medseg synth), planned by both tools
# (their 3d_fullres plans must agree, or the run stops), and a test image at another spacing
# than the plan's, so both tools resample it in and their predictions back out. Then, with
# random weights of the same plan, each scenario's test image is predicted by medseg in its
# default precision and in fp32 and by the reference (its allocator tuned, as
# ../shared/guide/cpu-performance.md measures it), alternating, --repeat times unmirrored and
# once mirrored; and a training iteration of the plan (batch as planned) is timed in both.
# Peak memory is each process's peak RSS. medseg runs through bench/predict_bench --mode case
# (the whole path of `medseg predict`, plus a step-by-step split) and `medseg train`.
#
# Usage: scripts/bench-large.sh [--work DIR] [--out FILE] [--scenarios aniso,iso]
#          [--mirrored aniso] [--train aniso] [--repeat N] [--train-iterations N] [--before DIR]
#   --scenarios  aniso: cases 96x192x192 at 2.5x0.8x0.8 mm (patch 96x128x160), test image
#                88x224x224 at 3.0x0.7x0.7 mm; iso: 160x256x256 at 1 mm (patch 96x160x160),
#                test image 160x256x256 at 0.9 mm; small: a quick check of the script.
#                Default aniso,iso.
#   --mirrored   scenarios also predicted with mirroring (8 passes a tile; default aniso).
#   --mirrored-precisions  medseg's precisions in the mirrored runs (default auto,fp32).
#   --train      scenarios whose training iteration is timed (default aniso).
#   --repeat     unmirrored predictions per tool (default 2; the median is reported).
#   --train-iterations  timed training iterations per tool (default 3, after a warm-up).
#   --before DIR a folder with an earlier build's medseg_predict_bench, measured in the same
#                run as "medseg before", unmirrored (the before/after of docs/performance.md).
# Writes WORK/bench-large.json (or --out), from this run's raw figures (WORK/raw/<UTC time>/), and
# prints a table. Takes about 30 minutes here.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$root/benchmark-work/large
out=""
scenarios=aniso,iso
mirrored=aniso
train=aniso
mirrored_precisions="auto fp32"
repeat=2
train_iterations=3
before=""
while [ $# -gt 0 ]; do
  case $1 in
    --work) work=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --mirrored) mirrored=$2; shift 2 ;;
    --train) train=$2; shift 2 ;;
    --mirrored-precisions) mirrored_precisions=${2//,/ }; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --train-iterations) train_iterations=$2; shift 2 ;;
    --before) before=$2; shift 2 ;;
    *) echo "bench-large: unknown option '$1'" >&2; exit 2 ;;
  esac
done
out=${out:-$work/bench-large.json}
mkdir -p "$work"
work=$(cd "$work" && pwd)
# This run's raw figures, apart from earlier runs' (which the summary must not pick up).
raw=$work/raw/$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$raw"

MEDSEG_BUILD_TARGETS="medseg medseg_predict_bench" bash "$root/scripts/build.sh" -DMEDSEG_BUILD_BENCHMARKS=ON
bash "$root/scripts/install-reference.sh"
build=${MEDSEG_BUILD_DIR:-$root/build}
medseg=$build/medseg
bench=$build/bench/medseg_predict_bench
python=$(ls -d "$root"/.deps/nnunetv2-*/bin/python | head -1)
reference=("$python" "$root/bench/reference_bench.py")
# The reference as measured in ../shared/guide: glibc's allocator thresholds raised.
tuned=(env MALLOC_MMAP_THRESHOLD_=17179869184 MALLOC_TRIM_THRESHOLD_=17179869184
       MALLOC_TOP_PAD_=1073741824)

scenario_args() {  # name -> "train shape | spacing | test shape | test spacing"
  case $1 in
    aniso) echo "96 192 192|2.5 0.8 0.8|88 224 224|3.0 0.7 0.7" ;;
    iso) echo "160 256 256|1 1 1|160 256 256|0.9 0.9 0.9" ;;
    small) echo "48 64 64|2 1 1|40 72 72|2.5 0.9 0.9" ;;  # a check of this script, in minutes
    *) echo "bench-large: unknown scenario '$1'" >&2; exit 2 ;;
  esac
}

log() { echo "bench-large: $*" >&2; }

for name in ${scenarios//,/ }; do
  IFS='|' read -r shape spacing test_shape test_spacing <<<"$(scenario_args "$name")"
  s=$work/$name
  if [ ! -f "$s/medseg/plans.json" ]; then
    log "$name: dataset, plans, preprocessing"
    rm -rf "$s"
    mkdir -p "$s"
    # shellcheck disable=SC2086
    "$medseg" --quiet synth "$s/dataset" --cases 4 --test-cases 0 --shape $shape --spacing $spacing --seed 1
    # shellcheck disable=SC2086
    "$medseg" --quiet synth "$s/test" --cases 1 --test-cases 1 --shape $test_shape --spacing $test_spacing --seed 2
    "$medseg" --quiet plan "$s/dataset" -o "$s/medseg"
    "$medseg" --quiet preprocess "$s/medseg" -c 3d_fullres
    "${reference[@]}" plan "$s/dataset" --work "$s/reference" --json "$s/reference-plan.json" >/dev/null
  fi
  python3 - "$s/medseg/plans.json" "$s/reference-plan.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["configurations"]["3d_fullres"]
theirs = json.load(open(sys.argv[2]))["3d_fullres"]
a = ours["architecture"]
pairs = {"patch_size": (ours["patch_size"], theirs["patch_size"]),
         "batch_size": (ours["batch_size"], theirs["batch_size"]),
         "features_per_stage": (a["features_per_stage"], theirs["features_per_stage"]),
         "kernel_sizes": (a["kernel_sizes"], theirs["kernel_sizes"]),
         "strides": (a["strides"], theirs["strides"])}
bad = {k: v for k, v in pairs.items() if json.dumps(v[0]) != json.dumps(v[1])}
if bad:
    sys.exit(f"bench-large: the two plans differ: {bad}")
PY
  image=$(ls "$s"/test/imagesTs/*_0000.nii.gz | head -1)
  case_args=(--mode case --plans "$s/medseg/plans.json" --dataset "$s/medseg/dataset.json" --image "$image"
             --iterations 1)
  modes=(0)
  [[ ",$mirrored," == *",$name,"* ]] && modes=(0 1)
  for mirror in "${modes[@]}"; do
    rounds=$repeat
    [ "$mirror" = 1 ] && rounds=1
    flag=--no-mirroring
    [ "$mirror" = 1 ] && flag=--mirroring
    for round in $(seq 1 "$rounds"); do
      precisions="auto fp32"
      [ "$mirror" = 1 ] && precisions=$mirrored_precisions
      for precision in $precisions; do
        log "$name, mirroring $mirror, round $round: medseg $precision"
        "$bench" "${case_args[@]}" --mirroring "$mirror" --precision "$precision" \
          --json "$raw/$name-m$mirror-medseg-$precision-$round.json" >/dev/null
        if [ -n "$before" ] && [ "$mirror" = 0 ]; then
          log "$name, mirroring $mirror, round $round: medseg before, $precision"
          "$before/medseg_predict_bench" "${case_args[@]}" --mirroring "$mirror" --precision "$precision" \
            --json "$raw/$name-m$mirror-before-$precision-$round.json" >/dev/null
        fi
      done
      log "$name, mirroring $mirror, round $round: reference"
      "${tuned[@]}" "${reference[@]}" predict --work "$s/reference" --images "$(dirname "$image")" \
        --out "$s/reference-prediction" "$flag" --repeat 1 --threads 2 \
        --json "$raw/$name-m$mirror-reference-fp32-$round.json" >/dev/null
    done
  done
  [[ ",$train," == *",$name,"* ]] || continue
  log "$name: training iterations"
  rm -rf "$s/medseg/models"
  "$medseg" --quiet --threads 2 train "$s/medseg" -c 3d_fullres -f all --epochs 2 \
    --iterations-per-epoch "$train_iterations" --val-iterations 1 --no-final-validation
  cp "$s/medseg/models/3d_fullres/fold_all/training_log.jsonl" "$raw/$name-train-medseg.json"
  "${tuned[@]}" "${reference[@]}" train-step --work "$s/reference" --iterations "$train_iterations" --threads 2 \
    --json "$raw/$name-train-reference.json" >/dev/null
done

python3 - "$raw" "$out" "$train_iterations" <<'PY'
import glob, json, os, statistics, sys
raw, out, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
results = {"benchmark": "scripts/bench-large.sh: large volumes, medseg against nnU-Net v2, CPU, 2 threads",
           "machine": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"),
           "cores": os.cpu_count(), "prediction": {}, "training": {}}
def case_figures(doc, tool):
    if tool == "reference":
        run = doc["runs"][0]
        return {"seconds": run["wall_s"], "sliding_window_seconds": run["sliding_window_s"],
                "peak_rss_mb": doc["peak_rss_kib"]["max"] / 1024, "tiles": run["windows"],
                "input_shape": run["input_shape"], "preprocessed_shape": run["preprocessed_shape"]}
    return {"seconds": doc["seconds_per_case_median"], "sliding_window_seconds": doc["sliding_window_seconds"],
            "peak_rss_mb": doc["peak_rss_mb"], "tiles": doc["tiles"], "precision": doc["precision"],
            "input_shape": doc["input_shape"], "preprocessed_shape": doc["preprocessed_shape"],
            "steps_seconds": doc.get("steps_seconds")}
for path in sorted(glob.glob(os.path.join(raw, "*-m[01]-*.json"))):
    name, mirror, tool, precision, _ = os.path.basename(path)[:-5].split("-")
    key = f"{name}/{'mirrored' if mirror == 'm1' else 'unmirrored'}"
    entry = results["prediction"].setdefault(key, {}).setdefault(f"{tool}/{precision}", {"runs": []})
    entry["runs"].append(case_figures(json.load(open(path)), tool))
for key, tools in results["prediction"].items():
    for t in tools.values():
        t["median_seconds"] = statistics.median(r["seconds"] for r in t["runs"])
        t["peak_rss_mb"] = max(r["peak_rss_mb"] for r in t["runs"])
    ref = tools.get("reference/fp32")
    if ref:
        for label, t in tools.items():
            if label != "reference/fp32":
                t["speedup_over_reference"] = round(ref["median_seconds"] / t["median_seconds"], 2)
                t["peak_rss_fraction_of_reference"] = round(t["peak_rss_mb"] / ref["peak_rss_mb"], 2)
for path in sorted(glob.glob(os.path.join(raw, "*-train-*.json"))):
    name, _, tool = os.path.basename(path)[:-5].split("-")
    if tool == "medseg":  # training_log.json: one JSON object an epoch, a line each
        last = [json.loads(line) for line in open(path) if line.strip()][-1]
        seconds = last["train_seconds"] / iterations
        results["training"].setdefault(name, {})["medseg"] = {
            "seconds_per_iteration": seconds, "loader_wait_seconds_per_iteration": last["loader_wait_seconds"] / iterations,
            "note": "second epoch of 2 (the first warms up), train_seconds / iterations"}
    else:
        doc = json.load(open(path))
        results["training"].setdefault(name, {})["reference"] = {
            "seconds_per_iteration": doc["summary"]["iteration_s"]["median"], "precision": doc["precision"]}
for name, t in results["training"].items():
    if "medseg" in t and "reference" in t:
        t["speedup_over_reference"] = round(t["reference"]["seconds_per_iteration"] / t["medseg"]["seconds_per_iteration"], 2)
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(results, f, indent=2)
os.replace(tmp, out)
for key, tools in sorted(results["prediction"].items()):
    for label, t in sorted(tools.items()):
        print(f"{key:20s} {label:18s} {t['median_seconds']:8.1f} s  peak {t['peak_rss_mb']:7.0f} MB"
              + (f"  {t['speedup_over_reference']}x the reference, {t['peak_rss_fraction_of_reference']} of its memory"
                 if "speedup_over_reference" in t else ""))
for name, t in sorted(results["training"].items()):
    print(f"{name:20s} training iteration: " + ", ".join(f"{k} {v['seconds_per_iteration']:.1f} s" for k, v in t.items() if isinstance(v, dict))
          + (f"  ({t['speedup_over_reference']}x)" if "speedup_over_reference" in t else ""))
print("wrote", out)
PY
