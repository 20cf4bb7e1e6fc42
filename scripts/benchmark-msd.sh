#!/usr/bin/env bash
# Benchmarks medseg on an MSD / nnU-Net v2 dataset folder, end to end, as a CI job: validate,
# plan, preprocess one configuration, train the requested folds (each ends with its final
# validation), predict imagesTs with those folds and score them against labelsTs when present.
# Writes ONE results JSON (cross-validation and test Dice / HD95 per class, per-stage wall time
# and peak RSS, device, versions, host, command line); the schema is in docs/benchmarking.md.
# Usage: scripts/benchmark-msd.sh <dataset_dir> [--configuration 3d_fullres] [--folds 0[,1,..]]
#          [--budget EPOCHS,ITERATIONS[,VAL_ITERATIONS]] [--device cpu|cuda|cuda:N] [--work DIR]
#          [--threads N] [--medseg PATH] [--output FILE]
# Defaults: 3d_fullres, fold 0, medseg's training length (1000 x 250), cpu, ./benchmark-work,
# $(nproc) threads, ${MEDSEG_BUILD_DIR:-<repo>/build}/medseg, <work>/results.json.
# Exit status: 0 done; 1 a stage failed (named, with its log WORK/logs/<stage>.log); 2 bad usage.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command_line=("$0" "$@")

usage() { sed -n '/^# Usage:/,/^# Exit status/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
usage_error() { echo "benchmark-msd: $* (see --help)" >&2; exit 2; }

dataset="" configuration=3d_fullres folds=0 budget="" device=cpu work="$PWD/benchmark-work"
threads=$(nproc) medseg="" output=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --configuration | --folds | --budget | --device | --work | --threads | --medseg | --output)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case $1 in
        --configuration) configuration=$2 ;;
        --folds) folds=$2 ;;
        --budget) budget=$2 ;;
        --device) device=$2 ;;
        --work) work=$2 ;;
        --threads) threads=$2 ;;
        --medseg) medseg=$2 ;;
        --output) output=$2 ;;
      esac
      shift 2 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) [ -z "$dataset" ] || usage_error "one dataset folder expected, got '$dataset' and '$1'"
       dataset=$1; shift ;;
  esac
done

