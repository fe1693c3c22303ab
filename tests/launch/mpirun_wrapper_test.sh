#!/usr/bin/env bash
# launch/mpirun.sh on this machine: 2 ranks from a hostfile, bound to a core each, train,
# checkpoint, serve metrics (discovery file written, then removed); bad usage exits 2.
set -euo pipefail
repo=$(readlink -f "$1"); bin=$(readlink -f "$2")
work=$(mktemp -d)
trap 'pkill -9 -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/log" ] && tail -n 30 "$work/log"; exit 1; }
echo "localhost slots=2" > "$work/hosts"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CYCLEGAN_BIN="$bin" METRICS_PORT="$port" TARGETS_DIR="$work/targets" "$repo/launch/mpirun.sh" \
  --hostfile "$work/hosts" --ranks-per-node 2 --cores-per-rank 1 -- \
  --data synthetic --synthetic-images 32 --batch-size 2 --steps 4 --run-dir "$work/run" > "$work/log" 2>&1 \
  || fail "mpirun.sh exited $?"
grep -q "2 rank(s), 1 thread(s) each" "$work/log" || fail "not 2 ranks of 1 thread"
grep -q "metrics: http://0.0.0.0:$((port + 1))/metrics" "$work/log" || fail "rank 1 did not serve metrics on port+1"
grep -q "write_targets: .*2 target(s) on 1 node(s)" "$work/log" || fail "no discovery file"
[ -z "$(ls -A "$work/targets")" ] || fail "the discovery file outlived the run"
[ -s "$work/run/checkpoints/ckpt_00000004.pt" ] || fail "no checkpoint"
set +e
"$repo/launch/mpirun.sh" --ranks-per-node 2 -- --steps 1 > "$work/bad" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "hostfile" "$work/bad" || fail "missing --hostfile: exit $rc, $(cat "$work/bad")"
echo "mpirun wrapper: ok"
