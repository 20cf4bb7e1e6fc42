# Sourced by install-deps.sh, build.sh, test.sh and demo.sh: which libtorch medseg builds against.
#   MEDSEG_TORCH=1 (default)  Debian 12's libtorch 1.13, CPU only: the quickest set-up.
#   MEDSEG_TORCH=2            libtorch 2.x with CUDA and NCCL compiled in, from the pinned `torch`
#                             wheel of the Python package index, installed into the ignored folder
#                             .deps/torch-<version>/ (a venv). Needs the CUDA toolkit (nvcc) for
#                             the build; runs on the CPU as well when there is no GPU.
#                             MEDSEG_TORCH2_VENV=DIR: that venv instead of .deps/torch-<version>.
# Sets medseg_torch (1|2), medseg_build_dir (build/ or build-torch2/, unless MEDSEG_BUILD_DIR is
# set) and, for 2, torch2_version, torch2_venv and the function torch2_cmake_args.
medseg_torch=${MEDSEG_TORCH:-1}
case "$medseg_torch" in
  1 | 2) ;;
  *) echo "MEDSEG_TORCH must be 1 (Debian's libtorch 1.13) or 2 (libtorch 2.x with CUDA), got '$medseg_torch'" >&2
     exit 2 ;;
esac
medseg_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The version the GPU machine's PyTorch has (2.11.0+cu130), so one build's results compare.
torch2_version=2.11.0
# MEDSEG_TORCH2_VENV puts it elsewhere (e.g. one venv shared by several checkouts).
torch2_venv=${MEDSEG_TORCH2_VENV:-$medseg_root/.deps/torch-$torch2_version}
if [ "$medseg_torch" = 2 ]; then
  medseg_build_dir=${MEDSEG_BUILD_DIR:-$medseg_root/build-torch2}
else
  medseg_build_dir=${MEDSEG_BUILD_DIR:-$medseg_root/build}
fi

# The wheel's CMake folder (its TorchConfig.cmake), without importing torch (seconds).
torch2_cmake_prefix() {
  local config
  config=$(ls -d "$torch2_venv"/lib/python3*/site-packages/torch/share/cmake 2>/dev/null | head -n 1)
  if [ -z "$config" ]; then
    echo "libtorch $torch2_version is not installed in $torch2_venv: run MEDSEG_TORCH=2 scripts/install-deps.sh" >&2
    return 1
  fi
  echo "$config"
}

torch2_nvcc() {
  local nvcc
  nvcc=$(command -v nvcc 2>/dev/null || true)
  [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
  if [ -z "$nvcc" ]; then
    echo "MEDSEG_TORCH=2 needs the CUDA toolkit (nvcc, on PATH or in /usr/local/cuda): libtorch's CMake config with CUDA requires it" >&2
    return 1
  fi
  echo "$nvcc"
}

# CMake configure arguments of a build against the wheel's libtorch.
torch2_cmake_args() {
  local prefix nvcc
  prefix=$(torch2_cmake_prefix) || return 1
  nvcc=$(torch2_nvcc) || return 1
  echo "-DCMAKE_PREFIX_PATH=$prefix -DCMAKE_CUDA_COMPILER=$nvcc"
}
