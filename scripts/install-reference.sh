#!/usr/bin/env bash
# Installs the reference nnU-Net v2 (the `nnunetv2` package of the Python package index, pinned)
# into the venv .deps/nnunetv2-<version>/ (ignored by git), for the side-by-side benchmarks of
# bench/reference_bench.py (docs/benchmarking.md, "The reference side by side").
# Idempotent: a marker file in the venv records what was installed; a second run only checks it.
#
# torch: the CUDA torch wheel is about 4 GB. When the project's torch venv exists
# (.deps/torch-<version>/, made by `MEDSEG_TORCH=2 scripts/install-deps.sh`, or MEDSEG_TORCH2_VENV),
# the new venv reuses its torch: it is made with the same interpreter, and a .pth file in its
# site-packages adds the torch venv's site-packages to sys.path, so pip sees torch as installed
# and installs only nnunetv2 and the rest. Packages pip installs into the new venv come first on
# sys.path; pip never uninstalls from the torch venv (it is outside the new environment).
# Without the torch venv, pip installs torch into the new venv as nnunetv2 requires.
#
# MEDSEG_REFERENCE_VENV=DIR puts the venv elsewhere.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/torch.sh"

# nnunetv2 2.6.0, the release closest to 2.5.2 (the version the project measured before, see
# ../shared/guide/cpu-performance.md) that works with the project's torch 2.11: 2.5.2's
# PolyLRScheduler passes a third positional argument (`verbose`) to torch's LRScheduler.__init__,
# which torch removed, so its nnUNetTrainer fails in initialize() with "LRScheduler.__init__()
# takes from 2 to 3 positional arguments but 4 were given" (training, and the checkpoint that
# bench/reference_bench.py makes). 2.6.0 fixes that; its planner is the same code as 2.5.2's; its
# preprocessed data and training data loader changed (blosc2 files instead of npz/npy).
nnunet_version=2.6.0
ref_venv=${MEDSEG_REFERENCE_VENV:-$medseg_root/.deps/nnunetv2-$nnunet_version}

# What the marker records: the pinned version and where torch comes from.
if [ -f "$torch2_venv/pyvenv.cfg" ] && [ -x "$torch2_venv/bin/python" ] &&
   ls -d "$torch2_venv"/lib/python3*/site-packages/torch >/dev/null 2>&1; then
  torch_source="torch-venv:$torch2_venv"
else
  torch_source="pip"
fi
marker="nnunetv2==$nnunet_version $torch_source"

check_imports() {
  "$ref_venv/bin/python" -c 'import nnunetv2, torch' 2>/dev/null
}

if [ -f "$ref_venv/.medseg-installed" ] && [ "$(cat "$ref_venv/.medseg-installed")" = "$marker" ] &&
   check_imports; then
  echo "install-reference: nnunetv2 $nnunet_version already in $ref_venv ($torch_source)"
  exit 0
fi

# Debian's python3 needs python3-venv for `python3 -m venv` (only when there is no torch venv to
# take the interpreter from).
python=""
if [ "$torch_source" != pip ]; then
  # The torch venv's interpreter: torch's compiled modules need the same Python version. Its
  # `-m venv` makes a venv on the same base interpreter.
  python="$torch2_venv/bin/python"
else
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then
    python=/usr/bin/python3
  elif command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null; then
    python=python3
  else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-reference: not root and sudo is not available; install: python3-venv" >&2
        exit 1
      fi
    fi
    echo "install-reference: installing python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends python3-venv
    python=/usr/bin/python3
  fi
fi

started=$SECONDS
echo "install-reference: installing nnunetv2==$nnunet_version into $ref_venv (torch: $torch_source)"
if [ -e "$ref_venv" ]; then
  # Only ever replace a venv (an earlier, unfinished or other-version install), never a folder
  # that MEDSEG_REFERENCE_VENV happens to name.
  if [ ! -f "$ref_venv/pyvenv.cfg" ]; then
    echo "install-reference: $ref_venv exists and is not a Python venv: not touching it" >&2
    exit 1
  fi
  rm -rf "$ref_venv"
fi
mkdir -p "$(dirname "$ref_venv")"
"$python" -m venv "$ref_venv"

pip_args=(-q --disable-pip-version-check)
if [ "$torch_source" != pip ]; then
  torch_site=$("$torch2_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  ref_site=$("$ref_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$torch_site" > "$ref_site/medseg-torch-venv.pth"
  torch_have=$("$ref_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))')
  echo "install-reference: reusing torch $torch_have from $torch2_venv"
  # Name the torch that is there, so that pip keeps it rather than resolving another one.
  "$ref_venv/bin/python" -m pip install "${pip_args[@]}" "nnunetv2==$nnunet_version" "torch==$torch_have"
else
  "$ref_venv/bin/python" -m pip install "${pip_args[@]}" "nnunetv2==$nnunet_version"
fi

if ! "$ref_venv/bin/python" -c 'import nnunetv2, torch'; then
  echo "install-reference: 'import nnunetv2, torch' fails in $ref_venv" >&2
  exit 1
fi
versions=$("$ref_venv/bin/python" -c 'import importlib.metadata as m, torch; print("nnunetv2", m.version("nnunetv2") + ", torch", torch.__version__)')
echo "$marker" > "$ref_venv/.medseg-installed"
echo "install-reference: $versions installed in $ref_venv in $((SECONDS - started)) s"
