#!/usr/bin/env bash
# FID/KID through the executables, on a small demo data set: a run with --eval-every logs
# each score beside the do-nothing baseline's and the checkerboard measure, keeps
# checkpoints/ckpt_best.pt out of the rotation and names it in the log, and ends with the
# last and the best evaluation (log, eval/summary.json); cyclegan_translate
# --best --eval gives that evaluation's numbers again; --best without a best checkpoint
# fails with one line; without the Inception weights training says FID/KID are unavailable
# in one line and runs as before. Skips (exit 77) when the weights are not installed.
set -euo pipefail
dist="$1" translate="$2" data_tool="$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
weights="${CYCLEGAN_INCEPTION:-$HOME/.cache/cyclegan_dist/fid/inception-2015-12-05.pt}"
[ -f "$weights" ] || { echo "SKIP: FID/KID unavailable: no Inception weights at $weights"; exit 77; }

"$data_tool" demo --output "$work/demo" --sizes 32 --train-images 40 --test-images 8 > /dev/null
data="$work/demo/32x32"
run="$work/run"
common=(--data "$data" --batch-size 4 --threads 2 --sample-every 0 --fid-images 3 --run-dir "$run")

"$dist" "${common[@]}" --steps 4 --eval-every 2 --checkpoint-every 1 --keep-checkpoints 1 \
  > "$work/train.log" 2>&1 || { cat "$work/train.log"; fail "training with FID/KID failed"; }
grep -q "FID A->B [0-9.]* (do nothing [0-9.]*).* on 3 images of test A and 3 of test B (a subset of the test split's 8 and 8), comparable only at equal N" "$work/train.log" ||
  { cat "$work/train.log"; fail "no FID beside the do-nothing baseline, or no subset note, in the eval line"; }
grep -q "checkerboard (period 8, real = 1) A->B [0-9.]* (do nothing [0-9.]*)" "$work/train.log" ||
  { cat "$work/train.log"; fail "no checkerboard measure in the eval line"; }
grep -q "^.*last evaluation (step 4): " "$work/train.log" && grep -q "best evaluation by fid-AtoB: " "$work/train.log" ||
  { cat "$work/train.log"; fail "the end of the run does not report the last and the best evaluation"; }
python3 - "$run" <<'PY' || fail "eval/summary.json does not hold the last and the best evaluation"
import json, sys
run = sys.argv[1]
summary = json.load(open(f"{run}/eval/summary.json"))
best = json.load(open(f"{run}/checkpoints/ckpt_best.json"))["metadata"]["best"]
assert summary["last"]["step"] == 4, summary["last"]
assert summary["best"]["value"] == best["value"] and summary["best"]["metric"] == "fid-AtoB", summary["best"]
assert summary["best"]["report"]["fid"]["AtoB"]["fid"] == best["value"], summary["best"]
PY
grep -q "fid-AtoB .*: $run/checkpoints/ckpt_best.pt" "$work/train.log" ||
  { cat "$work/train.log"; fail "the log does not name ckpt_best.pt"; }
[ -s "$run/checkpoints/ckpt_best.pt" ] && [ -s "$run/checkpoints/ckpt_best.json" ] || fail "no ckpt_best.pt + .json"
[ "$(ls "$run/checkpoints" | grep -c '^ckpt_[0-9]*\.pt$')" -eq 1 ] || fail "the rotation kept more than one checkpoint"
[ -d "$data/fid_cache" ] || fail "no feature cache in the data set"

"$translate" --checkpoint "$run" --best --eval --input "$data" --fid-images 3 --output "$work/best.json" \
  > "$work/translate.log" 2>&1 || { cat "$work/translate.log"; fail "translate --best --eval failed"; }
python3 - "$run" "$work/best.json" <<'PY' || fail "translate --best --eval does not repeat the run's numbers"
import json, sys
run, best = sys.argv[1], json.load(open(sys.argv[2]))
step = json.load(open(f"{run}/checkpoints/ckpt_best.json"))["step"]
trained = json.load(open(f"{run}/eval/step_{step}.json"))
assert best["checkpoint"].endswith("ckpt_best.pt"), best["checkpoint"]
for key in ("AtoB", "BtoA", "baseline_AtoB", "baseline_BtoA", "floor_A", "floor_B"):
    for score in ("fid", "kid"):
        assert abs(best["fid"][key][score] - trained["fid"][key][score]) <= 1e-9 * abs(trained["fid"][key][score]), \
            (key, score, best["fid"][key], trained["fid"][key])
assert best["fid"]["real_sets_cached"] == 5, best["fid"]  # test B, A, B in gray, train B, A
for key in ("AtoB", "BtoA"):
    assert abs(best["checkerboard"][key]["translated"] - trained["checkerboard"][key]["translated"]) <= 1e-9, key
PY

mkdir -p "$work/empty"
set +e
"$translate" --checkpoint "$work/empty" --best --eval --input "$data" > "$work/nobest.log" 2>&1; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "--best without a best checkpoint must exit 1, got $rc"
[ "$(grep -c . "$work/nobest.log")" -eq 1 ] && grep -q "ckpt_best.pt" "$work/nobest.log" ||
  { cat "$work/nobest.log"; fail "expected one line naming ckpt_best.pt"; }

CYCLEGAN_INCEPTION="$work/none.pt" "$dist" "${common[@]}" --run-dir "$work/nofid" --steps 2 --eval-every 2 \
  > "$work/nofid.log" 2>&1 || { cat "$work/nofid.log"; fail "training without Inception weights failed"; }
[ "$(grep -c "FID/KID unavailable: no Inception weights at $work/none.pt" "$work/nofid.log")" -eq 1 ] ||
  { cat "$work/nofid.log"; fail "expected one 'FID/KID unavailable' line"; }
grep -q '"fid_unavailable"' "$work/nofid/eval/step_2.json" || fail "the eval JSON does not say why FID/KID are missing"
[ ! -e "$work/nofid/checkpoints/ckpt_best.pt" ] || fail "a best checkpoint without FID/KID"
echo "FID/KID end-to-end: ok"
