#!/usr/bin/env bash
# Installs what is missing, builds medseg with its tests and runs them (unit + integration).
# The slow end-to-end runs carry the CTest label "slow" and are included with MEDSEG_TEST_SLOW=1.
# MEDSEG_TORCH=2: the same against libtorch 2.x with CUDA (build-torch2/); the tests run on
# the CPU, and those labelled "gpu" skip with a message when no CUDA device is present.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/torch.sh"
started=$SECONDS
bash "$medseg_root/scripts/install-deps.sh"
bash "$medseg_root/scripts/build.sh" -DMEDSEG_BUILD_TESTS=ON
echo "test: set-up and build (MEDSEG_TORCH=$medseg_torch) took $((SECONDS - started)) s"
label_args=(-LE slow)
[ "${MEDSEG_TEST_SLOW:-0}" = 1 ] && label_args=()
ctest --test-dir "$medseg_build_dir" --output-on-failure -j"$(nproc)" --timeout 900 "${label_args[@]}"
