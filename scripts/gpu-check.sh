#!/usr/bin/env bash
# Everything a GPU visit needs, in one call: build, the "gpu" and unit tests, a training
# benchmark (iterations/s, loader wait, fraction of wall time the GPU is busy, peak GPU memory)
# on a Hippocampus-sized 3d_fullres plan and on a 128x128x128 batch-2 plan, a prediction
# benchmark on each trained model, and one JSON of results: <out>/gpu-check.json.
#
# On the GPU machine (device tool; ../shared/guide/gpu.md), with .device/ carried along:
#   bash scripts/gpu-check.sh --pack                               # here, first: fills .device/
#   source .device/setup.sh && bash scripts/gpu-check.sh          # there: results under $OUT
# Rehearsal on a CPU machine (every step but the GPU's own; nothing left to debug there):
#   MEDSEG_TORCH=2 bash scripts/install-deps.sh
#   bash scripts/gpu-check.sh --device cpu --build-dir build-torch2 --iterations 3 --out /tmp/gc
#
# Options:
#   --device D        cuda (default) or cpu
#   --build-dir DIR   build folder (default build-cuda); configured and built when needed
#   --out DIR         where results and logs go (default $OUT, else ./gpu-check-out)
#   --iterations N    training iterations per epoch, 2 epochs (default 40; the first epoch is
#                     warm-up, the figures are the second's)
#   --benchmarks L    which training/prediction benchmarks, comma-separated (default
#                     hippocampus,large; "none" for none)
#   --skip-build      use the binaries already in the build folder
#   --skip-tests      no ctest runs
#   --unit-tests L    the ctest label run besides "gpu" (default unit; "none" for none)
#   --pack            only prepare .device/ here (../shared/tools/device-pack.sh: ITK,
#                     nlohmann_json, CLI11, spdlog, fmt, GoogleTest; plus Gloo's headers, which
#                     data-parallel training on the CPU compiles against) and exit
# Exit status: 0 when every step passed, 1 otherwise (the JSON says which step failed and why;
# a failed step does not stop the later ones that do not depend on it).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

device=cuda
build=""
out=${OUT:-$PWD/gpu-check-out}
iterations=40
skip_build=0
skip_tests=0
unit_label=unit
benchmarks=hippocampus,large
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --benchmarks) benchmarks=$2; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --skip-tests) skip_tests=1; shift ;;
    --unit-tests) unit_label=$2; shift 2 ;;
    --pack)
      pack=$root/../shared/tools/device-pack.sh
      [ -f "$pack" ] || { echo "gpu-check: $pack not found" >&2; exit 1; }
      (cd "$root" && bash "$pack") || exit 1
      (cd "$root/.device/debs" && apt-get download libgloo-dev) || exit 1
      du -sh "$root/.device"
      exit 0 ;;
    -h | --help) sed -n '2,32p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$device" in cuda | cuda:* | cpu) ;; *) echo "gpu-check: --device must be cuda or cpu" >&2; exit 2 ;; esac
[[ "$iterations" =~ ^[1-9][0-9]*$ ]] || { echo "gpu-check: --iterations must be a positive integer" >&2; exit 2; }
for b in ${benchmarks//,/ }; do
  case "$b" in hippocampus | large | none) ;; *) echo "gpu-check: unknown benchmark '$b' (hippocampus, large, none)" >&2; exit 2 ;; esac
done
build=$(realpath -m "${build:-$root/build-cuda}")
out=$(realpath -m "$out")
mkdir -p "$out/parts" "$out/logs"
work=$(mktemp -d "${TMPDIR:-/tmp}/medseg-gpu-check.XXXXXX")
trap 'rm -rf "$work"; [ -n "${sampler_pid:-}" ] && kill "$sampler_pid" 2>/dev/null' EXIT
threads=$(nproc)
medseg="$build/medseg"
failed=0
started=$SECONDS

