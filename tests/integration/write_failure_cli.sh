# Failed writes and killed runs: predict onto a full disk and a training whose checkpoint cannot
# be saved exit 1 naming the file and the reason, never abort, and leave no 0-byte output or
# temporary behind; predict --continue predicts an output left empty again; temporaries of
# ended processes are removed and never taken for outputs. A real full disk (a small tmpfs, in a
# private mount namespace) where this machine allows it (root), the file layer's test hook
# (MEDSEG_TEST_FAIL_WRITES_TO: writes land on /dev/full) everywhere.
if [ -z "${MEDSEG_WRITE_FAILURE_NS:-}" ] && [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
  MEDSEG_WRITE_FAILURE_NS=1 exec unshare -m bash "$0" "$@"
fi
source "$(dirname "$0")/common.sh"
trap 'umount "$tmp/full" "$tmp/work2/models" 2>/dev/null; rm -rf "$tmp"' EXIT

# No file ending in .tmp-... (hidden or not) under $1.
no_temporaries() {
  local left
  left=$(find "$1" -name '*.tmp-*' 2>/dev/null || true)
  [ -z "$left" ] || fail "temporary files left in $1: $left"
}
# This machine's part of temporary names (core/files.cpp: letters and digits of the host name).
host=$(uname -n | tr -cd '[:alnum:]' | cut -c1-16)
host=${host:-host}
ended_pid=$(sh -c 'echo $$')

"$medseg" --quiet synth "$tmp/ds" --cases 6 --test-cases 2 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres
echo '{"num_epochs": 1, "iterations_per_epoch": 2, "val_iterations": 1}' > "$tmp/short.json"
train=("$medseg" --threads 2 train "$tmp/work" -c 3d_fullres -f 0 --trainer-config "$tmp/short.json"
       --no-final-validation)
fold="$tmp/work/models/3d_fullres/fold_0"

# A checkpoint that cannot be written: exit 1 (not an abort, 134), the file and reason named.
MEDSEG_TEST_FAIL_WRITES_TO=checkpoint_ expect_fail 1 \
  "fold_0/checkpoint_[a-z]*\.pt: could not write: No space left on device" "${train[@]}"
[ -z "$(ls "$fold"/checkpoint_* 2>/dev/null)" ] || fail "a checkpoint appeared although its write failed"
no_temporaries "$fold"
"${train[@]}" --quiet  # the same run starts over and completes
model="$tmp/work/models/3d_fullres"
[ -s "$fold/checkpoint_final.pt" ] || fail "no checkpoint_final.pt after a good run"

# A prediction that cannot be written: exit 1 naming it, no output of it, no temporary.
# (The mask's name only: a flagged case's QA picture is written first, and would fail first.)
predict=("$medseg" --threads 2 predict -i "$tmp/ds/imagesTs" -m "$model" -f 0 --no-mirroring)
MEDSEG_TEST_FAIL_WRITES_TO=synthtest_001.nii.gz expect_fail 1 \
  "pred/synthtest_001.nii.gz: could not write image: No space left on device" "${predict[@]}" -o "$tmp/pred"
[ -s "$tmp/pred/synthtest_000.nii.gz" ] || fail "the case before the failed one was not written"
[ ! -e "$tmp/pred/synthtest_001.nii.gz" ] || fail "an output appeared although its write failed"
no_temporaries "$tmp/pred"

# What a killed or disk-full run leaves: an empty output and a temporary of an ended process.
# --continue predicts the empty one again (with a warning) and removes the temporary; one of a
# running process stays, and neither predict nor evaluate takes it for a case.
: > "$tmp/pred/synthtest_000.nii.gz"
stale="$tmp/pred/.synthtest_001.tmp-$host-$ended_pid-0.nii.gz"
live="$tmp/pred/.synthtest_009.tmp-$host-$$-0.nii.gz"
echo "half" > "$stale"
echo "half" > "$live"
out=$("${predict[@]}" -o "$tmp/pred" --continue 2>&1) || fail "predict --continue failed: $out"
grep -q "synthtest_000: the existing output is not a complete image, predicting it again" <<<"$out" ||
  fail "no warning about the empty output: $out"
for c in synthtest_000 synthtest_001; do
  [ -s "$tmp/pred/$c.nii.gz" ] || fail "$c was not predicted by --continue"
done
[ ! -e "$stale" ] || fail "the temporary of an ended process was not removed"
[ -e "$live" ] || fail "the temporary of a running process was removed"
out=$("$medseg" evaluate -r "$tmp/ds/labelsTs" -p "$tmp/pred" -l 1,2 2>&1) || fail "evaluate failed: $out"
grep -q "evaluated 2 cases" <<<"$out" || fail "evaluate did not score exactly the 2 predictions: $out"
out=$("${predict[@]}" -o "$tmp/pred" --continue 2>&1) || fail "predict --continue failed: $out"
grep -q "0 case(s) predicted" <<<"$out" || fail "complete outputs were predicted again: $out"

# A real full disk, where mounting a tmpfs is allowed (only in the private mount namespace).
mkdir -p "$tmp/full"
if [ -z "${MEDSEG_WRITE_FAILURE_NS:-}" ] || ! mount -t tmpfs -o size=64k medseg-test "$tmp/full"; then
  echo "write_failure_cli: full-disk part skipped (mounting a tmpfs needs root and unshare -m)"
  echo "write_failure_cli: ok"
  exit 0
fi
dd if=/dev/zero of="$tmp/full/filler" bs=4k 2>/dev/null || true
# The first file of the first case fails: its QA picture when the case is flagged, else its mask.
expect_fail 1 "full/pred/\(qa/synthtest_000.png: could not write\|synthtest_000.nii.gz: could not write image\): No space left on device" \
  "${predict[@]}" -o "$tmp/full/pred"
[ -z "$(find "$tmp/full/pred" -type f)" ] || fail "files left on the full disk: $(ls -la "$tmp/full/pred")"

# Training into a model folder on a disk too small for a checkpoint.
mkdir -p "$tmp/work2/models"
cp -r "$tmp/work/plans.json" "$tmp/work/dataset.json" "$tmp/work/splits_final.json" \
  "$tmp/work/preprocessed" "$tmp/work2/"
mount -t tmpfs -o size=1m medseg-test "$tmp/work2/models"
status=0
out=$("$medseg" --threads 2 train "$tmp/work2" -c 3d_fullres -f 0 --trainer-config "$tmp/short.json" \
  --no-final-validation 2>&1) || status=$?
[ "$status" -eq 1 ] || fail "training onto a full disk exited $status, not 1: $out"
grep -q "fold_0/checkpoint_[a-z]*\.pt: could not write: No space left on device" <<<"$out" ||
  fail "the error does not name the checkpoint and the reason: $out"
no_temporaries "$tmp/work2/models"
echo "write_failure_cli: ok"
