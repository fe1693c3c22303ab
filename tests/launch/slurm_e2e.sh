#!/usr/bin/env bash
# launch/cyclegan.sbatch on a real Slurm: a single-node cluster of Debian's slurm-wlm on
# this machine (munged, slurmctld, slurmd; root; proctrack/linuxproc, task/none,
# select/cons_tres, MpiDefault=pmix; this machine's hostname as the node), config, state,
# spool and sockets in a temporary folder. Then, each with 2 tasks on the demo data:
#   1. a run finishes, checkpoints, and its ranks serve metrics under the job's job_id
#      (scraped through the discovery file the batch script writes and removes);
#   2. `scancel --signal=USR1 --batch` mid-run: checkpoint, exit 75, requeue, resume from
#      that checkpoint, finish; the step numbers continue; the same at start-up: requeued;
#   3. `kill -9` of one rank: the job ends non-zero within 60 s and is not requeued.
# Every daemon it started is stopped by PID, also when it fails. sbatch --wait and every
# wait are bounded by timeouts.
set -euo pipefail
bin=$(readlink -f "$1"); data_tool=$(readlink -f "$2"); repo=$(readlink -f "$3")
work=$(mktemp -d /tmp/cyclegan_slurm.XXXXXX)
daemons=()
cleanup() {
  for p in "${daemons[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${daemons[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  pkill -9 -f "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/log/*.log "$work"/job/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; }; done
  for f in "$work"/job/*.out; do [ -f "$f" ] && { echo "--- $f: the batch script's lines"; grep "cyclegan.sbatch:" "$f" || true; }; done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the cluster
mkdir -p "$work"/{munge,state,spool,log,job,targets}
cp /etc/munge/munge.key "$work/munge/key" && chmod 600 "$work/munge/key"
munged --force --socket="$work/munge/sock" --key-file="$work/munge/key" --pid-file="$work/munge/pid" \
  --log-file="$work/log/munge.log" --seed-file="$work/munge/seed"
daemons+=("$(cat "$work/munge/pid")")
host=$(hostname)
mem=$(awk '/MemTotal/ { print int($2 / 1024) - 2048 }' /proc/meminfo)
export SLURM_CONF="$work/slurm.conf"
# cred_expire also sets how long a requeued job waits before it may start again (120 s).
cat > "$SLURM_CONF" <<CONF
ClusterName=cyclegantest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/sock,cred_expire=10
CredType=cred/munge
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MinJobAge=600
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -f "$SLURM_CONF" > "$work/log/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" > "$work/log/slurmd.out" 2>&1 &
daemons+=($!)
for _ in $(seq 1 60); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = "idle" ] && break
  sleep 1
done
[ "$(sinfo -h -o %T 2>/dev/null)" = "idle" ] || fail "the node did not come up idle: $(sinfo 2>&1)"
echo "slurm: node $host idle"

"$data_tool" demo --output "$work/data" --sizes 32 --train-images 64 --test-images 8 > "$work/log/data.log" 2>&1 \
  || fail "cyclegan_data demo failed"
submit() {  # submit NAME RUN_DIR METRICS_PORT [cyclegan_dist flags...] -> job id
  local name=$1 run=$2 port=$3
  shift 3
  (cd "$work/job" && sbatch --parsable --job-name="$name" --nodes=1 --ntasks-per-node=2 --gpus-per-node=0 \
    --cpus-per-task=1 --time=20 --output="$work/job/$name.out" \
    --export=ALL,CYCLEGAN_BIN="$bin",RUN_DIR="$run",METRICS_PORT="$port",TARGETS_DIR="$work/targets",OMP_NUM_THREADS=1 \
    "$repo/launch/cyclegan.sbatch" --preset cifar-colorize --data "$work/data/32x32" --batch-size 4 \
    --sample-every 0 --log-every 1 --threads 1 "$@")
}
state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
restarts() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p'; }
wait_done() {  # wait_done JOB SECONDS: until the job is COMPLETED, FAILED, ...
  for _ in $(seq 1 "$2"); do
    case $(state "$1") in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) return 0 ;; esac
    sleep 1
  done
  fail "job $1 not done after $2 s (state $(state "$1"))"
}
wait_log() {  # wait_log FILE PATTERN SECONDS
  for _ in $(seq 1 $(( $3 * 5 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  fail "no '$2' in $1 after $3 s"
}

# --- 1. a run that finishes, with metrics under the job id
port=$(free_port)
job=$(submit finish "$work/run1" "$port" --steps 40 --checkpoint-every 20)
wait_log "$work/job/finish.out" "step 5/" 120
targets_file="$work/targets/$job.json"
[ -s "$targets_file" ] || fail "no discovery file $targets_file while the job runs"
for target in $(python3 -c 'import json,sys; print(" ".join(t for g in json.load(open(sys.argv[1])) for t in g["targets"]))' "$targets_file"); do
  curl -sf "http://$target/metrics" > "$work/scrape.txt" || fail "cannot scrape $target"
  grep -q "^cyclegan_steps_total{job_id=\"$job\",rank=\"[01]\"}" "$work/scrape.txt" \
    || fail "$target: no cyclegan_steps_total with job_id=\"$job\""
done
echo "slurm: job $job: both ranks serve metrics labelled job_id=$job"
wait_done "$job" 300
[ "$(state "$job")" = COMPLETED ] || fail "job $job ended $(state "$job")"
grep -q "cyclegan.sbatch: training finished" "$work/job/finish.out" || fail "no finish message"
grep -q "2 rank(s)" "$work/job/finish.out" || fail "the job did not run 2 ranks"
[ -s "$work/run1/checkpoints/ckpt_00000040.pt" ] || fail "no final checkpoint"
[ ! -e "$targets_file" ] || fail "the discovery file outlived the job"
[ "$(restarts "$job")" = 0 ] || fail "a finished job was requeued"
echo "slurm: job $job finished: checkpoint, metrics, discovery file removed"

# --- 2. preemption notice: checkpoint, exit 75, requeue, resume, finish
job=$(submit preempt "$work/run2" 0 --steps 60 --checkpoint-every 1000)
wait_log "$work/job/preempt.out" "step 4/" 120
scancel --signal=USR1 --batch "$job"
wait_log "$work/job/preempt.out" "requeueing (restart 1)" 120
wait_done "$job" 300
[ "$(state "$job")" = COMPLETED ] || fail "preempted job $job ended $(state "$job")"
[ "$(restarts "$job")" = 1 ] || fail "job $job restarted $(restarts "$job") times, expected 1"
stopped=$(sed -n 's/.*stop requested (signal 10) at step \([0-9]*\);.*/\1/p' "$work/job/preempt.out")
[ -n "$stopped" ] || fail "no stop message"
grep -q "resumed from .*$(printf 'ckpt_%08d.pt' "$stopped") at step $stopped" "$work/job/preempt.out" \
  || fail "the requeued job did not resume at step $stopped"
grep -q "step $((stopped + 1))/60" "$work/job/preempt.out" || fail "the steps do not continue after $stopped"
grep -q "cyclegan.sbatch: training finished" "$work/job/preempt.out" || fail "the requeued job did not finish"
echo "slurm: job $job: stopped at step $stopped, requeued, resumed there, finished"

# --- 2b. a preemption notice during start-up (before or while the ranks load): requeued
# all the same (exit 75, or the ranks ended by the signal before they could catch it)
job=$(submit early "$work/run2b" 0 --steps 6 --checkpoint-every 1000)
wait_log "$work/job/early.out" "cyclegan.sbatch: job" 120
scancel --signal=USR1 --batch "$job"
wait_log "$work/job/early.out" "requeueing (restart 1)" 120
wait_done "$job" 300
[ "$(state "$job")" = COMPLETED ] || { cat "$work/job/early.out"; fail "job $job, stopped at start-up, ended $(state "$job")"; }
[ -s "$work/run2b/checkpoints/ckpt_00000006.pt" ] || fail "job $job did not finish its 6 steps after the requeue"
echo "slurm: job $job: stopped during start-up ($(grep -c 'received' "$work/job/early.out") notice), requeued, finished"

# --- 3. a rank dies: the job ends within 60 s and is not requeued
job=$(submit crash "$work/run3" 0 --steps 100000)
wait_log "$work/job/crash.out" "step 3/" 120
victim=$(pgrep -f -- "--run-dir $work/run3" | while read -r p; do
  [ "$(ps -o comm= -p "$p")" = cyclegan_dist ] && echo "$p"; done | tail -n 1)
[ -n "$victim" ] || fail "no rank process to kill"
start=$(date +%s)
kill -9 "$victim"
wait_done "$job" 90
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -le 60 ] || fail "the job took ${elapsed}s to end after a rank was killed"
[ "$(state "$job")" = FAILED ] || fail "job $job ended $(state "$job") after a rank was killed"
[ "$(restarts "$job")" = 0 ] || fail "a failed job was requeued"
grep -q "training failed with exit code" "$work/job/crash.out" || fail "no failure message"
echo "slurm: job $job: a killed rank ended the job in ${elapsed}s, not requeued"

