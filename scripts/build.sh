#!/usr/bin/env bash
# Configures and builds medseg (Release) into build/ (or $MEDSEG_BUILD_DIR). Extra arguments
# go to CMake's configure step, e.g. scripts/build.sh -DMEDSEG_BUILD_BENCHMARKS=ON.
# MEDSEG_BUILD_TARGETS: build only these targets (e.g. "medseg"; default: everything).
# MEDSEG_TORCH=2: against the pinned libtorch 2.x with CUDA (scripts/lib/torch.sh), into
# build-torch2/ unless MEDSEG_BUILD_DIR says otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/torch.sh"
root=$medseg_root
build=$medseg_build_dir
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
torch_args=()
if [ "$medseg_torch" = 2 ]; then
  args=$(torch2_cmake_args) || exit 1
  read -r -a torch_args <<<"$args"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${torch_args[@]}" "$@"
elif [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" "$@"
fi
targets=()
for t in ${MEDSEG_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
