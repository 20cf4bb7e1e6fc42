# medseg plan on a tiny synthetic dataset: the three files and a readable summary; presets and
# flags; usage errors; a broken dataset fails (exit 1) without writing plans.json.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 4 --shape 16 24 24
out=$("$medseg" --threads 2 plan "$tmp/ds" -o "$tmp/work")
grep -q "3d_fullres:" <<<"$out" || { echo "FAIL: no 3d_fullres in the summary:"; echo "$out"; exit 1; }
grep -q "patch .* batch " <<<"$out" || { echo "FAIL: summary lacks patch and batch:"; echo "$out"; exit 1; }
for f in dataset.json dataset_fingerprint.json plans.json; do
  [ -s "$tmp/work/$f" ] || { echo "FAIL: $tmp/work/$f missing"; exit 1; }
done
cmp -s "$tmp/ds/dataset.json" "$tmp/work/dataset.json" || { echo "FAIL: dataset.json is not a copy"; exit 1; }
python3 - "$tmp/work" <<'PY'
import json, sys
plans = json.load(open(sys.argv[1] + "/plans.json"))
c = plans["configurations"]["3d_fullres"]
assert c["batch_size"] >= 2 and len(c["patch_size"]) == 3, c
assert plans["configurations"]["2d"]["batch_dice"] is True
fp = json.load(open(sys.argv[1] + "/dataset_fingerprint.json"))
assert len(fp["spacings"]) == 4 and len(fp["shapes_after_crop"]) == 4
assert set(fp["foreground_intensity_properties_per_channel"]["0"]) == {
    "mean", "median", "std", "min", "max", "percentile_00_5", "percentile_99_5"}
PY
grep -qx "$(cd "$tmp/ds" && pwd)" "$tmp/work/dataset_path.txt"
# No temporary files left behind (plans, fingerprint, dataset.json, dataset_path.txt and the
# training cases' QA features, case_features.json).
grep -q '"volume_organ"' "$tmp/work/case_features.json" || fail "case_features.json has no volumes"
[ "$(ls -A "$tmp/work" | wc -l)" -eq 5 ] || { echo "FAIL: extra files in the work folder"; ls -A "$tmp/work"; exit 1; }

# Flags: a preset, a memory target and a target spacing (z y x) show up in plans.json.
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work-resenc" --preset resenc-m --gpu-memory 4 -j 2 \
  --overwrite-target-spacing 3 1 1 > /dev/null
python3 - "$tmp/work-resenc/plans.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["plans_name"] == "medsegResEncUNetMPlans" and p["gpu_memory_target_gb"] == 4, p["plans_name"]
c = p["configurations"]["3d_fullres"]
assert c["spacing"] == [3, 1, 1] and c["architecture"]["network"] == "ResidualEncoderUNet", c["spacing"]
PY

# Usage errors exit 2.
expect_fail 2 "" "$medseg" plan "$tmp/ds"
expect_fail 2 "" "$medseg" plan "$tmp/ds" -o "$tmp/x" --preset huge
expect_fail 2 "" "$medseg" plan "$tmp/ds" -o "$tmp/x" --overwrite-target-spacing 1 1
expect_fail 2 "" "$medseg" plan "$tmp/ds" -o "$tmp/x" --gpu-memory -1

# A broken dataset: exit 1, every problem listed, nothing written.
rm "$tmp/ds/labelsTr/synth_001.nii.gz"
expect_fail 1 "missing label file of case synth_001" "$medseg" plan "$tmp/ds" -o "$tmp/broken"
[ ! -e "$tmp/broken/plans.json" ] || { echo "FAIL: plans.json written for a broken dataset"; exit 1; }
echo "plan_cli: ok"