log() { echo "[gpu-check $(date +%H:%M:%S)] $*"; }
# part NAME JSON: one piece of the result file.
part() { printf '%s\n' "$2" > "$out/parts/$1.json"; }
# The last lines of a log, as a JSON string.
tail_json() { tail -n "${2:-15}" "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }
has_gpu_tools() { [ "$device" != cpu ] && command -v nvidia-smi >/dev/null 2>&1; }

# --- machine -------------------------------------------------------------------------------
gpu_name=null
if has_gpu_tools; then
  gpu_name=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null |
    head -n 1 | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')
fi
part machine "{\"device\": \"$device\", \"gpu\": $gpu_name, \"cpu_cores\": $threads,
  \"cpu\": $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'),
  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"iterations_per_epoch\": $iterations}"

# --- build ---------------------------------------------------------------------------------
if [ "$skip_build" = 0 ]; then
  log "building into $build"
  t0=$SECONDS
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  rc=0
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DMEDSEG_BUILD_TESTS=ON \
      > "$out/logs/configure.log" 2>&1 || rc=$?
  fi
  [ $rc = 0 ] && { cmake --build "$build" -j"$threads" > "$out/logs/build.log" 2>&1 || rc=$?; }
  part build "{\"ok\": $([ $rc = 0 ] && echo true || echo false), \"seconds\": $((SECONDS - t0)),
    \"log_tail\": $(tail_json "$out/logs/build.log" 25)}"
  if [ $rc != 0 ]; then
    log "build failed (logs/build.log)"; failed=1
  fi
fi
if [ ! -x "$medseg" ]; then
  log "no medseg binary in $build: nothing else can run"
  failed=1
else
  part version "{\"medseg\": $("$medseg" --version | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')}"
fi

# --- tests ---------------------------------------------------------------------------------
# run_tests NAME LABEL: ctest with a JUnit report; counts of passed, failed, skipped.
run_tests() {
  local name=$1 label=$2 rc=0 t0=$SECONDS
  log "ctest -L $label"
  ctest --test-dir "$build" -L "$label" -j"$threads" --timeout 600 --output-on-failure \
    --output-junit "$out/logs/$name.xml" > "$out/logs/$name.log" 2>&1 || rc=$?
  [ $rc = 0 ] || failed=1
  python3 - "$out/logs/$name.xml" "$rc" "$((SECONDS - t0))" > "$out/parts/tests_$name.json" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
path, rc, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
result = {"ok": rc == 0, "seconds": seconds, "passed": 0, "failed": [], "skipped": []}
try:
    for case in ET.parse(path).getroot().iter("testcase"):
        name, status = case.get("name"), case.get("status", "run")
        if case.find("failure") is not None or case.find("error") is not None or status == "fail":
            result["failed"].append(name)
        elif case.find("skipped") is not None or status in ("notrun", "disabled"):
            result["skipped"].append(name)
        else:
            result["passed"] += 1
except (OSError, ET.ParseError) as e:
    result["report_error"] = str(e)
print(json.dumps(result))
PY
}
if [ "$skip_tests" = 0 ] && [ -x "$medseg" ]; then
  run_tests gpu gpu
  [ "$unit_label" != none ] && run_tests "$unit_label" "$unit_label"
fi

# --- training and prediction benchmarks ----------------------------------------------------
# A sampler of GPU utilisation and memory (nvidia-smi, every 100 ms) around one command.
start_sampler() {
  sampler_pid=""
  has_gpu_tools || return 0
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits \
    -lms 100 > "$1" 2>/dev/null &
  sampler_pid=$!
}
stop_sampler() {
  [ -n "${sampler_pid:-}" ] && kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null
  sampler_pid=""
}

# bench NAME SYNTH_ARGS...: synth -> plan -> preprocess -> train 2 epochs -> predict, one part.
bench() {
  local name=$1
  shift
  local dir="$work/$name" rc=0 step=""
  mkdir -p "$dir"
  log "benchmark $name: synth $*"
  {
    step=synth && "$medseg" --quiet synth "$dir/ds" "$@" &&
      step=plan && "$medseg" --threads "$threads" plan "$dir/ds" -o "$dir/run" &&
      step=preprocess && "$medseg" --threads "$threads" preprocess "$dir/run" -c 3d_fullres --dataset "$dir/ds"
  } > "$out/logs/$name-prepare.log" 2>&1 || rc=$?
  if [ $rc != 0 ]; then
    failed=1
    part "bench_$name" "{\"ok\": false, \"failed_step\": \"$step\", \"log_tail\": $(tail_json "$out/logs/$name-prepare.log")}"
    return
  fi
  log "benchmark $name: train 2 x $iterations iterations on $device"
  start_sampler "$out/logs/$name-train-gpu.csv"
  local t0=$SECONDS
  "$medseg" --threads "$threads" train "$dir/run" -c 3d_fullres -f 0 --device "$device" --epochs 2 \
    --iterations-per-epoch "$iterations" --val-iterations 2 --no-final-validation \
    > "$out/logs/$name-train.log" 2>&1 || rc=$?
  local train_wall=$((SECONDS - t0))
  stop_sampler
  local predict_rc=0 predict_seconds=0 predict_plain_seconds=0
  if [ $rc = 0 ]; then
    log "benchmark $name: predict the test cases on $device (mirrored, then not)"
    start_sampler "$out/logs/$name-predict-gpu.csv"
    t0=$(date +%s.%N)
    "$medseg" --threads "$threads" predict -i "$dir/ds/imagesTs" -o "$dir/pred" \
      -m "$dir/run/models/3d_fullres" -f 0 --checkpoint final --device "$device" \
      > "$out/logs/$name-predict.log" 2>&1 || predict_rc=$?
    predict_seconds=$(python3 -c "import time; print(round(time.time() - $t0, 3))")
    stop_sampler
    t0=$(date +%s.%N)
    "$medseg" --threads "$threads" predict -i "$dir/ds/imagesTs" -o "$dir/pred-plain" --no-mirroring \
      -m "$dir/run/models/3d_fullres" -f 0 --checkpoint final --device "$device" \
      >> "$out/logs/$name-predict.log" 2>&1 || predict_rc=$?
    predict_plain_seconds=$(python3 -c "import time; print(round(time.time() - $t0, 3))")
  fi
  [ $rc = 0 ] && [ $predict_rc = 0 ] || failed=1
  python3 - "$dir" "$out/logs" "$name" "$rc" "$train_wall" "$predict_rc" "$predict_seconds" \
    "$predict_plain_seconds" "$iterations" > "$out/parts/bench_$name.json" <<'PY'
import glob, json, os, sys
d, logs, name, rc, train_wall, prc, pred_s, pred_plain_s, iters = sys.argv[1:]
result = {"ok": rc == "0" and prc == "0", "train_wall_seconds": int(train_wall)}
plans = json.load(open(os.path.join(d, "run", "plans.json")))
c = plans["configurations"]["3d_fullres"]
result["plan"] = {"patch_size": c.get("patch_size"), "batch_size": c.get("batch_size"),
                  "spacing": c.get("spacing"), "stages": c.get("architecture", {}).get("n_stages"),
                  "features_per_stage": c.get("architecture", {}).get("features_per_stage")}

def gpu_samples(path):
    rows = []
    try:
        for line in open(path):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 3:
                try: rows.append((float(parts[1]), float(parts[2])))
                except ValueError: pass
    except OSError:
        return None
    if not rows: return None
    return {"samples": len(rows), "mean_utilization_percent": round(sum(r[0] for r in rows) / len(rows), 1),
            "busy_fraction": round(sum(1 for r in rows if r[0] > 0) / len(rows), 3),
            "peak_memory_mib": max(r[1] for r in rows)}

logf = glob.glob(os.path.join(d, "run", "models", "3d_fullres", "fold_0", "training_log.jsonl"))
if rc == "0" and logf:
    epochs = [json.loads(l) for l in open(logf[0]) if l.strip()]
    last = epochs[-1]
    t = last.get("train_seconds")
    result["train"] = {
        "epochs": len(epochs), "iterations_per_epoch": int(iters),
        "seconds_per_iteration": round(t / int(iters), 4) if t else None,
        "iterations_per_second": round(int(iters) / t, 3) if t else None,
        "loader_wait_seconds": last.get("loader_wait_seconds"),
        "epoch_seconds": last.get("epoch_seconds"),
        "first_epoch_seconds": epochs[0].get("epoch_seconds"),
        "train_loss": last.get("train_loss"), "pseudo_dice": last.get("pseudo_dice"),
        "gpu": gpu_samples(os.path.join(logs, name + "-train-gpu.csv")),
    }
    if result["train"]["gpu"] is None:
        result["train"]["gpu_note"] = "no nvidia-smi samples (CPU run or no GPU tools)"
else:
    result["train_log_tail"] = open(os.path.join(logs, name + "-train.log")).read()[-2000:]
cases = len(glob.glob(os.path.join(d, "ds", "imagesTs", "*_0000.nii.gz")))
if rc == "0":
    result["predict"] = {"ok": prc == "0", "cases": cases,
                         "mirrored_seconds_per_case": round(float(pred_s) / max(cases, 1), 3),
                         "unmirrored_seconds_per_case": round(float(pred_plain_s) / max(cases, 1), 3),
                         "note": "whole command per case: start-up, reading, preprocessing, export included",
                         "gpu": gpu_samples(os.path.join(logs, name + "-predict-gpu.csv"))}
    if prc != "0":
        result["predict"]["log_tail"] = open(os.path.join(logs, name + "-predict.log")).read()[-2000:]
print(json.dumps(result))
PY
}

if [ -x "$medseg" ]; then
  for b in ${benchmarks//,/ }; do
    case "$b" in
      # Hippocampus-sized: 200 cases whose median after cropping is 36x50x35 voxels at 1 mm, as
      # Dataset004_Hippocampus's -> the reference's own plan: patch 40x56x40, batch 7.
      hippocampus) bench hippocampus --cases 200 --test-cases 2 --shape 38 58 40 --spacing 1 1 1 ;;
      # Large isotropic volumes -> patch 128x128x128, batch 2 (5 cases: the 5-fold split's least).
      large) bench large --cases 5 --test-cases 1 --shape 160 160 160 --spacing 1 1 1 ;;
    esac
  done
fi

# --- one JSON --------------------------------------------------------------------------------
python3 - "$out" "$failed" "$((SECONDS - started))" <<'PY'
import glob, json, os, sys
out, failed, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
result = {"ok": failed == "0", "seconds": seconds}
for path in sorted(glob.glob(os.path.join(out, "parts", "*.json"))):
    key = os.path.basename(path)[:-5]
    try:
        result[key] = json.load(open(path))
    except ValueError as e:
        result[key] = {"unreadable": str(e)}
tmp = os.path.join(out, "gpu-check.json.tmp")
with open(tmp, "w") as f:
    json.dump(result, f, indent=2)
os.replace(tmp, os.path.join(out, "gpu-check.json"))
print(json.dumps({k: v["ok"] for k, v in result.items() if isinstance(v, dict) and "ok" in v}))
PY
log "done in $((SECONDS - started)) s: $out/gpu-check.json"
exit "$failed"
