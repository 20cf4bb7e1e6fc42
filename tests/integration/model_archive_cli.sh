# medseg export-model and install-model on a tiny trained model: the zip passes Python's and
# unzip's checks, holds the checkpoints but not the validation predictions, and the installed
# copy predicts the same masks as the original; a zip made by Python's zipfile installs too;
# bad archives (zip slip, truncated, not a model) and an existing model folder are refused with
# the file named and nothing half-installed.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 6 --test-cases 2 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres
echo '{"num_epochs": 1, "iterations_per_epoch": 2, "val_iterations": 1}' > "$tmp/short.json"
"$medseg" --quiet --threads 2 train "$tmp/work" -c 3d_fullres -f 0 --trainer-config "$tmp/short.json"
model="$tmp/work/models/3d_fullres"
[ -s "$model/fold_0/checkpoint_final.pt" ] || fail "training wrote no checkpoint"

# Export: the log names the configuration and folds; nothing temporary is left beside the zip.
out=$("$medseg" export-model -m "$model" -o "$tmp/share/model.zip" --checkpoints final,best 2>&1)
grep -q "3d_fullres (fold_0): .* files" <<<"$out" || fail "no export summary: $out"
[ "$(ls -A "$tmp/share")" = "model.zip" ] || fail "export left other files: $(ls -A "$tmp/share")"
python3 -m zipfile -t "$tmp/share/model.zip" > /dev/null || fail "python's zipfile rejects the archive"
if command -v unzip > /dev/null; then
  unzip -tq "$tmp/share/model.zip" > /dev/null || fail "unzip -t rejects the archive"
fi
python3 - "$tmp/share/model.zip" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
for need in ["3d_fullres/plans.json", "3d_fullres/dataset.json", "3d_fullres/trainer_settings.json",
             "3d_fullres/fold_0/checkpoint_final.pt", "3d_fullres/fold_0/checkpoint_best.pt",
             "3d_fullres/fold_0/training_log.jsonl", "3d_fullres/fold_0/progress.svg",
             "3d_fullres/fold_0/validation/summary.json", "3d_fullres/training_profile.json",
             "3d_fullres/fold_0/validation/case_features.json"]:
    assert need in names, (need, sorted(names))
bad = [n for n in names if n.startswith("3d_fullres/fold_0/validation/") and
       not n.endswith(("summary.json", "summary.csv", "case_features.json"))]
assert not bad, bad
PY

# Install elsewhere, then predict with both: the same masks.
out=$("$medseg" install-model "$tmp/share/model.zip" -o "$tmp/elsewhere" 2>&1)
grep -q "installed 3d_fullres (fold_0): .* files -> $tmp/elsewhere/3d_fullres" <<<"$out" ||
  fail "no install summary: $out"
[ "$(ls -A "$tmp/elsewhere")" = "3d_fullres" ] || fail "install left other files: $(ls -A "$tmp/elsewhere")"
"$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/pred_original" -m "$model" --no-mirroring
"$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/pred_installed" -m "$tmp/elsewhere/3d_fullres" --no-mirroring
python3 - "$tmp/pred_original" "$tmp/pred_installed" <<'PY'
import gzip, os, sys
a, b = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(a))
assert names and names == sorted(os.listdir(b)), (names, os.listdir(b))
for n in names:
    if n.endswith(".nii.gz"):
        assert gzip.open(os.path.join(a, n)).read() == gzip.open(os.path.join(b, n)).read(), n
# The installed model carries its training profile (and cross-validation volumes): the same
# QA report, the model folder's path aside.
import json
ra, rb = (json.load(open(os.path.join(d, "report.json"))) for d in (a, b))
assert ra["ood_check"] == rb["ood_check"] == "on", (ra["ood_check"], rb["ood_check"])
assert ra["cases"] == rb["cases"], "the QA reports differ"
PY

# An existing model folder is kept unless --overwrite.
expect_fail 1 "$tmp/elsewhere/3d_fullres: model folder already exists and is not empty (--overwrite replaces it)" \
  "$medseg" install-model "$tmp/share/model.zip" -o "$tmp/elsewhere"
out=$("$medseg" install-model "$tmp/share/model.zip" -o "$tmp/elsewhere" --overwrite 2>&1)
grep -q "replaced the existing model folder" <<<"$out" || fail "--overwrite did not say it replaced: $out"

# A zip written by Python's zipfile (deflated, with folder entries) installs.
python3 - "$model" "$tmp/py.zip" <<'PY'
import os, sys, zipfile
model, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name in ["plans.json", "dataset.json", "fold_0/checkpoint_final.pt"]:
        z.write(os.path.join(model, name), "3d_fullres/" + name)
    z.writestr("3d_fullres/fold_0/validation/", "")
PY
"$medseg" --quiet install-model "$tmp/py.zip" -o "$tmp/from_python"
cmp "$model/fold_0/checkpoint_final.pt" "$tmp/from_python/3d_fullres/fold_0/checkpoint_final.pt" ||
  fail "the python-made zip's checkpoint differs after install"
"$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/pred_python" -m "$tmp/from_python/3d_fullres" --no-mirroring

# Bad archives: the file and the problem named, exit 1, nothing installed.
python3 - "$tmp/slip.zip" "$model" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.write(sys.argv[2] + "/plans.json", "3d_fullres/plans.json")
    z.writestr("3d_fullres/../../evil.txt", "gotcha")
PY
expect_fail 1 "slip.zip: zip entry '3d_fullres/../../evil.txt': '..' component" \
  "$medseg" install-model "$tmp/slip.zip" -o "$tmp/slipped/a"
[ ! -e "$tmp/slipped/evil.txt" ] && [ ! -e "$tmp/evil.txt" ] || fail "zip slip wrote outside the folder"
head -c 20000 "$tmp/share/model.zip" > "$tmp/cut.zip"
expect_fail 1 "cut.zip: truncated or corrupt zip archive" "$medseg" install-model "$tmp/cut.zip" -o "$tmp/cut"
[ -z "$(ls -A "$tmp/cut" 2>/dev/null)" ] || fail "a truncated archive left files: $(ls -A "$tmp/cut")"
expect_fail 1 "short.json: not a zip archive" "$medseg" install-model "$tmp/short.json" -o "$tmp/x"
expect_fail 1 "nope.zip: cannot open the archive" "$medseg" install-model "$tmp/nope.zip" -o "$tmp/x"

# Export errors: a checkpoint that is not there, a fold that is not there, a folder that is no model.
expect_fail 1 "fold_0/checkpoint_latest.pt: checkpoint not found" \
  "$medseg" export-model -m "$model" -o "$tmp/bad.zip" --checkpoints final,latest
expect_fail 1 "fold 2 not found" "$medseg" export-model -m "$model" -o "$tmp/bad.zip" -f 2
expect_fail 1 "plans.json: not found" "$medseg" export-model -m "$tmp/ds" -o "$tmp/bad.zip"
expect_fail 2 "newest" "$medseg" export-model -m "$model" -o "$tmp/bad.zip" --checkpoints newest
ls "$tmp" | grep -q "bad.zip" && fail "a failed export left a file: $(ls "$tmp" | grep bad.zip)"
echo "model_archive_cli: ok"
