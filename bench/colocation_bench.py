#!/usr/bin/env python3
"""Training runs that share a node's cores: one run alone against N runs at once, for each way
LibTorch's OpenMP threads may wait, in interleaved rounds.

    bench/colocation_bench.py [--binary build/cyclegan_dist] [--runs 2] [--rounds 3]
                              [--steps 30] [--settings default,passive,spin:10000,...] [--alone-only]

Each run is the seed preset (cifar-colorize: batch 32, 32x32) on `--data synthetic`, with
`--threads` equal to the node's cores (what `--threads 0` gives one process alone), no
samples, checkpoints or TensorBoard. A setting is the environment of every run:
  default      the binary as built (its own choice of wait, see README "Co-location")
  gomp         libgomp's own default: OMP_WAIT_POLICY and GOMP_SPINCOUNT unset, with the
               binary's choice turned off (CYCLEGAN_OMP_WAIT=off)
  passive      OMP_WAIT_POLICY=PASSIVE
  spin:N       GOMP_SPINCOUNT=N (N spins before a thread sleeps)
Per round and setting: one run alone, then --runs runs started together; each time is the
wall time of the whole command(s). Prints per setting the median [min-max] over rounds of
  alone      seconds of one run alone
  together   seconds until all --runs concurrent runs ended
  shared     together / (runs x alone): 1.0 = as fast as one after the other, < 1 faster
  vs gomp    alone / alone of the gomp setting in the same round (the cost alone)
and exits 0. The targets (issue 26): alone within 3% of gomp, shared at most 1/0.9 = 1.11.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def environment(setting):
    env = dict(os.environ)
    for key in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "CYCLEGAN_OMP_WAIT", "OMP_NUM_THREADS"):
        env.pop(key, None)
    if setting == "gomp":
        env["CYCLEGAN_OMP_WAIT"] = "off"
    elif setting == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    elif setting.startswith("spin:"):
        env["GOMP_SPINCOUNT"] = setting.split(":", 1)[1]
    elif setting != "default":
        sys.exit(f"colocation_bench: unknown setting '{setting}'")
    return env


def command(args, run_dir):
    return [args.binary, "--preset", "cifar-colorize", "--data", "synthetic", "--synthetic-images", "256",
            "--steps", str(args.steps), "--threads", str(os.cpu_count()), "--run-dir", run_dir,
            "--sample-every", "0", "--checkpoint-every", "0", "--tensorboard", "false", "--log-every", "0"]


def timed(args, setting, count, work):
    """Wall seconds of `count` runs started together."""
    env = environment(setting)
    dirs = [tempfile.mkdtemp(prefix="run_", dir=work) for _ in range(count)]
    start = time.perf_counter()
    procs = [subprocess.Popen(command(args, d), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for d in dirs]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"colocation_bench: a run of '{setting}' exited {proc.returncode}:\n{err[-2000:]}")
    seconds = time.perf_counter() - start
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    return seconds


def summary(values):
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(HERE, "..", "build", "cyclegan_dist"))
    parser.add_argument("--runs", type=int, default=2, help="runs started together")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--settings", default="gomp,default,passive")
    parser.add_argument("--alone-only", action="store_true",
                        help="only the runs alone (the cost of a setting for a run that has the node)")
    args = parser.parse_args()
    settings = args.settings.split(",")
    if "gomp" not in settings:
        settings.insert(0, "gomp")
    work = tempfile.mkdtemp(prefix="cg_colocation_")
    alone = {s: [] for s in settings}
    together = {s: [] for s in settings}
    shared = {s: [] for s in settings}
    cost = {s: [] for s in settings}
    timed(args, settings[0], 1, work)  # warm the page cache and the allocator's first touch
    for r in range(args.rounds):
        for s in settings:
            alone[s].append(timed(args, s, 1, work))
            together[s].append(alone[s][-1] * args.runs if args.alone_only else timed(args, s, args.runs, work))
            shared[s].append(together[s][-1] / (args.runs * alone[s][-1]))
            print(f"round {r + 1} {s}: alone {alone[s][-1]:.2f} s, {args.runs} together {together[s][-1]:.2f} s",
                  flush=True)
        for s in settings:
            cost[s].append(alone[s][-1] / alone["gomp"][-1])
    shutil.rmtree(work, ignore_errors=True)
    what = "runs alone only" if args.alone_only else f"{args.runs} runs together against one alone"
    print(f"\n{what}, {args.steps} steps each (seed preset, batch 32, {os.cpu_count()} threads) "
          f"on {os.cpu_count()} cores, {args.rounds} rounds, median [min-max]")
    print(f"{'setting':<14} {'alone s':<22} {'together s':<22} {'shared':<20} {'alone vs gomp':<20}")
    for s in settings:
        print(f"{s:<14} {summary(alone[s]):<22} {summary(together[s]):<22} {summary(shared[s]):<20} "
              f"{summary(cost[s]):<20}")


if __name__ == "__main__":
    main()
