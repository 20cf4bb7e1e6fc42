# scripts/gpu-check.sh rehearsed on the CPU with the binary under test (label "slow"): the gpu
# tests, the Hippocampus-sized training and prediction benchmark, a small "clinical" volume
# predicted with the 128^3 model, Dataset004_Hippocampus fold 0 for one short epoch when the
# shared data is there, and the result JSON.
source "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$medseg")
benchmarks=hippocampus,large,clinical,real
data=$root/../shared/data/Dataset004_Hippocampus
[ -f "$data/dataset.json" ] || { benchmarks=hippocampus,large,clinical; echo "no $data: real not rehearsed"; }
bash "$root/scripts/gpu-check.sh" --device cpu --build-dir "$build" --skip-build --unit-tests none \
  --benchmarks "$benchmarks" --iterations 5 --clinical-shape 40,48,48 --real-epochs 1 \
  --real-iterations 2 --data "$data" --out "$tmp/out" || fail "gpu-check.sh failed"
python3 - "$tmp/out/gpu-check.json" "$benchmarks" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"], r
assert r["machine"]["device"] == "cpu"
assert r["version"]["medseg"].startswith("medseg "), r["version"]
assert "ceilings" not in r, "the GPU ceilings are measured on a GPU only"
g = r["tests_gpu"]
assert g["ok"] and g["failed"] == [], g
b = r["bench_hippocampus"]
assert b["ok"], b
# The synthetic stand-in plans as the reference plans Dataset004_Hippocampus.
assert b["plan"]["patch_size"] == [40, 56, 40] and b["plan"]["batch_size"] == 7, b["plan"]
t = b["train"]
assert t["epochs"] == 2 and t["iterations_per_epoch"] == 5, t
assert t["seconds_per_iteration"] > 0 and t["iterations_per_second"] > 0, t
assert t["train_tflops"] > 0, t
assert t["gpu_whole_command"] is None and "no nvidia-smi" in t["gpu_note"], t
p = b["predict"]
assert p["ok"] and p["cases"] == 20 and p["mirrored_seconds_per_case"] > 0, p
large = r["bench_large"]
assert large["ok"] and large["plan"]["patch_size"] == [128, 128, 128], large["plan"]
assert large["plan"]["batch_size"] == 2 and large["train"]["iterations_per_epoch"] == 1, large
c = r["bench_clinical"]
assert c["ok"] and c["shape"] == [40, 48, 48] and c["predict"]["cases"] == 1, c
if "real" in sys.argv[2]:
    real = r["bench_real"]
    assert real["ok"] and real["train"]["epochs"] == 1, real
    v = real["validation"]
    assert v["cases"] > 0 and "1" in v["mean"] and "HD95" in v["mean"]["1"], v
print("gpu-check rehearsal: ok,", t["seconds_per_iteration"], "s per iteration on the CPU")
PY
