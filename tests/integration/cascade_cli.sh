# The cascade (issue 20) on a tiny synthetic dataset: a plan with 3d_lowres (a small
# --gpu-memory), the five 3d_lowres folds trained briefly (each fold's final validation writes
# its cases onto the cascade's grid, predicted_next_stage/), 3d_cascade_fullres fold 0 trained
# on them, and a test case predicted through both stages.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 6 --test-cases 1
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" --gpu-memory 0.01 > /dev/null
grep -q '"3d_cascade_fullres"' "$tmp/work/plans.json" || fail "no cascade planned"
"$medseg" --quiet preprocess "$tmp/work" -c 3d_lowres 3d_fullres
cat > "$tmp/short.json" <<'JSON'
{"num_epochs": 1, "iterations_per_epoch": 2, "val_iterations": 1, "mixed_precision": false, "mirroring": false}
JSON
train() { "$medseg" --quiet --threads 2 train "$tmp/work" --trainer-config "$tmp/short.json" "$@"; }

# Before the previous stage: a clear error naming the folds to train.
expect_fail 1 "lacks the 3d_lowres predictions of 6 case(s)" train -c 3d_cascade_fullres -f 0
expect_fail 1 "train 3d_lowres fold(s) 0 1 2 3 4 to the end" train -c 3d_cascade_fullres -f 0

lowres="$tmp/work/models/3d_lowres"
for fold in 0 1 2 3 4; do train -c 3d_lowres -f "$fold"; done
next="$lowres/predicted_next_stage/3d_cascade_fullres"
[ "$(ls "$next"/*.npy | wc -l)" -eq 6 ] || fail "expected 6 next-stage segmentations: $(ls "$next")"

# One case missing: the error names it and the fold that validates it.
first=$(ls "$next" | head -1)
case_id=${first%.npy}
fold_of=$(python3 -c "import json,sys; s=json.load(open('$tmp/work/splits_final.json')); print([k for k,f in enumerate(s) if '$case_id' in f['val']][0])")
mv "$next/$first" "$tmp/held.npy"
expect_fail 1 "1 case(s) ($case_id): train 3d_lowres fold(s) $fold_of " train -c 3d_cascade_fullres -f 0
mv "$tmp/held.npy" "$next/$first"

out=$(train -c 3d_cascade_fullres -f 0 2>&1) || fail "cascade training failed: $out"
cascade="$tmp/work/models/3d_cascade_fullres"
[ -s "$cascade/fold_0/checkpoint_final.pt" ] || fail "no cascade checkpoint"
[ -s "$cascade/fold_0/validation/summary.json" ] || fail "no cascade final validation"

# Test images: 3d_lowres, then the cascade on its predictions.
"$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/low" -m "$lowres" -f 0 1 2 3 4
expect_fail 2 "give the predictions of 3d_lowres with --previous-stage" \
  "$medseg" predict -i "$tmp/ds/imagesTs" -o "$tmp/full" -m "$cascade" -f 0
"$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/full" -m "$cascade" -f 0 --previous-stage "$tmp/low"
[ "$(ls "$tmp/full"/*.nii.gz | wc -l)" -eq 1 ] || fail "no cascade prediction"
# Scored against the test labels: the same grid and geometry as the input.
"$medseg" --quiet evaluate -r "$tmp/ds/labelsTs" -p "$tmp/full" -d "$tmp/ds/dataset.json"
[ -s "$tmp/full/summary.json" ] || fail "no evaluation of the cascade's prediction"
echo "cascade_cli: ok"
