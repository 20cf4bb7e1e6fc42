# The second demo (scripts/demo-find-best.sh) on the built binary: two configurations, five folds
# each, find-best, its commands on the held-out cases, Dice >= 0.8. About 5 minutes.
source "$(dirname "$0")/common.sh"
MEDSEG_BINARY=$medseg bash "$(dirname "$0")/../../scripts/demo-find-best.sh" "$tmp/work"
