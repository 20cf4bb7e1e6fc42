# Quality assurance (issue 23) through the real CLI: a model trained briefly on one synthetic
# distribution; predict writes the QA report (report.json, report.csv), the uncertainty maps
# and pictures; scans of its own distribution raise no scan-level flag, scans at another
# spacing and with other intensities are flagged naming the reason; drift tells the batches
# apart; --no-ood-check says so.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 8 --test-cases 12 --shape 12 16 16
"$medseg" --quiet synth "$tmp/spacing" --cases 4 --shape 12 16 16 --spacing 4 1 1 --seed 3
"$medseg" --quiet synth "$tmp/noise" --cases 12 --shape 12 16 16 --noise 60 --seed 5
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres
echo '{"num_epochs": 1, "iterations_per_epoch": 2, "val_iterations": 1}' > "$tmp/short.json"
"$medseg" --quiet --threads 2 train "$tmp/work" -c 3d_fullres -f 0 --trainer-config "$tmp/short.json"
model="$tmp/work/models/3d_fullres"
[ -s "$model/training_profile.json" ] || fail "training wrote no training_profile.json"
[ -s "$model/fold_0/validation/case_features.json" ] || fail "no cross-validation features"

# Own distribution, with uncertainty and every picture.
out=$("$medseg" --threads 2 predict -i "$tmp/ds/imagesTs" -o "$tmp/own" -m "$model" -f 0 \
  --no-mirroring --uncertainty --qa-images all 2>&1)
grep -q "QA: .* of 12 cases" <<<"$out" || fail "no QA summary line: $out"
for f in report.json report.csv qa/synthtest_000.png uncertainty/synthtest_000_entropy.nii.gz \
  uncertainty/synthtest_000_mutual_information.nii.gz; do
  [ -s "$tmp/own/$f" ] || fail "predict wrote no $f"
done
python3 - "$tmp/own" "$tmp/ds/imagesTs" <<'PY'
import csv, gzip, json, struct, sys
d = sys.argv[1]
# The uncertainty maps have the input's geometry (NIfTI dim, pixdim, qform/sform) and float
# values in [0, 1].
def header(path):
    return gzip.open(path).read(352)
image = header(sys.argv[2] + "/synthtest_000_0000.nii.gz")
for name in ("entropy", "mutual_information"):
    h = header(d + "/uncertainty/synthtest_000_" + name + ".nii.gz")
    for lo, hi in ((40, 56), (80, 92), (252, 344)):  # dim, pixdim 1-3, q/s-form
        assert h[lo:hi] == image[lo:hi], (name, lo)
    assert struct.unpack("<h", h[70:72])[0] == 16, name  # DT_FLOAT32
report = json.load(open(d + "/report.json"))
assert report["ood_check"] == "on", report["ood_check"]
assert len(report["cases"]) == 12
for c in report["cases"]:
    # A briefly trained model predicts odd volumes; the scans themselves are in distribution.
    kinds = {f["kind"] for f in c["findings"]}
    assert kinds <= {"volume", "missing structure", "unseen structure"}, (c["case"], c["reasons"])
    u = c["uncertainty"]
    assert 0 <= u["mean_entropy"] <= 1 and 0 <= u["uncertain_fraction"] <= 1, u
    assert u["mean_mutual_information"] >= 0, u
    assert c["picture"] == "qa/" + c["case"] + ".png", c["picture"]
    assert set(c["labels"]) == {"organ", "lesion"}, c["labels"]
rows = list(csv.DictReader(open(d + "/report.csv")))
assert len(rows) == 24, len(rows)  # 12 cases x 2 labels
assert all(float(r["volume_mm3"]) >= 0 for r in rows)
PY
[ $? -eq 0 ] || fail "QA report of the own distribution"

# --continue: the cases kept keep their rows of the earlier report, the one predicted again gets
# a new one.
rm "$tmp/own/synthtest_003.nii.gz"
out=$("$medseg" --threads 2 predict -i "$tmp/ds/imagesTs" -o "$tmp/own" -m "$model" -f 0 \
  --no-mirroring --uncertainty --continue 2>&1)
grep -q "1 case(s) predicted" <<<"$out" || fail "--continue predicted more than the missing case: $out"
python3 - "$tmp/own/report.json" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
assert sorted(c["case"] for c in cases) == ["synthtest_%03d" % i for i in range(12)], cases
PY

# Another spacing and other intensities: every case flagged, with the reason on the console.
out=$("$medseg" --threads 2 predict -i "$tmp/spacing/imagesTr" -o "$tmp/spacing_pred" -m "$model" \
  -f 0 --no-mirroring 2>&1)
grep -q "out of distribution: spacing along z (mm) 4.00 is outside the range" <<<"$out" ||
  fail "another spacing not flagged: $out"
grep -q "QA: 4 of 4 cases flagged" <<<"$out" || fail "summary: $out"
[ "$(ls "$tmp/spacing_pred/qa" | wc -l)" -eq 4 ] || fail "one picture per flagged case expected"
out=$("$medseg" --threads 2 predict -i "$tmp/noise/imagesTr" -o "$tmp/noise_pred" -m "$model" \
  -f 0 --no-mirroring --qa-images none 2>&1)
grep -q "z-scored .* percentile (the shape of its intensity distribution)" <<<"$out" ||
  fail "other intensities not flagged: $out"
[ ! -e "$tmp/noise_pred/qa" ] || fail "--qa-images none wrote pictures"

# The check turned off is said, in the report and on the console.
out=$("$medseg" --threads 2 predict -i "$tmp/spacing/imagesTr" -o "$tmp/off" -m "$model" -f 0 \
  --no-mirroring --no-ood-check 2>&1)
grep -q "out-of-distribution check off: turned off (--no-ood-check)" <<<"$out" || fail "$out"
grep -q '"ood_check": "off: turned off' "$tmp/off/report.json" || fail "report does not say off"

# Drift: the own test scans are stable, the noisy batch drifts.
out=$("$medseg" --threads 2 drift -m "$model" -i "$tmp/ds/imagesTs" "$tmp/noise/imagesTr" \
  -o "$tmp/drift" 2>&1)
grep -q "batch $tmp/ds/imagesTs: stable" <<<"$out" || fail "own batch not stable: $out"
grep -q "batch $tmp/noise/imagesTr: drift (ch0_z" <<<"$out" || fail "noisy batch: $out"
[ -s "$tmp/drift/drift.svg" ] || fail "no drift.svg"
grep -q '"verdict": "drift"' "$tmp/drift/drift.json" || fail "drift.json has no drift verdict"
expect_fail 1 "has no training_profile.json" \
  "$medseg" drift -m "$tmp/ds" -i "$tmp/ds/imagesTs" -o "$tmp/drift2"
echo "qa_cli: ok"
