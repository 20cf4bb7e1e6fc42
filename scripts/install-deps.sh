#!/usr/bin/env bash
# Installs every Debian 12 package that medseg's build, tests, benchmarks and demo need.
# Idempotent: packages already present are skipped. Runs as root, or through sudo otherwise.
set -euo pipefail

PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread libgloo-dev
  libinsighttoolkit5-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  time python3 procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

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
