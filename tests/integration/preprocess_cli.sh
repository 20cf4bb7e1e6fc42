# medseg preprocess on a tiny planned synthetic dataset: the arrays, properties and reference
# labels; a re-run skips complete cases and --overwrite redoes them; a corrupt case fails by
# name without leaving files; usage errors exit 2.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 3 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
out=$("$medseg" --threads 2 preprocess "$tmp/work" -c 3d_fullres -j 2 --dataset "$tmp/ds" 2>&1)
grep -q "3/3 cases (100%)" <<<"$out" || fail "no progress line: $out"
pre=$(ls -d "$tmp/work/preprocessed/"*)
[ "$(ls "$tmp/work/preprocessed" | wc -l)" -eq 1 ] || fail "expected one data folder"
for id in synth_000 synth_001 synth_002; do
  for f in "$id.npy" "${id}_seg.npy" "$id.json"; do [ -s "$pre/$f" ] || fail "$pre/$f missing"; done
  [ "$(head -c 6 "$pre/$id.npy" | tail -c 5)" = "NUMPY" ] || fail "$id.npy is not a .npy file"
  cmp -s "$tmp/ds/labelsTr/$id.nii.gz" "$tmp/work/gt_segmentations/$id.nii.gz" || fail "gt label of $id"
  grep -q '"class_locations"' "$pre/$id.json" || fail "$id.json lacks class_locations"
done
[ -z "$(ls -A "$pre" | grep '^\.' || true)" ] || fail "temporary files left in $pre"

# A re-run skips every case (files untouched); --overwrite redoes them.
touch -d '2001-01-01' "$pre/synth_000.json"
out=$("$medseg" preprocess "$tmp/work" -c 3d_fullres --dataset "$tmp/ds" 2>&1)
grep -q "3 of 3 cases already preprocessed" <<<"$out" || fail "no skip message: $out"
[ "$(stat -c %Y "$pre/synth_000.json")" = "$(date -d 2001-01-01 +%s)" ] || fail "a complete case was rewritten"
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres --dataset "$tmp/ds" --overwrite
[ "$(stat -c %Y "$pre/synth_000.json")" != "$(date -d 2001-01-01 +%s)" ] || fail "--overwrite did not redo"

# Errors: unknown configuration, no dataset folder, a corrupt case.
expect_fail 1 "no configuration '3d_lowres'" "$medseg" preprocess "$tmp/work" -c 3d_lowres --dataset "$tmp/ds"
rm -f "$tmp/work/dataset_path.txt"
expect_fail 2 "pass --dataset" "$medseg" preprocess "$tmp/work" -c 3d_fullres
expect_fail 2 "" "$medseg" preprocess "$tmp/work" -c 3d_fullres -j 0 --dataset "$tmp/ds"
rm -rf "$tmp/work/preprocessed" "$tmp/work/gt_segmentations"
head -c 300 "$tmp/ds/imagesTr/synth_001_0000.nii.gz" > "$tmp/short" && mv "$tmp/short" "$tmp/ds/imagesTr/synth_001_0000.nii.gz"
expect_fail 1 "case synth_001" "$medseg" preprocess "$tmp/work" -c 3d_fullres --dataset "$tmp/ds"
[ -z "$(ls -A "$pre" | grep -e synth_001 -e '^\.' || true)" ] || fail "files of the failed case left: $(ls -A "$pre")"
echo "preprocess_cli: ok"
