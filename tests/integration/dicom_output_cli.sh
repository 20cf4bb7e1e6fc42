# DICOM output (issue 24): medseg's SEG and RTSTRUCT writers on test shapes (a box, a ring with
# an island in its hole, islands touching at corners, a ball, an absent label), on nested regions
# of a region-based dataset, and `medseg predict --output-format nifti,dicom-seg,rtstruct` on a
# synthetic oblique CT series (non-unit rescale) with the committed tiny nnU-Net model. The
# series are in ISO_IR 192 with a patient name beyond ASCII, and a label name is UTF-8 too. Every written object must pass dciodvfy without
# an error and agree with the source series (dcentvfy); an independent reader (pydicom + numpy,
# dicom_output_check.py) decodes the SEG frames and rasterises the contours and compares both
# with the NIfTI label map. Needs dicom3tools, python3-pydicom and python3-numpy
# (scripts/install-deps.sh) and the fixture program in $MEDSEG_DICOM_FIXTURE.
source "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
fixture=${MEDSEG_DICOM_FIXTURE:?set by CTest: the medseg_dicom_fixture program}
model="$here/../data/nnunet_results/nnUNetTrainer__nnUNetPlans__3d_fullres"

command -v dciodvfy > /dev/null ||
  fail "dciodvfy not found: install Debian's dicom3tools (scripts/install-deps.sh does)"
python=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import numpy, pydicom' 2> /dev/null; then python=$candidate; break; fi
done
[ -n "$python" ] ||
  fail "no python3 with numpy and pydicom: install python3-numpy python3-pydicom (scripts/install-deps.sh)"

# dciodvfy prints "Error - ..." and "Warning - ..." lines and exits non-zero on errors.
validate() {
  local f out status
  for f in "$@"; do
    status=0
    out=$(dciodvfy "$f" 2>&1) || status=$?
    if [ "$status" -ne 0 ] || grep -q '^Error' <<<"$out"; then
      fail "dciodvfy $f (exit $status): $out"
    fi
    echo "dciodvfy $(basename "$f"): $(head -1 <<<"$out"), 0 errors, $(grep -c '^Warning' <<<"$out" || true) warnings"
  done
}
check() { "$python" "$here/dicom_output_check.py" "$@"; }

