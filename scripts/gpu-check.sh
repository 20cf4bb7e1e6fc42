#!/usr/bin/env bash
# Everything a GPU visit needs, in one call: build, the "gpu" and unit tests, the GPU's own
# ceilings (a bf16 matrix product and bf16 3D convolutions through the machine's PyTorch), a
# training benchmark (iterations/s, loader wait, fraction of the second epoch's training time
# the GPU is busy, TFLOP/s of the convolutions, peak GPU memory) on a Hippocampus-sized
# 3d_fullres plan and on a 128x128x128 batch-2 plan, prediction on each trained model and on a
# 256x256x200 volume, and Dataset004_Hippocampus fold 0 trained for what the deadline leaves,
# with its validation Dice and HD95 per class. One JSON of results: <out>/gpu-check.json.
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
#   --iterations N    training iterations per epoch of the Hippocampus-sized benchmark, 2 epochs
#                     (default 250, the reference's epoch; the first epoch is warm-up, the
#                     figures are the second's); the 128^3 benchmark runs N/5
#   --benchmarks L    comma-separated, in this order (default hippocampus,large,clinical,real;
#                     "none" for none): hippocampus, large (128^3 batch 2), clinical (one
#                     256x256x200 volume predicted with large's model), real (Dataset004_Hippocampus
#                     fold 0, sized from hippocampus's epoch time unless --real-epochs)
#   --data DIR        Dataset004_Hippocampus for "real" (default .device/data/Dataset004_Hippocampus,
#                     else ../shared/data/Dataset004_Hippocampus; absent: "real" is skipped, said so)
#   --deadline S      seconds after the start by which everything should be done (default 0: no
#                     limit): "real" trains the epochs that fit before it, less 60 s for its final
#                     validation; a benchmark that cannot start in time is skipped, said so
#   --clinical-shape Z,Y,X  the volume "clinical" predicts (default 200,256,256)
#   --real-epochs N   "real" trains N epochs instead
#   --real-iterations N  its training iterations per epoch (default 250; 50 validation iterations)
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
iterations=250
skip_build=0
data=""
deadline=0
real_epochs=0
real_iterations=250
clinical_shape=200,256,256
skip_tests=0
unit_label=unit
benchmarks=hippocampus,large,clinical,real
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --benchmarks) benchmarks=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --deadline) deadline=$2; shift 2 ;;
    --real-epochs) real_epochs=$2; shift 2 ;;
    --clinical-shape) clinical_shape=$2; shift 2 ;;
    --real-iterations) real_iterations=$2; shift 2 ;;
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
    -h | --help) sed -n '2,48p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$device" in cuda | cuda:* | cpu) ;; *) echo "gpu-check: --device must be cuda or cpu" >&2; exit 2 ;; esac
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "gpu-check: $1 must be a positive integer" >&2; exit 2; }; }
positive --iterations "$iterations"
positive --real-iterations "$real_iterations"
[[ "$deadline" =~ ^[0-9]+$ ]] || { echo "gpu-check: --deadline must be a number of seconds" >&2; exit 2; }
[[ "$clinical_shape" =~ ^[1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*$ ]] || { echo "gpu-check: --clinical-shape must be Z,Y,X" >&2; exit 2; }
[[ "$real_epochs" =~ ^[0-9]+$ ]] || { echo "gpu-check: --real-epochs must be a number of epochs (0: sized from the deadline)" >&2; exit 2; }
for b in ${benchmarks//,/ }; do
  case "$b" in hippocampus | large | clinical | real | none) ;; *) echo "gpu-check: unknown benchmark '$b' (hippocampus, large, clinical, real, none)" >&2; exit 2 ;; esac
done
if [ -z "$data" ]; then
  for d in "$root/.device/data/Dataset004_Hippocampus" "$root/../shared/data/Dataset004_Hippocampus"; do
    [ -f "$d/dataset.json" ] && { data=$d; break; }
  done
