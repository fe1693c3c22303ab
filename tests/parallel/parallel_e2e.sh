#!/usr/bin/env bash
# Data-parallel end to end through mpirun: 2 ranks train and checkpoint; the run resumes
# on 1 and on 2 ranks; SIGUSR1 (a batch system's preemption notice) makes all ranks
# checkpoint the step they agree on and exit 75, and the run resumes from it; a rank
# killed with SIGKILL ends the job within 60 s with a non-zero exit, the newest checkpoint
# stays intact, and a restart resumes from it.
set -euo pipefail
bin="$1"; mpirun="$2"; data_tool="$3"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launch=("$mpirun" --oversubscribe --bind-to none)
work=$(mktemp -d)
trap 'pkill -9 -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
"$data_tool" demo --output "$work/data" --sizes 32 --train-images 64 --test-images 8 > "$work/data.log" 2>&1 \
  || { cat "$work/data.log"; fail "cyclegan_data demo failed"; }
common=(--preset cifar-colorize --data "$work/data/32x32" --batch-size 4
        --checkpoint-every 2 --sample-every 0 --log-every 1 --replica-check-every 2)

run="$work/run"
"${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir "$run" --steps 4 > "$work/a.log" 2>&1 \
  || { cat "$work/a.log"; fail "2-rank run failed"; }
[ -s "$run/checkpoints/ckpt_00000004.pt" ] || fail "no checkpoint after the 2-rank run"
grep -q "2 rank(s)" "$work/a.log" || fail "the run did not see 2 ranks"

"${launch[@]}" -np 1 "$bin" "${common[@]}" --run-dir "$run" --steps 6 --resume auto > "$work/b.log" 2>&1 \
  || { cat "$work/b.log"; fail "resume on 1 rank failed"; }
grep -q "resumed from .*ckpt_00000004.pt at step 4" "$work/b.log" || fail "1 rank did not resume at step 4"
"${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir "$run" --steps 8 --resume auto > "$work/c.log" 2>&1 \
  || { cat "$work/c.log"; fail "resume on 2 ranks failed"; }
grep -q "resumed from .*ckpt_00000006.pt at step 6" "$work/c.log" || fail "2 ranks did not resume at step 6"
grep -q "step 8/8" "$work/c.log" || fail "the 2-rank resume did not reach step 8"

# An error on rank 0 alone (its run directory cannot be created) ends both ranks.
start=$(date +%s)
set +e
timeout 90 "${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir /proc/cyclegan_forbidden --steps 4 \
  > "$work/e.log" 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a failing rank 0 did not fail the job"
[ "$rc" -ne 124 ] || fail "the job hung after rank 0 failed"
[ $(( $(date +%s) - start )) -le 60 ] || fail "the job took over 60 s to end after rank 0 failed"
grep -q "rank 0 error.*cyclegan_forbidden" "$work/e.log" || { cat "$work/e.log"; fail "rank 0's message is missing"; }

# Kill one rank mid-training.
kill_run="$work/kill"
"${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir "$kill_run" --steps 100000 > "$work/k.log" 2>&1 &
launcher=$!
for _ in $(seq 1 300); do
  [ -s "$kill_run/checkpoints/ckpt_00000004.json" ] && break
  sleep 0.2
done
[ -s "$kill_run/checkpoints/ckpt_00000004.json" ] || { cat "$work/k.log"; fail "no checkpoint before the kill"; }
victim=$(pgrep -f -- "--run-dir $kill_run" | grep -v "^$launcher\$" | while read -r p; do
  [ "$(ps -o comm= -p "$p")" = "cyclegan_dist" ] && echo "$p"; done | tail -n 1)
[ -n "$victim" ] || fail "no rank process found to kill"
start=$(date +%s)
kill -9 "$victim"
set +e
timeout 90 tail --pid="$launcher" -f /dev/null
wait "$launcher"; rc=$?
set -e
elapsed=$(( $(date +%s) - start ))
echo "mpirun exited with $rc ${elapsed}s after the kill"
[ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ "$elapsed" -le 60 ] || fail "the job took ${elapsed}s to end after the kill"
"${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir "$kill_run" --steps 2 --resume auto > "$work/r.log" 2>&1 || true
newest=$(ls "$kill_run/checkpoints/"ckpt_*.pt | sort | tail -n 1)
grep -q "resumed from $newest" "$work/r.log" || { cat "$work/r.log"; fail "restart did not resume from the newest checkpoint $newest"; }

# A stop request: SIGUSR1 to mpirun, which forwards it to both ranks (one rank alone would
# do too: the ranks agree on the flag at the step boundary).
stop_run="$work/stop"
"${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir "$stop_run" --steps 100000 --checkpoint-every 1000 \
  > "$work/s.log" 2>&1 &
launcher=$!
for _ in $(seq 1 300); do
  grep -q "step 3/" "$work/s.log" && break
  sleep 0.2
done
grep -q "step 3/" "$work/s.log" || { cat "$work/s.log"; fail "the run to stop did not start"; }
kill -USR1 "$launcher"
set +e
timeout 90 tail --pid="$launcher" -f /dev/null
wait "$launcher"; rc=$?
set -e
[ "$rc" -eq 75 ] || { cat "$work/s.log"; fail "a stop request exited $rc, expected 75"; }
stopped=$(sed -n 's/.*stop requested (signal 10) at step \([0-9]*\);.*/\1/p' "$work/s.log")
[ -n "$stopped" ] || { cat "$work/s.log"; fail "no stop message"; }
[ -s "$stop_run/checkpoints/$(printf 'ckpt_%08d.json' "$stopped")" ] || fail "no checkpoint of step $stopped"
"${launch[@]}" -np 2 "$bin" "${common[@]}" --run-dir "$stop_run" --steps $((stopped + 2)) --resume auto \
  > "$work/s2.log" 2>&1 || { cat "$work/s2.log"; fail "resume after the stop failed"; }
grep -q "resumed from .*$(printf 'ckpt_%08d.pt' "$stopped") at step $stopped" "$work/s2.log" \
  || { cat "$work/s2.log"; fail "did not resume at the stopped step $stopped"; }
grep -q "step $((stopped + 1))/" "$work/s2.log" || fail "the steps do not continue after $stopped"
echo "stopped at step $stopped with exit 75, resumed there"
echo "dist end-to-end: ok"
