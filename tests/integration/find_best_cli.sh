# medseg find-best, ensemble and postprocess apply on two tiny trained configurations (2d and
# 3d_fullres, folds 0 and 1, with probabilities): find-best scores both and their ensemble,
# writes the instructions, and the commands it emits segment new images with their geometry;
# a named configuration without every fold's validation is an error naming the fold.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 6 --test-cases 2 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 2d 3d_fullres
echo '{"num_epochs": 1, "iterations_per_epoch": 2, "val_iterations": 1}' > "$tmp/short.json"
for configuration in 2d 3d_fullres; do
  for fold in 0 1; do
    "$medseg" --quiet --threads 2 train "$tmp/work" -c "$configuration" -f "$fold" \
      --trainer-config "$tmp/short.json" --save-probabilities
  done
done
work="$tmp/work"

# Folds 2-4 are not trained: every configuration is left out, and a named one is an error.
expect_fail 1 "no configuration has the validation of fold(s) \[0,1,2,3,4\]" "$medseg" find-best -w "$work"
expect_fail 1 "models/2d/fold_2/validation: configuration 2d, fold 2: no fold_2 folder" \
  "$medseg" find-best -w "$work" -c 2d
expect_fail 2 "there is no fold 7" "$medseg" find-best -w "$work" -f 0 7

out=$("$medseg" --threads 2 find-best -w "$work" -f 0 1 2> "$tmp/find_best.log") ||
  fail "find-best failed: $(cat "$tmp/find_best.log")"
for candidate in 2d 3d_fullres ensemble__2d__3d_fullres; do
  grep -q "^$candidate " <<<"$out" || fail "no row for $candidate: $out"
done
[ "$(grep -c -- "<- best" <<<"$out")" -eq 1 ] || fail "not exactly one best: $out"
for f in find_best/inference_instructions.json find_best/results.txt \
         models/2d/crossval_results_folds_0_1/summary.json \
         models/3d_fullres/crossval_results_folds_0_1/summary.json \
         ensembles/ensemble__2d__3d_fullres/summary.json; do
  [ -s "$work/$f" ] || fail "$f not written"
done
[ "$out" == "$(cat "$work/find_best/results.txt")" ] || fail "results.txt differs from the printed table"
find "$work" -name '.*tmp*' | grep -q . && fail "temporary files left in $work"

# The emitted commands, on the held-out images.
python3 - "$work/find_best/inference_instructions.json" "$medseg" "$tmp/ds/imagesTs" "$tmp/new" \
  > "$tmp/commands.sh" <<'PY'
import json, shlex, sys
j = json.load(open(sys.argv[1]))
assert j["folds"] == [0, 1], j["folds"]
assert j["chosen"]["name"] in [c["name"] for c in j["candidates"]], j["chosen"]
assert j["postprocessing"]["file"].endswith("/postprocessing.json"), j["postprocessing"]
assert j["commands"][-1].startswith("medseg postprocess apply"), j["commands"]
for command in j["commands"]:
    assert command.startswith("medseg "), command
    command = command.replace("INPUT_FOLDER", shlex.quote(sys.argv[3]))
    print(shlex.quote(sys.argv[2]) + " --quiet" + command[len("medseg"):].replace(
        "OUTPUT_FOLDER", shlex.quote(sys.argv[4])))
PY
bash -e "$tmp/commands.sh" || fail "the instructions' commands failed: $(cat "$tmp/commands.sh")"
[ "$(ls "$tmp/new"/*.nii.gz | wc -l)" -eq 2 ] || fail "expected 2 segmentations in $tmp/new"
# evaluate refuses a prediction whose geometry differs from its reference.
"$medseg" --quiet evaluate -r "$tmp/ds/labelsTs" -p "$tmp/new" -d "$work/dataset.json" > /dev/null

# ensemble and postprocess apply by hand: both members with probabilities.
for configuration in 2d 3d_fullres; do
  "$medseg" --quiet predict -i "$tmp/ds/imagesTs" -o "$tmp/p_$configuration" \
    -m "$work/models/$configuration" -f 0 1 --save-probabilities --no-mirroring
done
"$medseg" --quiet ensemble -i "$tmp/p_2d" "$tmp/p_3d_fullres" -o "$tmp/ens" --save-probabilities
for i in "$tmp"/ds/imagesTs/*_0000.nii.gz; do
  case_id=$(basename "$i" _0000.nii.gz)
  for f in "$case_id.nii.gz" "$case_id.npy" "${case_id}_probabilities.json"; do
    [ -s "$tmp/ens/$f" ] || fail "ensemble wrote no $f"
  done
done
"$medseg" --quiet evaluate -r "$tmp/ds/labelsTs" -p "$tmp/ens" -d "$work/dataset.json" > /dev/null
mkdir -p "$tmp/pp_only"
echo '{"version": 1, "connectivity": "full", "steps": [{"operation": "keep_largest_component", "labels": [1, 2]}]}' \
  > "$tmp/pp_only/postprocessing.json"
"$medseg" --quiet postprocess apply -i "$tmp/ens" -o "$tmp/ens_pp" -p "$tmp/pp_only/postprocessing.json" \
  --dataset-json "$work/dataset.json"
"$medseg" --quiet evaluate -r "$tmp/ds/labelsTs" -p "$tmp/ens_pp" -d "$work/dataset.json" > /dev/null
mkdir -p "$tmp/partial"
cp "$tmp/p_2d"/*.json "$tmp/p_2d"/*.npy "$tmp/partial/"
rm "$tmp/partial/$case_id.npy"
expect_fail 1 "partial: has no probabilities of case $case_id ($case_id.npy missing" \
  "$medseg" ensemble -i "$tmp/p_3d_fullres" "$tmp/partial" -o "$tmp/bad"
[ ! -e "$tmp/bad" ] || [ -z "$(ls "$tmp/bad")" ] || fail "a failed ensemble left files behind"
expect_fail 2 "At least 2 required" "$medseg" ensemble -i "$tmp/p_2d" -o "$tmp/bad"
expect_fail 2 "pass --dataset-json" \
  "$medseg" postprocess apply -i "$tmp/ens" -o "$tmp/bad" -p "$tmp/pp_only/postprocessing.json"
echo "find_best_cli: ok"
