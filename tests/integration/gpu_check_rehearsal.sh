# scripts/gpu-check.sh rehearsed on the CPU with the binary under test (label "slow"): the gpu
# tests, the Hippocampus-sized training and prediction benchmark, and the result JSON.
source "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$medseg")
bash "$root/scripts/gpu-check.sh" --device cpu --build-dir "$build" --skip-build --unit-tests none \
  --benchmarks hippocampus --iterations 2 --out "$tmp/out"
python3 - "$tmp/out/gpu-check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"], r
assert r["machine"]["device"] == "cpu"
assert r["version"]["medseg"].startswith("medseg "), r["version"]
g = r["tests_gpu"]
assert g["ok"] and g["failed"] == [], g
b = r["bench_hippocampus"]
assert b["ok"], b
# The synthetic stand-in plans as the reference plans Dataset004_Hippocampus.
assert b["plan"]["patch_size"] == [40, 56, 40] and b["plan"]["batch_size"] == 7, b["plan"]
t = b["train"]
assert t["epochs"] == 2 and t["iterations_per_epoch"] == 2, t
assert t["seconds_per_iteration"] > 0 and t["iterations_per_second"] > 0, t
assert t["gpu"] is None and "no nvidia-smi" in t["gpu_note"], t
p = b["predict"]
assert p["ok"] and p["cases"] == 2 and p["mirrored_seconds_per_case"] > 0, p
print("gpu-check rehearsal: ok,", t["seconds_per_iteration"], "s per iteration on the CPU")
PY
