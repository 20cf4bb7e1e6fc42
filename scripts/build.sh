#!/usr/bin/env bash
# Configures and builds medseg (Release) into build/ (or $MEDSEG_BUILD_DIR). Extra arguments
# go to CMake's configure step, e.g. scripts/build.sh -DMEDSEG_BUILD_BENCHMARKS=ON.
# MEDSEG_BUILD_TARGETS: build only these targets (e.g. "medseg"; default: everything).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MEDSEG_BUILD_DIR:-$root/build}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" "$@"
fi
targets=()
for t in ${MEDSEG_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
