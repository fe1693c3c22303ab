#!/usr/bin/env bash
# Colorfulness of the demo's colorizations over training, per photo set and seed (issue 27):
# trains the seed preset with the given flags on each set and seed, evaluates every EVERY
# steps without FID (--eval-every, --fid-images 0: a few seconds each) and prints, per run,
# the colorfulness of G(a)'s colours on a's luminance (what `cyclegan_translate --keep-luma`
# writes) against the real test photographs': "step:+N%" with N = 100 (translated / real - 1),
# then the last checkpoint's per-image spread of it (bench/colorfulness_spread.py).
#
# Usage: bench/colorfulness_trajectory.sh FLAGS...     e.g.
#   bench/colorfulness_trajectory.sh --steps 300 --batch-size 16 --upsample bilinear --lambda-cycle 30
# Env: SETS (default "demo photos2"), SEEDS (default "0 1"), EVERY (default 25),
#      THREADS (default 2), BIN (default build/).
# Runs go to runs/colorfulness_trajectory/<set>_s<seed>/ (started afresh each time).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
bin="${BIN:-$CYCLEGAN_BUILD}"
# shellcheck source=bench/demo_sets.sh
source "$CYCLEGAN_ROOT/bench/demo_sets.sh"
[ $# -gt 0 ] || { sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 2; }
root="$CYCLEGAN_ROOT/runs/colorfulness_trajectory"
mkdir -p "$root"
for set in ${SETS:-demo photos2}; do
  data="$(data_of "$set")"
  for seed in ${SEEDS:-0 1}; do
    run="$root/${set}_s$seed"
    rm -rf "$run"
    "$bin/cyclegan_dist" --preset cifar-colorize --data "$data" --run-dir "$run" \
      --threads "${THREADS:-2}" --seed "$seed" --sample-every 0 --tensorboard false \
      --checkpoint-every 0 --eval-every "${EVERY:-25}" --fid-images 0 "$@" > "$run.log" 2>&1 ||
      { echo "$set seed $seed: training failed, see $run.log" >&2; exit 1; }
    # Each evaluation's report: <run>/eval/step_<N>.json (eval/eval_report.h).
    "$CYCLEGAN_VENV/bin/python" - "$run/eval" "$set seed $seed" <<'PY'
import glob, json, os, sys
reports = [json.load(open(f)) for f in glob.glob(os.path.join(sys.argv[1], "step_*.json"))]
reports.sort(key=lambda r: r["step"])
real = reports[-1]["colorfulness_real"]
print(f"{sys.argv[2]} (real {real:.1f}):" + "".join(
    f" {r['step']}:{100 * (r['colorfulness_colorized'] / r['colorfulness_real'] - 1):+.0f}%"
    for r in reports))
PY
    # How the last checkpoint spreads its colour over the test photographs.
    CYCLEGAN_BUILD="$bin" "$CYCLEGAN_VENV/bin/python" "$CYCLEGAN_ROOT/bench/colorfulness_spread.py" \
      "$run" "$data" | tail -n 3
  done
done
