# The set-up scripts' choices and their errors (no install, no build: quick).
source "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

# MEDSEG_TORCH takes 1 or 2 only, in every script that reads it.
for script in install-deps.sh build.sh test.sh demo.sh; do
  expect_fail 2 "MEDSEG_TORCH must be 1" env MEDSEG_TORCH=3 bash "$root/scripts/$script"
done

# The libtorch 2.x build folder and CMake arguments; a missing wheel is named with its remedy.
(
  export MEDSEG_TORCH=2
  unset MEDSEG_BUILD_DIR
  source "$root/scripts/lib/torch.sh"
  [ "$medseg_build_dir" = "$root/build-torch2" ] || fail "MEDSEG_TORCH=2 builds into $medseg_build_dir"
  torch2_venv="$tmp/no-such-venv"
  out=$(torch2_cmake_args 2>&1) && fail "torch2_cmake_args without the wheel succeeded: $out"
  grep -q "MEDSEG_TORCH=2 scripts/install-deps.sh" <<<"$out" || fail "no remedy in: $out"
  # With a wheel's layout present, the CMake arguments point at its TorchConfig folder.
  mkdir -p "$tmp/venv/lib/python3.11/site-packages/torch/share/cmake/Torch"
  torch2_venv="$tmp/venv"
  PATH="$tmp/bin:$PATH"
  mkdir -p "$tmp/bin" && printf '#!/bin/sh\n' > "$tmp/bin/nvcc" && chmod +x "$tmp/bin/nvcc"
  args=$(torch2_cmake_args)
  [ "$args" = "-DCMAKE_PREFIX_PATH=$tmp/venv/lib/python3.11/site-packages/torch/share/cmake -DCMAKE_CUDA_COMPILER=$tmp/bin/nvcc" ] ||
    fail "torch2_cmake_args: $args"
)
(
  unset MEDSEG_TORCH MEDSEG_BUILD_DIR
  source "$root/scripts/lib/torch.sh"
  [ "$medseg_torch" = 1 ] && [ "$medseg_build_dir" = "$root/build" ] || fail "default: $medseg_torch $medseg_build_dir"
)

# A build against a libtorch 2.x that is not installed stops before configuring anything.
expect_fail 1 "run MEDSEG_TORCH=2 scripts/install-deps.sh" env MEDSEG_TORCH=2 \
  MEDSEG_TORCH2_VENV="$tmp/absent" MEDSEG_BUILD_DIR="$tmp/build" bash "$root/scripts/build.sh"
[ ! -e "$tmp/build/CMakeCache.txt" ] || fail "build.sh configured $tmp/build without libtorch 2.x"

# install-deps replaces only a venv: a folder of something else named by MEDSEG_TORCH2_VENV stays.
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  mkdir -p "$tmp/precious" && echo keep > "$tmp/precious/file"
  # (Debian's packages are installed: the script gets past them without asking apt.)
  if dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed"; then
    expect_fail 1 "is not a Python venv: not touching it" env MEDSEG_TORCH=2 \
      MEDSEG_TORCH2_VENV="$tmp/precious" bash "$root/scripts/install-deps.sh"
    [ "$(cat "$tmp/precious/file")" = keep ] || fail "install-deps removed $tmp/precious"
  fi
fi

# gpu-check.sh: usage errors exit 2 before anything runs.
expect_fail 2 "--device must be cuda or cpu" bash "$root/scripts/gpu-check.sh" --device tpu
expect_fail 2 "--iterations must be a positive integer" bash "$root/scripts/gpu-check.sh" --iterations 0
expect_fail 2 "unknown benchmark 'brats'" bash "$root/scripts/gpu-check.sh" --benchmarks hippocampus,brats
expect_fail 2 "unknown option '--frobnicate'" bash "$root/scripts/gpu-check.sh" --frobnicate
expect_fail 2 "--deadline must be a number of seconds" bash "$root/scripts/gpu-check.sh" --deadline soon
expect_fail 2 "--clinical-shape must be Z,Y,X" bash "$root/scripts/gpu-check.sh" --clinical-shape 256,256
expect_fail 2 "--real-iterations must be a positive integer" bash "$root/scripts/gpu-check.sh" --real-iterations 0
echo "scripts_cli: ok"
