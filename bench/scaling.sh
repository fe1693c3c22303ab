#!/usr/bin/env bash
# Scaling on this machine: images/s at 1 and 2 ranks (one thread each), both presets,
# with the share of the step spent waiting on communication, overlap on and off.
#   bench/scaling.sh [build-dir]
set -euo pipefail
build="${1:-$(dirname "$0")/../build}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { mpirun --oversubscribe --bind-to core -np "$1" "$build/scaling_bench" "${@:2}"; }
printf "%-16s %5s %5s %6s %8s %10s %10s %9s\n" preset size batch ranks overlap "images/s" "comm_wait" speedup
for config in "cifar-colorize 32 32 8" "paper-256 128 1 4"; do
  read -r preset size batch steps <<<"$config"
  base=""
  for ranks_overlap in "1 1" "2 1" "2 0"; do
    read -r ranks overlap <<<"$ranks_overlap"
    read -r _ _ _ _ _ ips wait < <(run "$ranks" --preset "$preset" --size "$size" --batch "$batch" \
                                     --steps "$steps" --overlap "$overlap")
    [ -n "$base" ] || base="$ips"
    awk -v p="$preset" -v s="$size" -v b="$batch" -v r="$ranks" -v o="$overlap" -v i="$ips" \
        -v w="$wait" -v base="$base" \
        'BEGIN { printf "%-16s %5s %5s %6s %8s %10.2f %9.1f%% %8.2fx\n", p, s, b, r, o, i, 100 * w, i / base }'
  done
done
