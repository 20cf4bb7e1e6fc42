# synth, validate and the CLI's conventions (exit codes, --version).
source "$(dirname "$0")/common.sh"

# --version names the libtorch and says whether CUDA and NCCL are compiled in, as configured.
version=$("$medseg" --version)
echo "$version" | grep -Eq "^medseg [0-9.]+ \(libtorch ${MEDSEG_BUILT_TORCH:-[0-9.]+}[^,]*, " ||
  fail "--version: '$version' does not name libtorch ${MEDSEG_BUILT_TORCH:-}"
case "${MEDSEG_BUILT_CUDA:-}" in
  ON) echo "$version" | grep -Eq ", CUDA [0-9.]+ compiled in, " || fail "--version: '$version' (CUDA build)" ;;
  OFF) echo "$version" | grep -q ", CPU only (no CUDA compiled in), " || fail "--version: '$version' (CPU build)" ;;
esac
case "${MEDSEG_BUILT_NCCL:-}" in
  ON) echo "$version" | grep -Eq ", NCCL [0-9]+\.[0-9]+\.[0-9]+\)$" || fail "--version: '$version' (NCCL)" ;;
  OFF) echo "$version" | grep -q ", no NCCL)$" || fail "--version: '$version' (no NCCL)" ;;
esac
"$medseg" --help | grep -q "validate"
"$medseg" --quiet synth "$tmp/ds" --cases 3 --shape 12 16 16
"$medseg" --threads 2 validate "$tmp/ds" 2>&1 | grep -q "3 cases, no problems found"

# A broken dataset: every problem is reported, exit 1.
rm "$tmp/ds/labelsTr/synth_001.nii.gz"
printf 'garbage' > "$tmp/ds/imagesTr/synth_002_0000.nii.gz"
expect_fail 1 "missing label file of case synth_001" "$medseg" validate "$tmp/ds"
expect_fail 1 "synth_002_0000.nii.gz" "$medseg" validate "$tmp/ds"
expect_fail 1 "2 problem(s) found" "$medseg" validate "$tmp/ds"

# Usage errors exit 2.
expect_fail 2 "" "$medseg" validate
expect_fail 2 "" "$medseg" --no-such-flag validate "$tmp/ds"
echo "dataset_cli: ok"
