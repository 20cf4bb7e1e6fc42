#!/usr/bin/env bash
# Installs every Debian 12 package that medseg's build, tests, benchmarks and demo need
# (MEDSEG_INSTALL_FUZZ=1: also Clang and libFuzzer, for scripts/fuzz.sh).
# Idempotent: packages already present are skipped. Runs as root, or through sudo otherwise.
# MEDSEG_TORCH=2 also installs the pinned libtorch 2.x with CUDA (the `torch` wheel and its
# nvidia-* runtime wheels, about 4.6 GB) into .deps/torch-<version>/ (scripts/lib/torch.sh);
# pip's download cache makes a reinstall on the same machine quick.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/torch.sh"

PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread libgloo-dev
  libdnnl-dev  # oneDNN's headers: channels-last inference with libtorch 1.13 (nn/channels_last.h)
  libinsighttoolkit5-dev
  libdcmtk-dev libgdcm-dev  # DICOM input (also dependencies of libinsighttoolkit5-dev)
  dicom3tools python3-pydicom python3-numpy  # DICOM output tests: dciodvfy, an independent reader
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  time python3 procps
)
# The venv that holds the torch wheel: Debian's python3 needs python3-venv for it.
[ "$medseg_torch" = 2 ] && PACKAGES+=(python3-venv)
# scripts/fuzz.sh (MEDSEG_INSTALL_FUZZ=1): Clang, with libFuzzer and the sanitizer runtimes
# (Debian 12 packs those apart from the compiler, in libclang-rt-14-dev).
[ "${MEDSEG_INSTALL_FUZZ:-0}" = 1 ] && PACKAGES+=(clang libclang-rt-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} Debian packages already installed"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "install-deps: not root and sudo is not available; install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "install-deps: installing ${missing[*]}"
  started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "install-deps: installed in $((SECONDS - started)) s"
fi

[ "$medseg_torch" = 2 ] || exit 0
# libtorch 2.x with CUDA from the torch wheel, pinned.
if [ -f "$torch2_venv/.medseg-installed" ] &&
   [ "$(cat "$torch2_venv/.medseg-installed")" = "torch==$torch2_version" ] &&
   torch2_cmake_prefix >/dev/null 2>&1; then
  echo "install-deps: libtorch $torch2_version (torch wheel) already in $torch2_venv"
  exit 0
fi
torch2_nvcc >/dev/null   # the build will need the CUDA toolkit: say so now
python=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip' 2>/dev/null && python=/usr/bin/python3
started=$SECONDS
echo "install-deps: installing torch==$torch2_version (libtorch 2.x with CUDA) into $torch2_venv"
if [ -e "$torch2_venv" ]; then
  # Only ever replace a venv (an earlier, unfinished or other-version install), never a folder
  # that MEDSEG_TORCH2_VENV happens to name.
  if [ ! -f "$torch2_venv/pyvenv.cfg" ]; then
    echo "install-deps: $torch2_venv exists and is not a Python venv: not touching it" >&2
    exit 1
  fi
  rm -rf "$torch2_venv"
fi
mkdir -p "$(dirname "$torch2_venv")"
"$python" -m venv "$torch2_venv"
"$torch2_venv/bin/python" -m pip install -q --disable-pip-version-check "torch==$torch2_version"
torch2_cmake_prefix >/dev/null
echo "torch==$torch2_version" > "$torch2_venv/.medseg-installed"
echo "install-deps: libtorch $torch2_version installed in $((SECONDS - started)) s"
