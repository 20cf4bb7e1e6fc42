# synth, validate and the CLI's conventions (exit codes, --version).
source "$(dirname "$0")/common.sh"

"$medseg" --version | grep -q "^medseg "
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
