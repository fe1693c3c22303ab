#!/usr/bin/env bash
# End to end through the executable: train, checkpoint, stop, resume; bad input fails
# with one clear error and exit code 2 before anything is written.
set -euo pipefail
bin="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run="$work/run"
fail() { echo "FAIL: $*" >&2; exit 1; }
common=(--data synthetic --synthetic-images 16 --batch-size 4 --checkpoint-every 2 --sample-every 2 --run-dir "$run" --threads 1)

"$bin" "${common[@]}" --steps 4 > "$work/first.log" 2>&1 || { cat "$work/first.log"; fail "first run failed"; }
for f in config.json checkpoints/ckpt_00000002.pt checkpoints/ckpt_00000004.pt \
         checkpoints/ckpt_00000004.json samples/step_00000002.png samples/step_00000004.png; do
  [ -s "$run/$f" ] || fail "missing $f after the first run"
done
grep -q '"steps": 4' "$run/config.json" || fail "config.json does not hold the resolved --steps"

"$bin" "${common[@]}" --steps 6 --resume auto > "$work/second.log" 2>&1 || { cat "$work/second.log"; fail "resume failed"; }
grep -q "resumed from .*ckpt_00000004.pt at step 4" "$work/second.log" || { cat "$work/second.log"; fail "did not resume at step 4"; }
grep -q "step 6/6" "$work/second.log" || fail "resumed run did not continue to step 6"
[ -s "$run/checkpoints/ckpt_00000006.pt" ] || fail "no checkpoint at step 6"

before=$(cat "$run/config.json")
set +e
"$bin" "${common[@]}" --steps 6 --batchsize 3 > "$work/bad.log" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "an unknown flag must exit 2, got $rc"
grep -q -- "--batchsize" "$work/bad.log" || fail "the error does not name the unknown flag"
[ "$(grep -c . "$work/bad.log")" -eq 1 ] || { cat "$work/bad.log"; fail "expected one error line"; }
[ "$(cat "$run/config.json")" = "$before" ] || fail "a rejected command line changed config.json"

# A resume that cannot load the checkpoints (another model) leaves config.json describing them.
set +e
"$bin" "${common[@]}" --steps 8 --resume auto --upsample bilinear > "$work/other.log" 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "resuming checkpoints of another model succeeded"
grep -q "written for a different model" "$work/other.log" || { cat "$work/other.log"; fail "no model-mismatch error"; }
[ "$(cat "$run/config.json")" = "$before" ] || fail "a failed resume changed config.json"

printf '{\n  "steps": 3,\n  "batch-size": ,\n}\n' > "$work/bad.json"
set +e
"$bin" --config "$work/bad.json" > "$work/badjson.log" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a malformed config file must exit 2, got $rc"
grep -q "bad.json.*line 3" "$work/badjson.log" || { cat "$work/badjson.log"; fail "the error does not name file and line"; }

# Into a file first: `grep -q` leaving the pipe early would kill --help with SIGPIPE.
"$bin" --help > "$work/help.txt" || fail "--help failed"
grep -q -- "--lambda-cycle" "$work/help.txt" || fail "--help does not list the options"
echo "cyclegan_dist end-to-end: ok"
