# The README's main job end to end (scripts/demo-pipeline.sh: synth -> validate -> plan ->
# preprocess -> train -> predict -> evaluate) on the built binary; fails unless the held-out
# mean foreground Dice reaches 0.85. About 5 minutes on 2 cores (label "e2e"; CI runs it).
source "$(dirname "$0")/common.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
bash "$root/scripts/demo-pipeline.sh" "$medseg" "$tmp/demo"
for f in run/plans.json run/models/3d_fullres/fold_0/checkpoint_final.pt predictions/summary.json; do
  [ -s "$tmp/demo/$f" ] || { echo "FAIL: $f missing"; exit 1; }
done
echo "e2e_demo: ok"
