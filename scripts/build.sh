#!/usr/bin/env bash
# Configures and builds medseg (Release) into build/ (or $MEDSEG_BUILD_DIR). Extra arguments
# go to CMake's configure step, e.g. scripts/build.sh -DMEDSEG_BUILD_BENCHMARKS=ON.
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
cmake --build "$build" -j"$(nproc)"
