# medseg train data parallel on CPU (Gloo over 127.0.0.1): --nproc 2 trains one model (rank 0
# alone writes the folder, the ranks share the final validation), SIGINT to the launcher
# checkpoints and --continue resumes with 2 ranks; a rank killed mid-run makes the others end
# with a clear error within seconds (started by the launcher, or by hand with the torchrun
# variables); bad distributed settings are usage errors.
source "$(dirname "$0")/common.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for FILE PID: until FILE is non-empty (at most 60 s), failing if PID ends first.
wait_for() {
  for _ in $(seq 600); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || fail "process $2 ended before $1 appeared"
    sleep 0.1
  done
  fail "$1 did not appear"
}
# wait_exit PID SECONDS: sets $status to PID's exit status, failing if it still runs after SECONDS.
wait_exit() {
  local i
  for i in $(seq $(($2 * 10))); do
    if ! kill -0 "$1" 2>/dev/null; then status=0; wait "$1" || status=$?; return 0; fi
    sleep 0.1
  done
  kill -9 "$1"; fail "process $1 still running after $2 s"
}

"$medseg" --quiet synth "$tmp/ds" --cases 6 --shape 12 16 16
"$medseg" --quiet plan "$tmp/ds" -o "$tmp/work" > /dev/null
"$medseg" --quiet preprocess "$tmp/work" -c 3d_fullres
model="$tmp/work/models/3d_fullres"
short=(--epochs 2 --iterations-per-epoch 3 --val-iterations 1)

# Two ranks on this machine, to the end.
out=$("$medseg" train "$tmp/work" -c 3d_fullres -f 0 --nproc 2 "${short[@]}" 2>&1) || fail "--nproc 2 run: $out"
grep -q "data parallel: 2 ranks over gloo" <<<"$out" || fail "no data-parallel line: $out"
grep -q "identical on all 2 ranks" <<<"$out" || fail "no replica check: $out"
grep -q "all 2 ranks finished" <<<"$out" || fail "launcher did not report the end: $out"
[ "$(grep -c 'epoch 2/2' <<<"$out")" -eq 1 ] || fail "epoch lines from more than rank 0: $out"
[ "$(wc -l < "$model/fold_0/training_log.jsonl")" -eq 2 ] || fail "training_log.jsonl is not 2 lines"
[ -s "$model/fold_0/checkpoint_final.pt" ] || fail "no checkpoint_final"
n_val=$(python3 -c "import json; print(len(json.load(open('$tmp/work/splits_final.json'))[0]['val']))")
[ "$(ls "$model/fold_0/validation/"*.nii.gz | wc -l)" -eq "$n_val" ] || fail "not every validation case predicted"
python3 - "$model/fold_0/validation/summary.json" "$n_val" <<'PY' || fail "summary.json does not score every case"
import json, sys
assert len(json.load(open(sys.argv[1]))["metric_per_case"]) == int(sys.argv[2])
PY

# SIGINT to the launcher: every rank stops at the same iteration, rank 0 saves, --continue resumes.
"$medseg" train "$tmp/work" -c 3d_fullres -f 1 --nproc 2 --epochs 1000 --iterations-per-epoch 3 \
  --val-iterations 1 --no-final-validation > "$tmp/int.log" 2>&1 &
pid=$!
wait_for "$model/fold_1/training_log.jsonl" "$pid"
kill -INT "$pid"
wait_exit "$pid" 60
[ "$status" -eq 1 ] || fail "interrupted run exited $status: $(cat "$tmp/int.log")"
[ "$(grep -c 'interrupted in epoch' "$tmp/int.log")" -eq 2 ] || fail "not both ranks stopped: $(cat "$tmp/int.log")"
[ -s "$model/fold_1/checkpoint_latest.pt" ] || fail "no checkpoint_latest after SIGINT"
done_epochs=$(wc -l < "$model/fold_1/training_log.jsonl")
"$medseg" --quiet train "$tmp/work" -c 3d_fullres -f 1 --nproc 2 --continue --epochs $((done_epochs + 1)) \
  --no-final-validation || fail "--continue with 2 ranks failed"
