# Sourced by the integration scripts: strict mode, a temporary folder removed on exit, and
# expect_fail CODE PATTERN CMD... (the command must exit with CODE and print PATTERN).
set -euo pipefail
medseg=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_fail() {
  local code=$1 pattern=$2
  shift 2
  local out status=0
  out=$("$@" 2>&1) || status=$?
  if [ "$status" -ne "$code" ]; then
    echo "FAIL: expected exit $code, got $status: $*"; echo "$out"; exit 1
  fi
  if ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: output of '$*' lacks '$pattern':"; echo "$out"; exit 1
  fi
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
