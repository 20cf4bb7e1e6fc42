#!/usr/bin/env bash
# Installs what is missing, builds medseg with its tests and runs them (unit + integration).
# The slow end-to-end runs carry the CTest label "slow" and are included with MEDSEG_TEST_SLOW=1.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started=$SECONDS
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh" -DMEDSEG_BUILD_TESTS=ON
echo "test: set-up and build took $((SECONDS - started)) s"
build=${MEDSEG_BUILD_DIR:-$root/build}
label_args=(-LE slow)
[ "${MEDSEG_TEST_SLOW:-0}" = 1 ] && label_args=()
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 900 "${label_args[@]}"
