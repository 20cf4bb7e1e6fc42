#!/usr/bin/env bash
# The main job end to end on a small built-in synthetic dataset, on a fresh Debian 12 machine:
# installs what is missing, builds, then synth -> validate -> plan -> preprocess -> train (a short
# budget: 10 epochs x 25 iterations, fold 0) -> predict the 6 held-out cases -> evaluate, and
# prints Dice and HD95 per class. Exits 1 if the held-out mean foreground Dice is below 0.85
# (the data is easy: a lower value means a bug). About 2 minutes on 2 cores after the build
# (CPUs with native bfloat16; 4-5 minutes in float32). MEDSEG_TORCH=2: with libtorch 2.x.
# Usage: scripts/demo.sh [work_folder]   (default: ./demo-work)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/torch.sh"
work=$(realpath -m "${1:-$PWD/demo-work}")
started=$SECONDS
bash "$medseg_root/scripts/install-deps.sh"
MEDSEG_BUILD_TARGETS=medseg bash "$medseg_root/scripts/build.sh"   # the binary only: the tests are scripts/test.sh's
echo "demo: set-up and build took $((SECONDS - started)) s"
bash "$medseg_root/scripts/demo-pipeline.sh" "$medseg_build_dir/medseg" "$work"
echo "demo: finished in $((SECONDS - started)) s, set-up included"