[ "$(wc -l < "$model/fold_1/training_log.jsonl")" -eq $((done_epochs + 1)) ] || fail "resumed log length"
[ -s "$model/fold_1/checkpoint_final.pt" ] || fail "--continue did not finish the run"

# A rank killed by the launcher's side: the launcher stops the rest and fails, no rank is left.
"$medseg" train "$tmp/work" -c 3d_fullres -f 2 --nproc 2 --epochs 1000 --iterations-per-epoch 3 \
  --val-iterations 1 --no-final-validation > "$tmp/kill.log" 2>&1 &
pid=$!
wait_for "$model/fold_2/training_log.jsonl" "$pid"
child=$(pgrep -P "$pid" | tail -1)
[ -n "$child" ] || fail "no rank processes under the launcher"
kill -9 "$child"
wait_exit "$pid" 60
[ "$status" -ne 0 ] || fail "launcher exited 0 after a rank was killed"
grep -q "was killed by signal 9" "$tmp/kill.log" || fail "launcher did not name the killed rank: $(cat "$tmp/kill.log")"
grep -q "another rank has exited" "$tmp/kill.log" || fail "the surviving rank gave no clear error: $(cat "$tmp/kill.log")"
! pgrep -P "$pid" > /dev/null || fail "ranks left running"

# Ranks started by hand with the torchrun variables (as Slurm or Kubernetes would): kill rank 1.
port=$(free_port)
WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$medseg" train "$tmp/work" -c 3d_fullres -f 3 \
  --epochs 1000 --iterations-per-epoch 3 --val-iterations 1 --no-final-validation > "$tmp/r0.log" 2>&1 &
rank0=$!
WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$medseg" train "$tmp/work" -c 3d_fullres -f 3 \
  --epochs 1000 --iterations-per-epoch 3 --val-iterations 1 --no-final-validation > "$tmp/r1.log" 2>&1 &
rank1=$!
wait_for "$model/fold_3/training_log.jsonl" "$rank0"
kill -9 "$rank1"; wait "$rank1" 2>/dev/null || true
wait_exit "$rank0" 60
[ "$status" -eq 1 ] || fail "rank 0 exited $status after rank 1 was killed: $(cat "$tmp/r0.log")"
grep -q "rank 0 of 2.*another rank has exited or stopped responding" "$tmp/r0.log" ||
  fail "rank 0's error is not clear: $(cat "$tmp/r0.log")"

# A rank whose peers never come: a rendezvous error naming the address, after --dist-timeout.
port=$(free_port)
expect_fail 1 "rendezvous at 127.0.0.1:$port failed" env WORLD_SIZE=2 RANK=1 MASTER_PORT=$port \
  "$medseg" train "$tmp/work" -c 3d_fullres -f 4 --dist-timeout 2 --no-final-validation

# Usage errors.
expect_fail 2 "cannot be combined with --rank" "$medseg" train "$tmp/work" -c 3d_fullres -f 4 --nproc 2 --rank 0
expect_fail 2 "RANK is set" env RANK=0 WORLD_SIZE=2 "$medseg" train "$tmp/work" -c 3d_fullres -f 4 --nproc 2
expect_fail 2 "rank 5 is outside" env RANK=5 WORLD_SIZE=2 "$medseg" train "$tmp/work" -c 3d_fullres -f 4
expect_fail 2 "MASTER_PORT" env MASTER_PORT=x WORLD_SIZE=2 "$medseg" train "$tmp/work" -c 3d_fullres -f 4
expect_fail 2 "smaller than the number of processes" "$medseg" train "$tmp/work" -c 3d_fullres -f 4 --nproc 3 \
  --no-final-validation
echo "distributed_cli: ok"
