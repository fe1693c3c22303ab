#!/usr/bin/env bash
# Trains the demo's settings on two gray -> colour photo sets and prints the issue-27 table:
# checkerboard measure, FID/KID of the model against the do-nothing baseline (gray input
# repeated to RGB) and the real-vs-real floor (train B vs test B), colorfulness translated /
# real, PSNR (model / keep-luma / gray baseline), steps and training wall time.
#
# Usage: bench/demo_quality.sh [SETTING...]   SETTING: recommended | transposed (default both)
# Env: SETS (default "demo photos2"), THREADS (default 2), BIN (default build/).
# Runs go to runs/demo_quality/<setting>_<set>/ (started afresh each time).
# Each setting x set: a few minutes of training plus a few of evaluation on 2 cores.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
bin="${BIN:-$CYCLEGAN_BUILD}"
threads="${THREADS:-2}"
sets="${SETS:-demo photos2}"
settings=("$@")
[ ${#settings[@]} -gt 0 ] || settings=(recommended transposed)
python="$CYCLEGAN_VENV/bin/python"

# recommended: the flags scripts/demo passes (read from its demo_flags line);
# transposed: the demo as it was before issue 27 (the seed preset's upsampling).
flags_of() {
  case "$1" in
    recommended) echo "$DEMO_FLAGS" ;;
    transposed) echo "--steps 300 --batch-size 16" ;;
    *) echo "unknown setting $1 (recommended|transposed)" >&2; exit 2 ;;
  esac
}
DEMO_FLAGS="$(sed -n 's/^demo_flags=(\(.*\))$/\1/p' "$CYCLEGAN_ROOT/scripts/demo")"

# shellcheck source=bench/demo_sets.sh
source "$CYCLEGAN_ROOT/bench/demo_sets.sh"

for s in "${settings[@]}"; do flags_of "$s" > /dev/null; done  # unknown names stop here
[ -n "$DEMO_FLAGS" ] || { echo "no demo_flags=(...) line in scripts/demo" >&2; exit 2; }
rows=()
mkdir -p "$CYCLEGAN_ROOT/runs/demo_quality"
for s in "${settings[@]}"; do
  for set in $sets; do
    data="$(data_of "$set")"
    run="$CYCLEGAN_ROOT/runs/demo_quality/${s}_${set}"
    rm -rf "$run"
    start=$(date +%s.%N)
    # shellcheck disable=SC2046  # the flags are words on purpose
    "$bin/cyclegan_dist" --preset cifar-colorize --data "$data" --run-dir "$run" --threads "$threads" \
      --sample-every 100 --tensorboard false $(flags_of "$s") > "$run.train.log" 2>&1
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    "$bin/cyclegan_translate" --eval --input "$data" --checkpoint "$run" --output "$run/eval.json" \
      --no-progress > "$run.eval.log" 2>&1
    rm -rf "$run/translated"
    "$bin/cyclegan_translate" --input "$data" --checkpoint "$run" --output "$run/translated" \
      --no-progress > /dev/null 2>&1
    row=$("$python" "$CYCLEGAN_ROOT/bench/demo_quality.py" "$run/eval.json" "$run/translated" "$data" "$set $s" "$wall")
    echo "$row"
    rows+=("$row")
  done
done
echo
echo "| set, setting | steps | train s | checkerboard (p 8) | checkerboard (p 2) | FID model / do-nothing / floor | KID model / do-nothing | colorfulness translated / real | PSNR dB model / keep-luma / gray |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
