#!/usr/bin/env bash
# libtorch 1.13 (Debian, build/) against libtorch 2.x (the torch wheel, build-torch2/) on this
# CPU, back to back: a Hippocampus 3d_fullres training iteration (bench/nn_bench: batch 7 of
# 40x56x40, forward + backward + SGD step) and a mirrored Hippocampus case through the whole
# prediction path (bench/predict_bench --mode mirror), in bfloat16 (where the CPU has it) and
# float32. The two builds alternate, `--rounds` times, so drift of the machine hits both alike.
# Builds the two benchmark drivers in both folders first (MEDSEG_BUILD_BENCHMARKS=ON).
#
# Usage: scripts/bench-torch-versions.sh [--rounds N] [--iterations N] [--out FILE]
#   --rounds N       alternations (default 2); each figure is the median over its rounds
#   --iterations N   iterations per benchmark process (default 5 training steps, 5 predictions)
#   --out FILE       the JSON of results (default benchmark-work/torch-versions.json)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=2
iterations=5
out=$root/benchmark-work/torch-versions.json
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "bench-torch-versions: unknown option '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$(dirname "$out")"
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT

for torch in 1 2; do
  MEDSEG_TORCH=$torch MEDSEG_BUILD_TARGETS="medseg_nn_bench medseg_predict_bench" \
    bash "$root/scripts/build.sh" -DMEDSEG_BUILD_BENCHMARKS=ON
done
build_of() { [ "$1" = 1 ] && echo "$root/build" || echo "$root/build-torch2"; }

precisions=(fp32)
grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo && precisions=(bf16 fp32)
for round in $(seq 1 "$rounds"); do
  for precision in "${precisions[@]}"; do
    for torch in 1 2; do
      b=$(build_of $torch)
      echo "round $round, $precision, libtorch MEDSEG_TORCH=$torch: training step"
      "$b/bench/medseg_nn_bench" --mode configured --iterations "$iterations" --precision "$precision" \
        --json "$raw/train-$torch-$precision-$round.json" > /dev/null
      echo "round $round, $precision, libtorch MEDSEG_TORCH=$torch: mirrored prediction"
      "$b/bench/medseg_predict_bench" --mode mirror --iterations "$iterations" --precision "$precision" \
        --json "$raw/predict-$torch-$precision-$round.json" > /dev/null
    done
  done
done

python3 - "$raw" "$out" "$root" <<'PY'
import glob, json, os, statistics, subprocess, sys
raw, out, root = sys.argv[1:]
def version(torch):
    b = os.path.join(root, "build" if torch == "1" else "build-torch2", "medseg")
    try:
        return subprocess.run([b, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None
results = {"machine": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"),
           "cores": os.cpu_count(), "builds": {"1": version("1"), "2": version("2")}, "figures": {}}
def seconds(kind, doc):
    # nn_bench --mode configured: seconds_per_iteration {median, min, max};
    # predict_bench --mode mirror: seconds_per_case_median.
    return doc["seconds_per_iteration"]["median"] if kind == "train" else doc["seconds_per_case_median"]
for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
    kind, torch, precision, rnd = os.path.basename(path)[:-5].split("-")
    doc = json.load(open(path))
    entry = results["figures"].setdefault(f"{kind}/{precision}", {}).setdefault(f"libtorch{torch}", {"runs": [], "raw": []})
    entry["runs"].append(seconds(kind, doc))
    entry["raw"].append(doc)
    entry["peak_rss_mb"] = max(entry.get("peak_rss_mb", 0), doc.get("peak_rss_mb", 0))
for key, by_torch in results["figures"].items():
    for t in by_torch.values():
        t["median_seconds"] = round(statistics.median(t["runs"]), 4)
    a, b = by_torch.get("libtorch1", {}).get("median_seconds"), by_torch.get("libtorch2", {}).get("median_seconds")
    by_torch["speedup_2_over_1"] = round(a / b, 3) if a and b else None
tmp = out + ".tmp"
json.dump(results, open(tmp, "w"), indent=2)
os.replace(tmp, out)
for key, by_torch in sorted(results["figures"].items()):
    print(f"{key:16s} 1.13: {by_torch['libtorch1']['median_seconds']}  2.x: {by_torch['libtorch2']['median_seconds']}  "
          f"speed-up of 2.x: {by_torch['speedup_2_over_1']}")
print("wrote", out)
PY
