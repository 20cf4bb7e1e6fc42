# scripts/benchmark-msd.sh on a tiny synthetic dataset with a test set: one results JSON with
# numeric cross-validation and test scores per class, a time and a peak RSS per stage, and the
# run's metadata; a failing stage exits 1 naming the stage and writes no results; bad usage
# exits 2.
source "$(dirname "$0")/common.sh"
script="$(dirname "$0")/../../scripts/benchmark-msd.sh"

"$medseg" --quiet synth "$tmp/ds" --cases 6 --test-cases 2 --shape 12 16 16
out=$(bash "$script" "$tmp/ds" --budget 1,2 --threads 2 --medseg "$medseg" --work "$tmp/work" \
  --output "$tmp/out/results.json" 2>&1) || fail "benchmark failed: $out"
grep -q "results in $tmp/out/results.json" <<<"$out" || fail "no closing line: $out"
ls "$tmp/out" | grep -q '\.tmp' && fail "temporary results file left in $tmp/out"
for stage in validate plan preprocess train_fold_0 predict_test evaluate_test; do
  [ -s "$tmp/work/logs/$stage.log" ] || fail "no log for stage $stage"
done
python3 - "$tmp/out/results.json" "$tmp/ds" "$medseg" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)

def check_scores(scores, where):
    assert set(scores["per_class"]) == {"1", "2"}, (where, scores["per_class"])
    assert scores["per_class"]["1"]["name"] == "organ" and scores["per_class"]["2"]["name"] == "lesion", where
    for key, c in scores["per_class"].items():
        assert number(c["Dice"]) and 0 <= c["Dice"] <= 1, (where, key, c)
        assert number(c["HD95"]) and c["HD95"] >= 0, (where, key, c)
    assert number(scores["foreground_mean_dice"]), where
    mean = (scores["per_class"]["1"]["Dice"] + scores["per_class"]["2"]["Dice"]) / 2
    assert abs(scores["foreground_mean_dice"] - mean) < 1e-12, (where, scores)

fold0 = r["cross_validation"]["per_fold"]["0"]
assert fold0["num_cases"] == 2, fold0  # 6 cases, 5 folds: fold 0 validates on 2
check_scores(fold0, "fold 0")
check_scores(r["cross_validation"]["mean_over_folds"], "mean over folds")
# One fold: the mean over folds is that fold.
assert r["cross_validation"]["mean_over_folds"]["per_class"] == fold0["per_class"]
test = r["test"]
assert test["evaluated"] is True and test["num_predicted"] == 2 and test["num_cases"] == 2, test
check_scores(test, "test")
stages = ["validate", "plan", "preprocess", "train_fold_0", "predict_test", "evaluate_test"]
assert list(r["timings_s"]) == stages and list(r["peak_rss_kib"]) == stages, (r["timings_s"], r["peak_rss_kib"])
for s in stages:
    assert number(r["timings_s"][s]) and r["timings_s"][s] >= 0, s
    assert isinstance(r["peak_rss_kib"][s], int) and r["peak_rss_kib"][s] > 1000, s
assert r["budget"] == {"epochs": 1, "iterations_per_epoch": 2, "val_iterations": None}, r["budget"]
assert r["configuration"] == "3d_fullres" and r["folds"] == [0] and r["device"] == "cpu" and r["threads"] == 2
assert r["dataset"] == {"path": sys.argv[2], "name": "Synthetic"}, r["dataset"]
assert r["medseg_version_string"].startswith("medseg " + r["medseg_version"]), r
assert "torch_version" not in r or r["torch_version"] in r["medseg_version_string"]
assert r["hostname"] and number(r["nproc"]) and r["nproc"] >= 1 and r["date"].endswith("Z")
assert "--budget 1,2 --threads 2 --medseg " + sys.argv[3] in r["command_line"], r["command_line"]
PY

# A broken dataset.json: the validate stage fails and is named; no results.
cp -r "$tmp/ds" "$tmp/broken"
echo '{"name": "broken",' > "$tmp/broken/dataset.json"
expect_fail 1 "stage 'validate' failed" bash "$script" "$tmp/broken" --threads 2 --medseg "$medseg" \
  --work "$tmp/work_broken"
[ -s "$tmp/work_broken/logs/validate.log" ] || fail "no validate log"
[ ! -e "$tmp/work_broken/results.json" ] || fail "results written after a failed stage"
# A configuration the plan does not have: the preprocess stage fails.
expect_fail 1 "stage 'preprocess' failed" bash "$script" "$tmp/ds" --configuration 3d_nonexistent --threads 2 \
  --medseg "$medseg" --work "$tmp/work_conf"
[ ! -e "$tmp/work_conf/results.json" ] || fail "results written after a failed stage"

# Usage errors.
expect_fail 2 "not empty" bash "$script" "$tmp/ds" --medseg "$medseg" --work "$tmp/work"
expect_fail 2 "EPOCHS,ITERATIONS" bash "$script" "$tmp/ds" --medseg "$medseg" --budget 1 --work "$tmp/w2"
expect_fail 2 "repeats a fold" bash "$script" "$tmp/ds" --medseg "$medseg" --folds 0,0 --work "$tmp/w2"
expect_fail 2 "unknown option '--fold'" bash "$script" "$tmp/ds" --fold 1
echo "benchmark_msd_cli: ok"
