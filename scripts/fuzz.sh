#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with Clang (AddressSanitizer + UBSan) into
# build-fuzz/ and runs each for MEDSEG_FUZZ_SECONDS (default 20) over a copy of its committed
# seed corpus (tests/fuzz/corpus/<target>/ is never written). Fails on any finding: a crash, a
# sanitizer report, an exception other than medseg::Error, an input slower than 10 s, or more
# than 4 GB of memory. The input that caused it is kept in build-fuzz/findings/<target>/.
# Usage: scripts/fuzz.sh [target ...]   (default: every target: nifti npy json_readers
# checkpoint checkpoint_file zip pickle). A target's dictionary, tests/fuzz/<target>.dict, is
# used when there is one.
# MEDSEG_FUZZ_BUILD_DIR: another build folder. The build uses Debian's libtorch 1.13 always.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MEDSEG_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${MEDSEG_FUZZ_SECONDS:-20}
# A fixed seed (MEDSEG_FUZZ_SEED, default 1): the same inputs on every CI run, so a CI failure is
# a finding to reproduce, not chance; set another seed (or 0: random) to explore further.
seed=${MEDSEG_FUZZ_SEED:-1}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(nifti npy json_readers checkpoint checkpoint_file zip pickle)
started=$SECONDS

MEDSEG_INSTALL_FUZZ=1 bash "$root/scripts/install-deps.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMEDSEG_FUZZ=ON -DMEDSEG_BUILD_TESTS=OFF
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "medseg_fuzz_$t"); done
cmake --build "$build" -j"$(nproc)" "${build_targets[@]}"
echo "fuzz: build took $((SECONDS - started)) s"

# UBSan stops at the first report (the targets are built without recovery); leaks are findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${targets[@]}"; do
  seeds=$root/tests/fuzz/corpus/$t
  findings=$build/findings/$t
  rm -rf "$findings"
  mkdir -p "$work/$t" "$findings"
  [ -d "$seeds" ] && cp -r "$seeds/." "$work/$t/"
  dict=()
  [ -f "$root/tests/fuzz/$t.dict" ] && dict=(-dict="$root/tests/fuzz/$t.dict")
  log=$build/findings/$t.log
  echo "fuzz: $t for $seconds s ($(ls "$work/$t" | wc -l) seeds)"
  # TMPDIR: the targets' input files go below $work, removed even after a crash.
  if TMPDIR=$work "$build/fuzz/medseg_fuzz_$t" "$work/$t" -max_total_time="$seconds" \
      -seed="$seed" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" \
      "${dict[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: no finding in $runs runs ($(ls "$work/$t" | wc -l) inputs in the corpus)"
  else
    failed+=("$t")
    echo "fuzz: $t: FINDING; the input is in $findings/, the log in $log:" >&2
    grep -E -m 12 "ERROR|runtime error|terminate|SUMMARY|#[0-9]+ 0x" "$log" >&2 || tail -n 30 "$log" >&2
  fi
done
echo "fuzz: done in $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
