#!/usr/bin/env bash
# cyclegan_dist under Open MPI's mpirun on the hosts of a hostfile (no batch system).
#
#   launch/mpirun.sh --hostfile hosts --ranks-per-node 8 [--cores-per-rank 8] -- \
#       --preset paper-256 --data data/horse2zebra --device cuda --epochs 200 --run-dir runs/paper
#
# What it sets, and why:
#   --map-by ppr:N:node:PE=C --bind-to core   N ranks per node (one per GPU), each bound to
#                                             C cores of its own: its LibTorch threads and
#                                             loader do not fight other ranks
#   -x PATH,LD_LIBRARY_PATH,OMP_NUM_THREADS=C,NCCL_* the environment every rank needs
#   --metrics-port (METRICS_PORT, default 9400) and a Prometheus discovery file written from
#   the hostfile into TARGETS_DIR (default monitoring/targets), removed at the end.
# Also: as root it adds --allow-run-as-root; MPIRUN_EXTRA adds flags (for example
# "--mca btl_tcp_if_include eth0" to pick the network between nodes). The exit code is
# cyclegan_dist's: 0 finished, 75 stopped on request (Ctrl-C, SIGTERM or SIGUSR1 to this
# script, also during start-up; resume with --resume auto), anything else failed.
set -euo pipefail
hostfile="" per_node="" cores=""
while [ $# -gt 0 ]; do
  case $1 in
    --hostfile) hostfile=$2; shift 2 ;;
    --ranks-per-node) per_node=$2; shift 2 ;;
    --cores-per-rank) cores=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "mpirun.sh: unknown option $1 (training flags go after --)" >&2; exit 2 ;;
  esac
done
[ -n "$hostfile" ] && [ -f "$hostfile" ] || { echo "mpirun.sh: --hostfile FILE is required and must exist" >&2; exit 2; }
[[ "$per_node" =~ ^[1-9][0-9]*$ ]] || { echo "mpirun.sh: --ranks-per-node N (N >= 1) is required" >&2; exit 2; }
[ -n "$cores" ] || cores=$(( $(nproc) / per_node > 0 ? $(nproc) / per_node : 1 ))
[[ "$cores" =~ ^[1-9][0-9]*$ ]] || { echo "mpirun.sh: --cores-per-rank must be a positive integer" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CYCLEGAN_BIN:-$here/build/cyclegan_dist}
nodes=$(grep -cv '^\s*\(#\|$\)' "$hostfile")
ranks=$(( nodes * per_node ))
port=${METRICS_PORT:-9400}

targets=""
if [ "$port" != 0 ]; then
  targets="${TARGETS_DIR:-$here/monitoring/targets}/mpirun-$$.json"
  "$here/monitoring/write_targets" --hostfile "$hostfile" --ranks-per-node "$per_node" --port "$port" \
    --job-id "mpirun-$(hostname)-$$" --output "$targets" || targets=""
fi
trap '[ -n "$targets" ] && rm -f "$targets"' EXIT

as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--allow-run-as-root)
nccl_vars=$(env | sed -n 's/^\(NCCL_[A-Z_]*\)=.*/-x \1/p' | tr '\n' ' ')
# Stop requests (Ctrl-C, SIGTERM, SIGUSR1) reach the ranks as SIGUSR1, which mpirun
# forwards: on SIGINT/SIGTERM mpirun itself would kill the ranks before their checkpoint.
stop="" mpirun_pid=""
forward() {
  stop=$1
  echo "mpirun.sh: $1 received, asking the ranks to checkpoint and stop" >&2
  [ -n "$mpirun_pid" ] && kill -USR1 "$mpirun_pid" 2>/dev/null
}
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward USR1' USR1
set +e
# shellcheck disable=SC2086
mpirun "${as_root[@]}" --hostfile "$hostfile" -np "$ranks" --map-by "ppr:$per_node:node:PE=$cores" \
  --bind-to core -x PATH -x LD_LIBRARY_PATH -x "OMP_NUM_THREADS=$cores" $nccl_vars ${MPIRUN_EXTRA:-} \
  "$bin" --threads "$cores" --metrics-port "$port" --metrics-bind 0.0.0.0 "$@" < /dev/null &
mpirun_pid=$!
[ -n "$stop" ] && kill -USR1 "$mpirun_pid" 2>/dev/null
# `wait` returns early when a trapped signal arrives: wait again until mpirun has exited.
wait "$mpirun_pid"
rc=$?
while kill -0 "$mpirun_pid" 2>/dev/null; do
  wait "$mpirun_pid"
  rc=$?
done
set -e
# A rank the signal reached before it could catch it (its first second, while the loader
# maps LibTorch) died of it (128 + 10): it had no step to lose since its last checkpoint.
if [ -n "$stop" ] && [ "$rc" -eq $((128 + 10)) ]; then
  echo "mpirun.sh: a rank ended by the forwarded SIGUSR1 during start-up: exit 75 (stopped)" >&2
  rc=75
fi
exit $rc