# --- 4. launch/translate.sbatch: the test split translated by the job's 2 ranks
translate_bin="$(dirname "$bin")/cyclegan_translate"
job=$(cd "$work/job" && sbatch --parsable --job-name=translate --nodes=1 --ntasks-per-node=2 --gpus-per-node=0 \
  --cpus-per-task=1 --time=10 --output="$work/job/translate.out" \
  --export=ALL,TRANSLATE_BIN="$translate_bin",OMP_NUM_THREADS=1 \
  "$repo/launch/translate.sbatch" --checkpoint "$work/run1" --input "$work/data/32x32" --output "$work/translated")
wait_done "$job" 300
[ "$(state "$job")" = COMPLETED ] || { cat "$work/job/translate.out"; fail "translate job $job ended $(state "$job")"; }
grep -q "translate.sbatch: translation finished" "$work/job/translate.out" || fail "no translate finish message"
grep -q "on 2 process(es): 8 written, 0 already done" "$work/job/translate.out" \
  || { cat "$work/job/translate.out"; fail "the 2 ranks did not write the 8 test images"; }
[ "$(ls "$work/translated" | grep -c '^A_0000[0-7].png$')" = 8 ] || fail "not 8 outputs in $work/translated"
echo "slurm: job $job: launch/translate.sbatch translated the test split on 2 ranks"
echo "slurm end-to-end: ok"
