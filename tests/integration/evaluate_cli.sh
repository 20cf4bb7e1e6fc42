#!/usr/bin/env bash
# `medseg evaluate` end to end on a tiny synthetic dataset: references scored against
# themselves give Dice 1; a missing prediction is scored as empty and the run still succeeds;
# a prediction with another geometry, or no -l/-d, makes the command fail.
# Usage: evaluate_cli.sh <path to the medseg executable>
set -euo pipefail
MEDSEG="$1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$MEDSEG" --quiet synth "$WORK/data" --cases 3 --shape 16 20 20
REF="$WORK/data/labelsTr"

# 1. Perfect predictions.
cp -r "$REF" "$WORK/pred"
"$MEDSEG" --quiet evaluate -r "$REF" -p "$WORK/pred" -l 1,2 -j 2 > "$WORK/table.txt"
grep -q "foreground mean" "$WORK/table.txt" || fail "no table printed"
[ -f "$WORK/pred/summary.csv" ] || fail "summary.csv not written"
python3 - "$WORK/pred/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["num_cases"] == 3, s["num_cases"]
for label in ("1", "2"):
    assert s["mean"][label]["Dice"] == 1.0, s["mean"][label]
    assert s["mean"][label]["HD95"] == 0.0, s["mean"][label]
    assert s["mean"][label]["NSD"] == 1.0, s["mean"][label]
assert s["foreground_mean"]["Dice"] == 1.0
PY

# 2. The same with labels from dataset.json.
"$MEDSEG" --quiet evaluate -r "$REF" -p "$WORK/pred" -d "$WORK/data/dataset.json" \
  -o "$WORK/by_dataset.json" > /dev/null
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["labels"]["2"]["name"]=="lesion"; assert s["foreground_mean"]["Dice"]==1.0' \
  "$WORK/by_dataset.json"

# 3. A missing prediction: scored as empty, the run succeeds.
mkdir "$WORK/pred_missing"
cp "$REF"/synth_000.nii.gz "$REF"/synth_001.nii.gz "$WORK/pred_missing/"
"$MEDSEG" --quiet evaluate -r "$REF" -p "$WORK/pred_missing" -l 1,2 > /dev/null
python3 - "$WORK/pred_missing/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["num_missing_predictions"] == 1, s["num_missing_predictions"]
last = s["metric_per_case"][2]
assert last["prediction_missing"] is True and last["metrics"]["1"]["Dice"] == 0.0, last
assert abs(s["mean"]["1"]["Dice"] - 2.0 / 3.0) < 1e-12, s["mean"]["1"]
PY

# 4. A prediction with another geometry (same shapes, spacing 3 1 1): non-zero exit, both files named.
"$MEDSEG" --quiet synth "$WORK/other" --cases 3 --shape 16 20 20 --spacing 3 1 1
cp -r "$REF" "$WORK/pred_geometry"
cp "$WORK/other/labelsTr/synth_001.nii.gz" "$WORK/pred_geometry/"
if "$MEDSEG" --quiet evaluate -r "$REF" -p "$WORK/pred_geometry" -l 1,2 2> "$WORK/err.txt"; then
  fail "a prediction with another geometry was accepted"
fi
grep -q "pred_geometry/synth_001.nii.gz: geometry differs from the reference .*labelsTr/synth_001.nii.gz" \
  "$WORK/err.txt" || fail "unexpected message: $(cat "$WORK/err.txt")"
[ ! -f "$WORK/pred_geometry/summary.json" ] || fail "summary.json written despite the error"

# 5. Neither -l nor -d: a usage error (exit status 2).
set +e
"$MEDSEG" --quiet evaluate -r "$REF" -p "$WORK/pred" 2> "$WORK/usage.txt"
status=$?
set -e
[ "$status" -eq 2 ] || fail "expected exit status 2 without -l/-d, got $status"
grep -q "exactly one of -d/--dataset-json and -l/--labels" "$WORK/usage.txt" || fail "no usage message"
echo "evaluate_cli: all checks passed"