# The writers on test shapes: the box must come back voxel for voxel, every shape with Dice > 0.98.
"$fixture" shapes "$tmp/shapes"
validate "$tmp/shapes/shapes.seg.dcm" "$tmp/shapes/shapes.rtstruct.dcm"
dcentvfy "$tmp/shapes/shapes.seg.dcm" "$tmp/shapes/shapes.rtstruct.dcm" "$tmp"/shapes/ct/*.dcm ||
  fail "dcentvfy: the written objects disagree with the source series"
check --series "$tmp/shapes/ct" --nifti "$tmp/shapes/labels.nii.gz" --labels "$tmp/shapes/labels.json" \
  --seg "$tmp/shapes/shapes.seg.dcm" --rtstruct "$tmp/shapes/shapes.rtstruct.dcm" --exact box --min-dice 0.98

# The checker fails on an --exact name that is no label and, with --require-nonempty, on a label
# map without foreground (the shapes' map with its voxels zeroed, header kept).
out=$(check --series "$tmp/shapes/ct" --nifti "$tmp/shapes/labels.nii.gz" --labels "$tmp/shapes/labels.json" \
  --exact no-such-label 2>&1) && fail "the checker accepted --exact no-such-label"
grep -q "no-such-label.*no label of" <<<"$out" || fail "the checker's --exact error: $out"
"$python" - "$tmp/shapes/labels.nii.gz" "$tmp/empty.nii.gz" <<'PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
offset = int(struct.unpack("<f", raw[108:112])[0])
gzip.open(sys.argv[2], "wb").write(raw[:offset] + bytes(len(raw) - offset))
PY
out=$(check --series "$tmp/shapes/ct" --nifti "$tmp/empty.nii.gz" --labels "$tmp/shapes/labels.json" \
  --require-nonempty 2>&1) && fail "the checker accepted an empty label map with --require-nonempty"
grep -q "has no foreground voxel" <<<"$out" || fail "the checker's --require-nonempty error: $out"

# A region-based dataset: each segment / ROI is its whole region (every value it spans), and the
# SEG's segments overlap.
"$fixture" regions "$tmp/regions"
validate "$tmp/regions/regions.seg.dcm" "$tmp/regions/regions.rtstruct.dcm"
check --series "$tmp/regions/ct" --nifti "$tmp/regions/labels.nii.gz" --labels "$tmp/regions/labels.json" \
  --seg "$tmp/regions/regions.seg.dcm" --rtstruct "$tmp/regions/regions.rtstruct.dcm" \
  --exact whole core enh --require-nonempty

# medseg predict on a DICOM folder, all three formats from one prediction.
"$fixture" series "$tmp/dicom/ct"
"$medseg" --quiet predict -i "$tmp/dicom" -o "$tmp/pred" -m "$model" -f 0 --no-mirroring \
  --output-format nifti,dicom-seg,rtstruct
case_id=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["cases"][0]["case"])' \
  "$tmp/pred/dicom_cases.json")
for f in "$case_id.nii.gz" "$case_id.seg.dcm" "$case_id.rtstruct.dcm"; do
  [ -s "$tmp/pred/$f" ] || fail "predict wrote no $f"
done
ls -a "$tmp/pred" | grep -q '\.tmp' && fail "temporary files left in $tmp/pred"
validate "$tmp/pred/$case_id.seg.dcm" "$tmp/pred/$case_id.rtstruct.dcm"
dcentvfy "$tmp/pred/$case_id.seg.dcm" "$tmp/pred/$case_id.rtstruct.dcm" "$tmp"/dicom/ct/*.dcm ||
  fail "dcentvfy: the predicted objects disagree with the source series"
# Segment and ROI names from the model's dataset.json; contours exact for any shape.
check --series "$tmp/dicom/ct" --nifti "$tmp/pred/$case_id.nii.gz" --labels "$model/dataset.json" \
  --seg "$tmp/pred/$case_id.seg.dcm" --rtstruct "$tmp/pred/$case_id.rtstruct.dcm" --exact a b \
  --require-nonempty

# --continue skips complete outputs and writes a broken SEG again.
out=$("$medseg" predict -i "$tmp/dicom" -o "$tmp/pred" -m "$model" -f 0 --no-mirroring \
  --output-format dicom-seg,rtstruct --continue 2>&1)
grep -q "exists, skipped" <<<"$out" || fail "--continue did not skip the complete outputs: $out"
head -c 1000 "$tmp/pred/$case_id.seg.dcm" > "$tmp/broken" && mv "$tmp/broken" "$tmp/pred/$case_id.seg.dcm"
out=$("$medseg" predict -i "$tmp/dicom" -o "$tmp/pred" -m "$model" -f 0 --no-mirroring \
  --output-format dicom-seg --continue 2>&1)
grep -q "not a complete DICOM file" <<<"$out" || fail "--continue kept a broken SEG: $out"
validate "$tmp/pred/$case_id.seg.dcm"

# DICOM formats need DICOM input; unknown formats are named.
mkdir -p "$tmp/nifti"
cp "$tmp/shapes/labels.nii.gz" "$tmp/nifti/x_0000.nii.gz"
expect_fail 2 "dicom-seg and rtstruct need DICOM input" \
  "$medseg" predict -i "$tmp/nifti" -o "$tmp/bad" -m "$model" -f 0 --output-format dicom-seg
expect_fail 2 'unknown format "dicomseg"' \
  "$medseg" predict -i "$tmp/dicom" -o "$tmp/bad" -m "$model" -f 0 --output-format dicomseg
# ... before the model is loaded: a typo is named even with a model folder that does not exist.
expect_fail 2 'unknown format "dicomseg"' \
  "$medseg" predict -i "$tmp/dicom" -o "$tmp/bad" -m "$tmp/no-model" -f 0 --output-format dicomseg
[ -e "$tmp/bad" ] && fail "a refused call left $tmp/bad"
echo "dicom_output_cli: OK"