fi
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
  # libtorch's CMake config with CUDA needs nvcc; the toolkit's folder may not be on PATH.
  if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
  fi
  rc=0
  # Debian's ITK config looks up every external library of every ITK module (GDCM, DCMTK, HDF5,
  # MINC) when it loads, although medseg links none of them. The GPU machine has ITK unpacked
  # from .device/ (ITK_DIR under /opt/medseg-deps, by .device/setup.sh) and none of those: there
  # each lookup is answered by a stub that says "found" and defines nothing.
  stub_args=()
  if [[ "${ITK_DIR:-}" == /opt/medseg-deps/* ]]; then
    stubs="$build/itk-external-stubs"
    mkdir -p "$stubs/lib/cmake/dcmtk"
    for pkg in GDCM HDF5 LIBMINC; do
      printf '# gpu-check.sh: ITK module lookup stub (medseg links no %s)\nset(%s_FOUND TRUE)\n' \
        "$pkg" "$pkg" > "$stubs/Find$pkg.cmake"
    done
    printf '# gpu-check.sh: ITK module lookup stub (medseg links no DCMTK)\nset(DCMTK_FOUND TRUE)\n' \
      > "$stubs/lib/cmake/dcmtk/DCMTKConfig.cmake"
    stub_args=(-DCMAKE_MODULE_PATH="$stubs" -DCMAKE_PREFIX_PATH="$stubs")
  fi
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DMEDSEG_BUILD_TESTS=ON \
      "${stub_args[@]}" > "$out/logs/configure.log" 2>&1 || rc=$?
  fi
  [ $rc = 0 ] && { cmake --build "$build" -j"$threads" > "$out/logs/build.log" 2>&1 || rc=$?; }
  [ -f "$out/logs/build.log" ] || cp "$out/logs/configure.log" "$out/logs/build.log" 2>/dev/null
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
  # Two torch threads per test process: -j<cores> processes share the cores.
  OMP_NUM_THREADS=2 ctest --test-dir "$build" -L "$label" -j"$threads" --timeout 600 --output-on-failure \
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

# --- the GPU's ceilings -----------------------------------------------------------------------
# What the machine's own PyTorch reaches: a bf16 matrix product on random data (8192^3) and bf16
# 3D convolutions of the shapes the planned networks run (cuDNN benchmark mode), medians of
# CUDA-event timings after warm-up. The training's TFLOP/s are read against these.
if [ "$device" != cpu ] && [ -x "$medseg" ]; then
  log "ceilings: bf16 matrix product and 3D convolutions"
  python3 - > "$out/parts/ceilings.json" 2> "$out/logs/ceilings.log" <<'PY' || { log "ceilings failed (logs/ceilings.log)"; failed=1; }
import json, statistics, torch
torch.backends.cudnn.benchmark = True
def median_ms(fn, reps=20, warm=5):
    for _ in range(warm): fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)
out = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "ok": True}
n = 8192
x = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
y = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
ms = median_ms(lambda: x @ y)
out["matmul_bf16_tflops"] = round(2 * n ** 3 / ms / 1e9, 1)
convs = {}
for name, (batch, c, size) in {"c32_128cube_b2": (2, 32, 128), "c64_64cube_b2": (2, 64, 64),
                               "c32_40x56x40_b7": (7, 32, (40, 56, 40)),
                               "c128_10x14x10_b7": (7, 128, (10, 14, 10))}.items():
    shape = (size,) * 3 if isinstance(size, int) else size
    inp = torch.randn(batch, c, *shape, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    conv = torch.nn.Conv3d(c, c, 3, padding=1).cuda().to(torch.bfloat16)
    voxels = batch * shape[0] * shape[1] * shape[2]
    flops = 2 * voxels * c * c * 27
    fwd = median_ms(lambda: conv(inp))
    def step():
        conv(inp).sum().backward()
    train = median_ms(step)
    convs[name] = {"forward_tflops": round(flops / fwd / 1e9, 1),
                   "forward_backward_tflops": round(3 * flops / train / 1e9, 1)}
out["conv3d_bf16"] = convs
print(json.dumps(out))
PY
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
# Seconds left before the deadline (a large number without one).
seconds_left() { [ "$deadline" -gt 0 ] && echo $((deadline - (SECONDS - started))) || echo 1000000; }
# skipped NAME WHY: a benchmark not run, said in the result (not a failure).
skipped() { log "benchmark $1 skipped: $2"; part "bench_$1" "{\"ok\": true, \"skipped\": \"$2\"}"; }
# elapsed SINCE: seconds since a `date +%s.%N` reading, 3 decimals.
elapsed() { python3 -c "import time; print(round(time.time() - $1, 3))"; }

# summarize NAME KIND ...: one part from a run's files (the Python below).
summarize() { python3 "$work/summarize.py" "$@" > "$out/parts/bench_$1.json"; }
cat > "$work/summarize.py" <<'PY'
import datetime, glob, json, os, sys

def gpu_samples(path, windows=None):
    """nvidia-smi samples: mean utilisation (the fraction of time a kernel ran), peak memory;
    within [start, end] unix-time windows when given."""
    rows = []
    try:
        for line in open(path):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 3:
                continue
            try:
                t = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
                rows.append((t, float(parts[1]), float(parts[2])))
            except ValueError:
                pass
    except OSError:
        return None
    if windows:
        rows = [r for r in rows if any(a <= r[0] <= b for a, b in windows)]
    if not rows:
        return None
    return {"samples": len(rows), "busy_fraction": round(sum(r[1] for r in rows) / len(rows) / 100, 3),
            "peak_memory_mib": max(r[2] for r in rows)}

def plan_of(run):
    c = json.load(open(os.path.join(run, "plans.json")))["configurations"]["3d_fullres"]
    a = c.get("architecture", {})
    return {"patch_size": c.get("patch_size"), "batch_size": c.get("batch_size"),
            "spacing": c.get("spacing"), "stages": a.get("n_stages"),
            "features_per_stage": a.get("features_per_stage")}

def train_part(run, logs, name, rc, iters):
    logf = os.path.join(run, "models", "3d_fullres", "fold_0", "training_log.jsonl")
    if rc != "0" or not os.path.exists(logf):
        return {"ok": False, "log_tail": open(os.path.join(logs, name + "-train.log")).read()[-2000:]}
    epochs = [json.loads(l) for l in open(logf) if l.strip()]
    last = epochs[-1]
    t, e, end = last.get("train_seconds"), last.get("epoch_seconds"), last.get("end_time")
    window = [(end - e, end - e + t)] if t and e and end else None
    csv = os.path.join(logs, name + "-train-gpu.csv")
    part = {"ok": True, "epochs": len(epochs), "iterations_per_epoch": iters,
            "seconds_per_iteration": round(t / iters, 4) if t else None,
            "iterations_per_second": round(iters / t, 3) if t else None,
            "loader_wait_seconds": last.get("loader_wait_seconds"),
            "train_seconds": t, "epoch_seconds": e, "first_epoch_seconds": epochs[0].get("epoch_seconds"),
            "train_tflops": last.get("train_tflops"),
            "train_loss": last.get("train_loss"), "pseudo_dice": last.get("pseudo_dice"),
            "gpu_last_epoch_training": gpu_samples(csv, window), "gpu_whole_command": gpu_samples(csv)}
    if part["gpu_whole_command"] is None:
        part["gpu_note"] = "no nvidia-smi samples (CPU run or no GPU tools)"
    return part

def predict_part(logs, name, rc, cases, mirrored, plain):
    part = {"ok": rc == "0", "cases": cases,
            "mirrored_seconds_per_case": round(float(mirrored) / max(cases, 1), 3),
            "unmirrored_seconds_per_case": round(float(plain) / max(cases, 1), 3),
            "note": "whole command over all cases / cases: start-up, reading, preprocessing, export included",
            "gpu": gpu_samples(os.path.join(logs, name + "-predict-gpu.csv"))}
    if rc != "0":
        part["log_tail"] = open(os.path.join(logs, name + "-predict.log")).read()[-2000:]
    return part

name, kind = sys.argv[1], sys.argv[2]
if kind == "bench":  # NAME bench DIR LOGS RC ITERS PRC MIRRORED PLAIN TRAIN_WALL
    d, logs, rc, iters, prc, mirrored, plain, wall = sys.argv[3:]
    run = os.path.join(d, "run")
    result = {"plan": plan_of(run), "train_wall_seconds": int(wall),
              "train": train_part(run, logs, name, rc, int(iters))}
    if rc == "0":
        cases = len(glob.glob(os.path.join(d, "ds", "imagesTs", "*_0000.nii.gz")))
        result["predict"] = predict_part(logs, name, prc, cases, mirrored, plain)
    result["ok"] = result["train"]["ok"] and result.get("predict", {}).get("ok", False)
elif kind == "predict":  # NAME predict DIR LOGS RC MIRRORED PLAIN SHAPE
    d, logs, prc, mirrored, plain, shape = sys.argv[3:]
    cases = len(glob.glob(os.path.join(d, "ds", "imagesTs", "*_0000.nii.gz")))
    result = {"shape": [int(x) for x in shape.split(",")],
              "predict": predict_part(logs, name, prc, cases, mirrored, plain)}
    result["ok"] = result["predict"]["ok"]
else:  # NAME real RUN LOGS RC ITERS EPOCHS BUDGET_NOTE
    run, logs, rc, iters, epochs, note = sys.argv[3:]
    result = {"plan": plan_of(run), "budget": note,
              "train": train_part(run, logs, name, rc, int(iters))}
    summary = os.path.join(run, "models", "3d_fullres", "fold_0", "validation", "summary.json")
    if os.path.exists(summary):  # also when the command failed after writing it
        s = json.load(open(summary))
        keep = ("Dice", "HD95", "NSD", "IoU")
        pick = lambda m: {k: m[k] for k in keep if k in m}
        result["validation"] = {"cases": len(s.get("metric_per_case", [])),
                                "mean": {c: pick(m) for c, m in s.get("mean", {}).items()},
                                "foreground_mean": pick(s.get("foreground_mean", {}))}
    result["ok"] = result["train"]["ok"] and "validation" in result
print(json.dumps(result))
PY

# prepare NAME SYNTH_ARGS...: synth -> plan -> preprocess into $work/NAME.
prepare() {
  local name=$1 dir="$work/$1" step=""
  shift
  mkdir -p "$dir"
  {
    step=synth && "$medseg" --quiet synth "$dir/ds" "$@" &&
      step=plan && "$medseg" --threads "$threads" plan "$dir/ds" -o "$dir/run" &&
      step=preprocess && "$medseg" --threads "$threads" preprocess "$dir/run" -c 3d_fullres --dataset "$dir/ds"
  } > "$out/logs/$name-prepare.log" 2>&1 && return 0
  failed=1
  part "bench_$name" "{\"ok\": false, \"failed_step\": \"$step\", \"log_tail\": $(tail_json "$out/logs/$name-prepare.log")}"
  return 1
}

# predict_timed NAME MODEL INPUT: the command's wall time over INPUT, mirrored then not;
# sets predict_rc, predict_seconds, predict_plain_seconds.
predict_timed() {
  local name=$1 model=$2 input=$3 t0
  predict_rc=0
  log "benchmark $name: predict $(ls "$input" | wc -l) case(s) on $device (mirrored, then not)"
  start_sampler "$out/logs/$name-predict-gpu.csv"
  t0=$(date +%s.%N)
  "$medseg" --threads "$threads" predict -i "$input" -o "$work/$name/pred" -m "$model" -f 0 \
    --checkpoint final --device "$device" > "$out/logs/$name-predict.log" 2>&1 || predict_rc=$?
  predict_seconds=$(elapsed "$t0")
  stop_sampler
  t0=$(date +%s.%N)
  "$medseg" --threads "$threads" predict -i "$input" -o "$work/$name/pred-plain" --no-mirroring \
    -m "$model" -f 0 --checkpoint final --device "$device" >> "$out/logs/$name-predict.log" 2>&1 ||
    predict_rc=$?
  predict_plain_seconds=$(elapsed "$t0")
}

# bench NAME ITERATIONS SYNTH_ARGS...: prepare, train 2 epochs, predict the test cases.
bench() {
  local name=$1 iters=$2 dir="$work/$1" rc=0
  shift 2
  log "benchmark $name: synth $*"
  prepare "$name" "$@" || return
  log "benchmark $name: train 2 x $iters iterations on $device"
  start_sampler "$out/logs/$name-train-gpu.csv"
  local t0=$SECONDS
  "$medseg" --threads "$threads" train "$dir/run" -c 3d_fullres -f 0 --device "$device" --epochs 2 \
    --iterations-per-epoch "$iters" --val-iterations 2 --no-final-validation \
    > "$out/logs/$name-train.log" 2>&1 || rc=$?
  local wall=$((SECONDS - t0))
  stop_sampler
  predict_rc=1 predict_seconds=0 predict_plain_seconds=0
  [ $rc = 0 ] && predict_timed "$name" "$dir/run/models/3d_fullres" "$dir/ds/imagesTs"
  [ $rc = 0 ] && [ $predict_rc = 0 ] || failed=1
  summarize "$name" bench "$dir" "$out/logs" "$rc" "$iters" "$predict_rc" "$predict_seconds" \
    "$predict_plain_seconds" "$wall"
}

# One 256x256x200 volume (a clinical CT's size; --clinical-shape) predicted with the 128^3 model.
bench_clinical() {
  local model="$work/large/run/models/3d_fullres/fold_0/checkpoint_final.pt"
  [ -f "$model" ] || { skipped clinical "needs the large benchmark's trained model"; return; }
  log "benchmark clinical: one ${clinical_shape//,/x} volume"
  mkdir -p "$work/clinical"
  if ! "$medseg" --quiet synth "$work/clinical/ds" --cases 1 --test-cases 1 --shape ${clinical_shape//,/ } \
    --spacing 1 1 1 > "$out/logs/clinical-prepare.log" 2>&1; then
    failed=1
    part bench_clinical "{\"ok\": false, \"failed_step\": \"synth\", \"log_tail\": $(tail_json "$out/logs/clinical-prepare.log")}"
    return
  fi
  predict_timed clinical "$work/large/run/models/3d_fullres" "$work/clinical/ds/imagesTs"
  [ $predict_rc = 0 ] || failed=1
  summarize clinical predict "$work/clinical" "$out/logs" "$predict_rc" "$predict_seconds" \
    "$predict_plain_seconds" "$clinical_shape"
}

# Dataset004_Hippocampus fold 0: as many reference epochs (250 iterations, 50 validation
# iterations) as fit before the deadline, then the final validation (Dice, HD95 per class).
bench_real() {
  [ -n "$data" ] || { skipped real "Dataset004_Hippocampus not found (--data)"; return; }
  local run="$work/real/run" rc=0 epochs=$real_epochs note
  mkdir -p "$work/real"
  log "benchmark real: plan and preprocess $data"
  if ! { "$medseg" --threads "$threads" plan "$data" -o "$run" &&
    "$medseg" --threads "$threads" preprocess "$run" -c 3d_fullres --dataset "$data"; } \
    > "$out/logs/real-prepare.log" 2>&1; then
    failed=1
    part bench_real "{\"ok\": false, \"failed_step\": \"plan/preprocess\", \"log_tail\": $(tail_json "$out/logs/real-prepare.log")}"
    return
  fi
  if [ "$epochs" = 0 ]; then
    # Seconds per epoch from the Hippocampus-sized benchmark's second epoch (the same plan):
    # its training time scaled to $real_iterations, validation iterations at half a training
    # iteration each, 2 s of checkpointing.
    local left per_epoch
    left=$(($(seconds_left) - 60))
    per_epoch=$(python3 -c "
import json, sys
t = json.load(open('$out/parts/bench_hippocampus.json'))['train']
s = t['seconds_per_iteration']
print(round(s * $real_iterations + 0.5 * s * 50 + 2, 2))" 2>/dev/null) ||
      { skipped real "no epoch time from the hippocampus benchmark to size it"; return; }
    epochs=$(python3 -c "print(max(0, int($left / $per_epoch)))")
    note="$epochs epochs of $real_iterations iterations: what fitted in the $left s left before the deadline at ~$per_epoch s per epoch"
    [ "$deadline" = 0 ] && { epochs=1000; note="1000 epochs (no deadline)"; }
    [ "$epochs" -ge 1 ] || { skipped real "no epoch fits in the $left s left (~$per_epoch s each)"; return; }
  else
    note="$epochs epochs of $real_iterations iterations (--real-epochs)"
  fi
  log "benchmark real: train fold 0, $note"
  start_sampler "$out/logs/real-train-gpu.csv"
  "$medseg" --threads "$threads" train "$run" -c 3d_fullres -f 0 --device "$device" \
    --epochs "$epochs" --iterations-per-epoch "$real_iterations" --dataset "$data" \
    > "$out/logs/real-train.log" 2>&1 || rc=$?
  stop_sampler
  [ $rc = 0 ] || failed=1
  local fold="$run/models/3d_fullres/fold_0"
  cp "$fold/training_log.jsonl" "$out/logs/real-training_log.jsonl" 2>/dev/null
  cp "$fold/validation/summary.json" "$out/logs/real-validation-summary.json" 2>/dev/null
  summarize real real "$run" "$out/logs" "$rc" "$real_iterations" "$epochs" "$note"
}

if [ -x "$medseg" ]; then
  for b in ${benchmarks//,/ }; do
    if [ "$(seconds_left)" -le 30 ] && [ "$b" != none ]; then
      skipped "$b" "the deadline (${deadline} s) had passed"
      continue
    fi
    case "$b" in
      # Hippocampus-sized: 200 cases whose median after cropping is 36x50x35 voxels at 1 mm, as
      # Dataset004_Hippocampus's -> the reference's own plan: patch 40x56x40, batch 7.
      hippocampus) bench hippocampus "$iterations" --cases 200 --test-cases 20 --shape 38 58 40 --spacing 1 1 1 ;;
      # Large isotropic volumes -> patch 128x128x128, batch 2 (5 cases: the 5-fold split's least).
      large) bench large "$(( iterations / 5 > 0 ? iterations / 5 : 1 ))" --cases 5 --test-cases 1 --shape 160 160 160 --spacing 1 1 1 ;;
      clinical) bench_clinical ;;
      real) bench_real ;;
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
print(json.dumps(result, separators=(",", ":")))
print(json.dumps({k: v["ok"] for k, v in result.items() if isinstance(v, dict) and "ok" in v}))
PY
log "done in $((SECONDS - started)) s: $out/gpu-check.json"
exit "$failed"
