# medseg predict and postprocess on a tiny trained model: predictions keep each input's exact
# geometry, --num-parts splits the cases once, --save-probabilities writes sums-to-one
# probabilities, postprocess determine writes postprocessing.json; bad input exits non-zero
# with the file and the problem named and leaves no output behind.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 6 --test-cases 3 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres
echo '{"num_epochs": 1, "iterations_per_epoch": 2, "val_iterations": 1}' > "$tmp/short.json"
"$medseg" --quiet --threads 2 train "$tmp/work" -c 3d_fullres -f 0 --trainer-config "$tmp/short.json"
model="$tmp/work/models/3d_fullres"

# Whole folder, with probabilities.
out=$("$medseg" --threads 2 predict -i "$tmp/ds/imagesTs" -o "$tmp/pred" -m "$model" -f 0 --save-probabilities 2>&1)
grep -q "3 case(s) predicted" <<<"$out" || fail "no summary line: $out"
for i in "$tmp"/ds/imagesTs/*_0000.nii.gz; do
  case_id=$(basename "$i" _0000.nii.gz)
  [ -s "$tmp/pred/$case_id.nii.gz" ] || fail "no prediction for $case_id"
  [ -s "$tmp/pred/$case_id.npy" ] || fail "no probabilities for $case_id"
  [ -s "$tmp/pred/${case_id}_probabilities.json" ] || fail "no probabilities json for $case_id"
done
ls "$tmp/pred" | grep -q '\.tmp' && fail "temporary files left in $tmp/pred"
# evaluate refuses a prediction whose geometry differs from its reference: this passing means
# spacing, origin, direction and shape are the inputs'.
"$medseg" --quiet evaluate -r "$tmp/ds/labelsTs" -p "$tmp/pred" -l 1,2 > /dev/null
python3 - "$tmp/pred" <<'PY'
import glob, json, struct, sys
# .npy header -> shape; float32 probabilities of 3 outputs that sum to one per voxel.
for path in glob.glob(sys.argv[1] + "/*.npy"):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", path
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hlen].decode()
    assert "'<f4'" in header, header
    shape = tuple(int(v) for v in header.split("(")[1].split(")")[0].split(",") if v.strip())
    assert shape[0] == 3, shape
    n = 1
    for s in shape[1:]: n *= s
    values = struct.unpack("<%df" % (3 * n), data[10 + hlen:10 + hlen + 12 * n])
    for v in range(0, n, 97):
        total = values[v] + values[n + v] + values[2 * n + v]
        assert abs(total - 1) < 1e-4, (path, v, total)
PY

# Parts: each case exactly once over the parts.
for k in 0 1; do
  "$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/parts" -m "$model" -f 0 --no-mirroring \
    --num-parts 2 --part-id "$k"
done
[ "$(ls "$tmp/parts"/*.nii.gz | wc -l)" -eq 3 ] || fail "parts did not cover the 3 cases"

# One file as input.
first=$(ls "$tmp"/ds/imagesTs/*_0000.nii.gz | head -1)
"$medseg" --quiet predict -i "$first" -o "$tmp/single" -m "$model" -f 0 --no-mirroring
[ "$(ls "$tmp/single" | grep -c '\.nii\.gz$')" -eq 1 ] || fail "one input file must give one output"
# Beside it, only the QA report (report.json, report.csv) and, for a flagged case (a model
# this briefly trained predicts odd volumes), its picture in qa/.
[ "$(ls "$tmp/single" | grep -v '^qa$' | wc -l)" -eq 3 ] || fail "unexpected files: $(ls "$tmp/single")"

# Both precisions on request (auto picks one of them by the CPU); the masks may differ only
# where bfloat16 rounding flips a near tie.
precisions=fp32
grep -qwE "avx512_bf16|amx_bf16" /proc/cpuinfo && precisions="fp32 bf16"
for precision in $precisions; do
  "$medseg" --quiet predict -i "$first" -o "$tmp/$precision" -m "$model" -f 0 --no-mirroring --precision "$precision"
  [ "$(ls "$tmp/$precision" | grep -c '\.nii\.gz$')" -eq 1 ] || fail "--precision $precision wrote no mask"
done

# Postprocessing from fold 0's validation predictions; predict then applies it.
"$medseg" --quiet postprocess determine -m "$model" -f 0
[ -s "$model/postprocessing.json" ] || fail "postprocessing.json not written"
out=$("$medseg" predict -i "$first" -o "$tmp/pp" -m "$model" -f 0 --no-mirroring 2>&1)
grep -q "postprocessing.json" <<<"$out" || fail "predict did not apply postprocessing.json: $out"

# Bad input.
expect_fail 1 "fold_3" "$medseg" predict -i "$tmp/ds/imagesTs" -o "$tmp/bad1" -m "$model" -f 3
mkdir -p "$tmp/twochan"
cp "$first" "$tmp/twochan/x_0000.nii.gz"
cp "$first" "$tmp/twochan/x_0001.nii.gz"
expect_fail 1 "x_0001" "$medseg" predict -i "$tmp/twochan" -o "$tmp/bad2" -m "$model" -f 0
mkdir -p "$tmp/corrupt"
head -c 300 "$first" > "$tmp/corrupt/y_0000.nii.gz"
expect_fail 1 "y_0000.nii.gz" "$medseg" predict -i "$tmp/corrupt" -o "$tmp/bad3" -m "$model" -f 0
[ ! -e "$tmp/bad3/y.nii.gz" ] || fail "a corrupt input left an output behind"
expect_fail 2 "part-id" "$medseg" predict -i "$tmp/ds/imagesTs" -o "$tmp/bad4" -m "$model" --num-parts 2 --part-id 2
expect_fail 2 "'fp16' is not a precision" "$medseg" predict -i "$first" -o "$tmp/bad5" -m "$model" --precision fp16
# A filesystem problem names the path first (not "unexpected error").
touch "$tmp/afile"
expect_fail 1 "$tmp/afile/out: " "$medseg" predict -i "$first" -o "$tmp/afile/out" -m "$model" -f 0
# Inputs are checked before anything is computed: non-finite intensities name the file.
python3 - "$first" "$tmp/nonfinite/nan_0000.nii.gz" <<'PY'
import sys, gzip, struct, os
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(os.path.dirname(dst), exist_ok=True)
raw = bytearray(gzip.open(src).read())
datatype, bitpix = struct.unpack_from("<hh", raw, 70)
offset = int(struct.unpack_from("<f", raw, 108)[0])
assert (datatype, bitpix) == (16, 32), ("float32 expected", datatype, bitpix)
struct.pack_into("<f", raw, offset + 4 * 5, float("nan"))
gzip.open(dst, "wb").write(bytes(raw))
PY
expect_fail 1 "nan_0000.nii.gz: 1 intensities are not finite" "$medseg" predict -i "$tmp/nonfinite" -o "$tmp/bad6" -m "$model" -f 0
[ ! -e "$tmp/bad6/nan.nii.gz" ] || fail "a prediction was written for an input with NaN"
"$medseg" --quiet predict -i "$tmp/nonfinite" -o "$tmp/replaced" -m "$model" -f 0 --replace-non-finite 2>"$tmp/replace.log" ||
  fail "--replace-non-finite did not predict"
grep -q "replaced 1 non-finite intensities (NaN or infinite) with 0" "$tmp/replace.log" || fail "no warning about the replaced intensities: $(cat "$tmp/replace.log")"
[ -s "$tmp/replaced/nan.nii.gz" ] || fail "no prediction with --replace-non-finite"
echo "predict_cli: ok"
