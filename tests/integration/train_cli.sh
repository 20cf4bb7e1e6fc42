# medseg train on a tiny planned and preprocessed synthetic dataset: a short run from a user
# trainer config writes the model folder (checkpoints, log, plot, validation + summary.json);
# SIGINT saves checkpoint_latest and exits 1, --continue finishes the run; usage errors exit 2.
source "$(dirname "$0")/common.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 6 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres
cat > "$tmp/short.json" <<'JSON'
{"num_epochs": 2, "iterations_per_epoch": 2, "val_iterations": 1, "checkpoint_every": 1}
JSON
out=$("$medseg" --threads 2 train "$tmp/work" -c 3d_fullres -f 0 --trainer-config "$tmp/short.json" 2>&1)
grep -q "epoch 2/2" <<<"$out" || fail "no epoch line: $out"
grep -q "final validation: mean foreground Dice" <<<"$out" || fail "no final validation: $out"
model="$tmp/work/models/3d_fullres"
for f in plans.json dataset.json trainer_settings.json fold_0/checkpoint_final.pt fold_0/checkpoint_best.pt \
         fold_0/training_log.jsonl fold_0/progress.svg fold_0/validation/summary.json; do
  [ -s "$model/$f" ] || fail "$model/$f missing"
done
[ ! -e "$model/fold_0/checkpoint_latest.pt" ] || fail "checkpoint_latest left after the final one"
[ "$(wc -l < "$model/fold_0/training_log.jsonl")" -eq 2 ] || fail "expected 2 log lines"
grep -q '"num_epochs": 2' "$model/trainer_settings.json" || fail "trainer_settings.json lacks the file's values"
[ "$(grep -o '"val"' "$tmp/work/splits_final.json" | wc -l)" -eq 5 ] || fail "splits_final.json has not 5 folds"
n_val=$(ls "$model/fold_0/validation/"*.nii.gz | wc -l)
[ "$n_val" -ge 1 ] || fail "no validation predictions"
expect_fail 2 "already holds checkpoints" "$medseg" train "$tmp/work" -c 3d_fullres -f 0 --no-final-validation

# SIGINT in the middle of a long run: checkpoint_latest, exit 1; --continue with fewer epochs ends it.
"$medseg" train "$tmp/work" -c 3d_fullres -f 1 --epochs 1000 --iterations-per-epoch 2 --val-iterations 1 \
  --no-final-validation > "$tmp/long.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -s "$model/fold_1/training_log.jsonl" ] && break; sleep 0.1; done
kill -INT "$pid"
status=0; wait "$pid" || status=$?
[ "$status" -eq 1 ] || fail "interrupted run exited $status: $(cat "$tmp/long.log")"
grep -q "interrupted in epoch" "$tmp/long.log" || fail "no interrupt message: $(cat "$tmp/long.log")"
[ -s "$model/fold_1/checkpoint_latest.pt" ] || fail "no checkpoint_latest after SIGINT"
done_epochs=$(wc -l < "$model/fold_1/training_log.jsonl")
"$medseg" --quiet train "$tmp/work" -c 3d_fullres -f 1 --continue --epochs $((done_epochs + 1)) --no-final-validation
[ -s "$model/fold_1/checkpoint_final.pt" ] || fail "--continue did not finish the run"
[ "$(wc -l < "$model/fold_1/training_log.jsonl")" -eq $((done_epochs + 1)) ] || fail "resumed log length"

# Usage errors.
expect_fail 2 "or 'all'" "$medseg" train "$tmp/work" -c 3d_fullres -f x
expect_fail 2 "must be cpu, cuda" "$medseg" train "$tmp/work" -c 3d_fullres -f 2 --device gpu
echo '{"num_epochs": 2, "epochs": 3}' > "$tmp/bad.json"
expect_fail 1 "unknown key 'epochs'" "$medseg" train "$tmp/work" -c 3d_fullres -f 2 --trainer-config "$tmp/bad.json"
echo "train_cli: ok"