[ -n "$dataset" ] || usage_error "the dataset folder is missing"
[[ $folds =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_error "--folds must be fold numbers separated by commas, e.g. 0,1,2, got '$folds'"
IFS=, read -r -a fold_list <<<"$folds"
[ "$(printf '%s\n' "${fold_list[@]}" | sort -u | wc -l)" -eq ${#fold_list[@]} ] || usage_error "--folds '$folds' repeats a fold"
budget_flags=()
if [ -n "$budget" ]; then
  [[ $budget =~ ^([1-9][0-9]*),([1-9][0-9]*)(,([1-9][0-9]*))?$ ]] ||
    usage_error "--budget must be EPOCHS,ITERATIONS[,VAL_ITERATIONS] (positive integers), got '$budget'"
  budget_flags=(--epochs "${BASH_REMATCH[1]}" --iterations-per-epoch "${BASH_REMATCH[2]}")
  [ -z "${BASH_REMATCH[4]}" ] || budget_flags+=(--val-iterations "${BASH_REMATCH[4]}")
fi
[[ $threads =~ ^[1-9][0-9]*$ ]] || usage_error "--threads must be a positive integer, got '$threads'"
[[ $device =~ ^(cpu|cuda|cuda:[0-9]+)$ ]] || usage_error "--device must be cpu, cuda or cuda:N, got '$device'"
[ -x /usr/bin/time ] || usage_error "/usr/bin/time (GNU time) is missing: run scripts/install-deps.sh"
command -v python3 >/dev/null || usage_error "python3 is missing: run scripts/install-deps.sh"

dataset=$(realpath -m "$dataset")
work=$(realpath -m "$work")
output=$(realpath -m "${output:-$work/results.json}")
[ ! -e "$work" ] || [ -d "$work" ] || usage_error "--work $work is not a folder"
if [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
  usage_error "the work folder $work is not empty: remove it or pass another --work"
fi
if [ -z "$medseg" ]; then
  medseg="${MEDSEG_BUILD_DIR:-$root/build}/medseg"
  if [ ! -x "$medseg" ]; then
    echo "benchmark-msd: $medseg is missing; building it with scripts/build.sh"
    bash "$root/scripts/build.sh" || { echo "benchmark-msd: stage 'build' failed" >&2; exit 1; }
  fi
fi
[ -x "$medseg" ] || usage_error "--medseg $medseg is not an executable file"
medseg=$(realpath "$medseg")
version=$("$medseg" --version) || { echo "benchmark-msd: '$medseg --version' failed" >&2; exit 1; }

logs="$work/logs"
mkdir -p "$logs"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stages=()

# run_stage NAME CMD...: runs CMD under GNU time, output to logs/NAME.log, wall seconds and
# peak RSS (KiB) to logs/NAME.time; on failure names the stage and exits 1.
run_stage() {
  local name=$1 status=0 seconds kib
  shift
  echo "== $name: $*"
  /usr/bin/time -f '%e %M' -o "$logs/$name.time" "$@" > "$logs/$name.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    {
      echo "benchmark-msd: stage '$name' failed (exit status $status); last lines of $logs/$name.log:"
      tail -n 20 "$logs/$name.log"
      echo "benchmark-msd: stage '$name' failed"
    } >&2
    exit 1
  fi
  read -r seconds kib < <(tail -n 1 "$logs/$name.time")
  echo "   $name: ${seconds} s, peak RSS $((kib / 1024)) MiB"
  stages+=("$name")
}

ms=("$medseg" --threads "$threads")
run_stage validate "${ms[@]}" validate "$dataset"
run_stage plan "${ms[@]}" plan "$dataset" -o "$work"
run_stage preprocess "${ms[@]}" preprocess "$work" -c "$configuration" --dataset "$dataset"
for fold in "${fold_list[@]}"; do
  run_stage "train_fold_$fold" "${ms[@]}" train "$work" -c "$configuration" -f "$fold" --device "$device" \
    --dataset "$dataset" "${budget_flags[@]}"
done
has_files() { [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; }
test_predicted=0 test_evaluated=0
if has_files "$dataset/imagesTs"; then
  run_stage predict_test "${ms[@]}" predict -i "$dataset/imagesTs" -o "$work/predictions_ts" \
    -m "$work/models/$configuration" -f "${fold_list[@]}" --device "$device"
  test_predicted=1
  if has_files "$dataset/labelsTs"; then
    run_stage evaluate_test "${ms[@]}" evaluate -r "$dataset/labelsTs" -p "$work/predictions_ts" \
      -d "$work/dataset.json" -o "$work/predictions_ts/summary.json"
    test_evaluated=1
  fi
fi

mkdir -p "$(dirname "$output")"
tmp_output="$output.tmp.$$"
trap 'rm -f "$tmp_output"' EXIT
BM_DATASET=$dataset BM_WORK=$work BM_CONFIGURATION=$configuration BM_FOLDS="${fold_list[*]}" \
BM_BUDGET=$budget BM_DEVICE=$device BM_THREADS=$threads BM_MEDSEG=$medseg BM_VERSION=$version \
BM_DATE=$date BM_STAGES="${stages[*]}" BM_TEST_PREDICTED=$test_predicted BM_TEST_EVALUATED=$test_evaluated \
BM_NPROC=$(nproc) python3 - "$tmp_output" "${command_line[@]}" <<'PY' || { echo "benchmark-msd: stage 'results' failed" >&2; exit 1; }
import json, math, os, re, shlex, socket, sys

env = os.environ
work, folds = env["BM_WORK"], env["BM_FOLDS"].split()
model = os.path.join(work, "models", env["BM_CONFIGURATION"])

def mean(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else None

def scores(summary_file):
    """Per class Dice / HD95 (summary.json's means over cases) and the foreground mean Dice."""
    s = json.load(open(summary_file))
    per_class = {key: {"name": label["name"], "Dice": s["mean"][key]["Dice"], "HD95": s["mean"][key]["HD95"]}
                 for key, label in s["labels"].items()}
    return {"num_cases": s["num_cases"], "per_class": per_class,
            "foreground_mean_dice": s["foreground_mean"]["Dice"], "summary_file": summary_file}

per_fold = {k: scores(os.path.join(model, "fold_" + k, "validation", "summary.json")) for k in folds}
classes = per_fold[folds[0]]["per_class"]
cv_mean = {"per_class": {key: {"name": c["name"],
                               "Dice": mean([f["per_class"][key]["Dice"] for f in per_fold.values()]),
                               "HD95": mean([f["per_class"][key]["HD95"] for f in per_fold.values()])}
                         for key, c in classes.items()},
           "foreground_mean_dice": mean([f["foreground_mean_dice"] for f in per_fold.values()])}

test = None
if env["BM_TEST_PREDICTED"] == "1":
    predictions = os.path.join(work, "predictions_ts")
    ending = json.load(open(os.path.join(work, "dataset.json"))).get("file_ending", ".nii.gz")
    test = {"predictions_dir": predictions,
            "num_predicted": sum(1 for f in os.listdir(predictions) if f.endswith(ending)),
            "evaluated": env["BM_TEST_EVALUATED"] == "1"}
    if test["evaluated"]:
        test.update(scores(os.path.join(predictions, "summary.json")))

timings, peak_rss = {}, {}
for stage in env["BM_STAGES"].split():
    seconds, kib = open(os.path.join(work, "logs", stage + ".time")).read().splitlines()[-1].split()
    timings[stage], peak_rss[stage] = float(seconds), int(kib)

budget = None
if env["BM_BUDGET"]:
    b = [int(v) for v in env["BM_BUDGET"].split(",")]
    budget = {"epochs": b[0], "iterations_per_epoch": b[1], "val_iterations": b[2] if len(b) > 2 else None}

version = env["BM_VERSION"].strip()
match = re.match(r"medseg (\S+)", version)
torch = re.search(r"\(libtorch ([^,)]+)", version)
dataset_json = json.load(open(os.path.join(env["BM_DATASET"], "dataset.json")))
results = {
    "schema_version": 1,
    "dataset": {"path": env["BM_DATASET"], "name": dataset_json.get("name")},
    "configuration": env["BM_CONFIGURATION"],
    "folds": [int(k) for k in folds],
    "budget": budget,
    "device": env["BM_DEVICE"],
    "threads": int(env["BM_THREADS"]),
    "cross_validation": {"per_fold": per_fold, "mean_over_folds": cv_mean},
    "test": test,
    "timings_s": timings,
    "peak_rss_kib": peak_rss,
    "medseg_binary": env["BM_MEDSEG"],
    "medseg_version": match.group(1) if match else version,
    "medseg_version_string": version,
    "hostname": socket.gethostname(),
    "nproc": int(env["BM_NPROC"]),
    "date": env["BM_DATE"],
    "command_line": shlex.join(sys.argv[2:]),
    "work_dir": work,
}
if torch:
    results["torch_version"] = torch.group(1)
with open(sys.argv[1], "w") as f:
    json.dump(results, f, indent=2, allow_nan=False)
    f.write("\n")
PY
mv "$tmp_output" "$output"
trap - EXIT
python3 - "$output" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
show = lambda v: "n/a" if v is None else "%.4f" % v
print("cross-validation foreground mean Dice (mean over folds):",
      show(r["cross_validation"]["mean_over_folds"]["foreground_mean_dice"]))
if r["test"] and r["test"]["evaluated"]:
    print("test foreground mean Dice:", show(r["test"]["foreground_mean_dice"]))
PY
echo "benchmark-msd: results in $output"
