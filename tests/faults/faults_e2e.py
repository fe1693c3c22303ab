"""Fault injection against the real executables: full file systems (a small tmpfs mounted
for the case and filled to capacity), interrupted and killed data set conversions. Each
case asserts the exit code, the one-line message, that no temporary file is left, and that
what was there before still verifies.

  python faults_e2e.py --cyclegan-dist BIN --cyclegan-data BIN --translate BIN [CASE...]

Needs root for `mount -t tmpfs` (CI runs as root); exits 77 (CTest: skipped) with the
reason otherwise.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_util import (check, checkpoint_steps, fill, leftovers, one_error_line, pause_files, photos,  # noqa: E402
                        run_suite, run, tmpfs, wait_for_pause)
from fault_util import verify as verify_with  # noqa: E402
from PIL import Image  # noqa: E402


def verify(data_set):
    verify_with(ARGS.cyclegan_data, data_set)


CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


@case
def conversion_on_a_full_disk():
    src = photos(os.path.join(WORK, "photos_full"))
    with tmpfs(300) as fs:
        result = run([ARGS.cyclegan_data, "folder", "--input", src, "--output", f"{fs}/set", "--size", "32",
                      "--no-progress"], expect=1)
        one_error_line(result, "no space left on device")
        check(not os.path.exists(f"{fs}/set"), "a failed conversion left an output folder")
        check(leftovers(fs) == [], f"temporaries left: {leftovers(fs)}")


@case
def overwrite_that_fails_keeps_the_old_set():
    src = photos(os.path.join(WORK, "photos_old"), count=12)
    with tmpfs(4096) as fs:
        out = f"{fs}/set"
        run([ARGS.cyclegan_data, "folder", "--input", src, "--output", out, "--size", "32", "--no-progress"])
        before = open(f"{out}/manifest.json").read()
        # A bad image in the new input.
        bad = photos(os.path.join(WORK, "photos_bad"), count=12, seed=2)
        with open(os.path.join(bad, "trainA", "0005.png"), "wb") as f:
            f.write(b"not a picture")
        result = run([ARGS.cyclegan_data, "folder", "--input", bad, "--output", out, "--size", "32",
                      "--no-progress", "--overwrite"], expect=1)
        one_error_line(result, "0005.png")
        # A new input larger than the space left.
        big = photos(os.path.join(WORK, "photos_big"), count=300, size=96, seed=3)
        fill(fs, leave_kib=600)
        result = run([ARGS.cyclegan_data, "folder", "--input", big, "--output", out, "--size", "64",
                      "--no-progress", "--overwrite"], expect=1)
        one_error_line(result, "no space left on device")
        check(open(f"{out}/manifest.json").read() == before, "the old manifest changed")
        verify(out)
        check(leftovers(fs) == [], f"temporaries left: {leftovers(fs)}")


@case
def overwrite_killed_midway_keeps_the_old_set():
    src = photos(os.path.join(WORK, "photos_k"), count=12)
    other = photos(os.path.join(WORK, "photos_kother"), count=40, size=64, seed=4)
    out = os.path.join(WORK, "killed_set")
    run([ARGS.cyclegan_data, "folder", "--input", src, "--output", out, "--size", "32", "--no-progress"])
    before = open(f"{out}/manifest.json").read()
    # Killed by the hook once its first new shard is complete: the new set is half staged,
    # the old one not yet replaced.
    env = dict(os.environ, CYCLEGAN_TEST_SIGNAL="shard-written:KILL")
    result = subprocess.run([ARGS.cyclegan_data, "folder", "--input", other, "--output", out, "--size", "64",
                             "--no-progress", "--overwrite", "--threads", "1"], capture_output=True, text=True,
                            env=env, timeout=300)
    check(result.returncode == -signal.SIGKILL, f"the conversion was not killed at its first shard: exit "
          f"{result.returncode}\n{result.stderr[-2000:]}")
    check(open(f"{out}/manifest.json").read() == before, "the old manifest changed")
    verify(out)
    stale = [n for n in os.listdir(WORK) if ".building." in n]
    check(len(stale) == 1, f"expected the killed run's staging folder, got {stale}")
    # The next conversion next to it removes it, and its own succeeds.
    run([ARGS.cyclegan_data, "folder", "--input", src, "--output", out, "--size", "32", "--no-progress",
         "--overwrite"])
    check([n for n in os.listdir(WORK) if ".building." in n] == [], "the stale staging folder is still there")
    verify(out)


@case
def translation_onto_a_full_disk():
    src = photos(os.path.join(WORK, "photos_t"), count=12)
    data = os.path.join(WORK, "set_t")
    run([ARGS.cyclegan_data, "folder", "--input", src, "--output", data, "--size", "32", "--no-progress"])
    run_dir = os.path.join(WORK, "run_t")
    run([ARGS.cyclegan_dist, "--data", data, "--steps", "1", "--batch-size", "2", "--threads", "1",
         "--run-dir", run_dir, "--tensorboard", "false"])
    with tmpfs(64) as fs:
        fill(fs, leave_kib=12)
        result = run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", f"{fs}/out"],
                     expect=1)
        one_error_line(result, "no space left on device", "image(s) were written before it")
        check(leftovers(fs) == [], f"temporaries left: {leftovers(fs)}")
        written = len(os.listdir(f"{fs}/out"))
        check(f"{written} of 8 image(s)" in result.stderr, f"{written} PNGs written, error says:\n{result.stderr}")
        for name in os.listdir(f"{fs}/out"):
            with Image.open(f"{fs}/out/{name}") as image:
                image.load()  # every PNG that is there is whole


@case
def export_onto_a_full_disk():
    src = photos(os.path.join(WORK, "photos_e"), count=12)
    data = os.path.join(WORK, "set_e")
    run([ARGS.cyclegan_data, "folder", "--input", src, "--output", data, "--size", "32", "--no-progress"])
    with tmpfs(64) as fs:
        fill(fs, leave_kib=4)
        result = run([ARGS.cyclegan_data, "export", data, "--output", f"{fs}/grid.png"], expect=1)
        one_error_line(result, f"{fs}/grid.png", "no space left on device")
        check(not os.path.exists(f"{fs}/grid.png"), "a failed export left grid.png")
        check(leftovers(fs) == [], f"temporaries left: {leftovers(fs)}")


@case
def checkpoint_on_a_full_disk():
    with tmpfs(64 * 1024) as fs:
        run_dir = f"{fs}/run"
        train = [ARGS.cyclegan_dist, "--data", "synthetic", "--synthetic-images", "16", "--batch-size", "2",
                 "--threads", "1", "--run-dir", run_dir, "--checkpoint-every", "1", "--sample-every", "0",
                 "--tensorboard", "false", "--resume", "auto"]
        run(train + ["--steps", "2"])
        size = os.path.getsize(os.path.join(run_dir, "checkpoints", "ckpt_00000002.pt"))
        fill(fs, leave_kib=size * 3 // 2 // 1024)  # room for one more checkpoint, not two
        result = run(train + ["--steps", "6"], expect=1)
        one_error_line(result, "checkpoint of step 4 not written", "ckpt_00000004.pt", "no space left on device",
                       "--resume auto")
        check("terminate" not in result.stderr, f"the trainer died by terminate:\n{result.stderr}")
        check(leftovers(fs) == [], f"temporaries left: {leftovers(fs)}")
        check(checkpoint_steps(run_dir) == [1, 2, 3], f"checkpoints after the failure: {checkpoint_steps(run_dir)}")
        os.remove(os.path.join(fs, "ballast"))
        result = run(train + ["--steps", "5", "--keep-checkpoints", "2"])
        check("resumed from " + os.path.join(run_dir, "checkpoints", "ckpt_00000003.pt") + " at step 3" in result.stderr,
              f"the next run did not resume at step 3:\n{result.stderr[-2000:]}")
        check(checkpoint_steps(run_dir) == [4, 5], f"checkpoints after the resume: {checkpoint_steps(run_dir)}")


@case
def a_used_run_directory_belongs_to_its_run():
    run_dir = os.path.join(WORK, "run_used")
    base = [ARGS.cyclegan_dist, "--data", "synthetic", "--synthetic-images", "16", "--batch-size", "2",
            "--threads", "1", "--sample-every", "0", "--tensorboard", "false"]
    train = base + ["--run-dir", run_dir]
    run(train + ["--steps", "2"])
    before = {name: open(os.path.join(run_dir, name), "rb").read()
              for name in ["config.json", "checkpoints/ckpt_00000002.pt", "checkpoints/ckpt_00000002.json"]}
    result = run(train + ["--steps", "1", "--seed", "7"], expect=2)
    one_error_line(result, run_dir, "--resume auto", "--overwrite")
    for name, content in before.items():
        check(open(os.path.join(run_dir, name), "rb").read() == content, f"a refused run changed {name}")
    # The first run's checkpoint, resumed elsewhere, starts that run's history there...
    first = os.path.join(run_dir, "checkpoints", "ckpt_00000002.pt")
    other_dir = os.path.join(WORK, "run_other")
    run(base + ["--run-dir", other_dir, "--steps", "1", "--seed", "7"])
    # ...but a directory with a run of its own refuses it, unless asked.
    resume_other = base + ["--run-dir", other_dir, "--steps", "3", "--resume", first]
    result = run(resume_other, expect=2)
    one_error_line(result, first, "--resume-other-run")
    result = run(resume_other + ["--resume-other-run"])
    check(f"resumed from {first} at step 2" in result.stderr, f"--resume-other-run did not resume:\n{result.stderr}")
    # --overwrite moves the old run aside, says where, and starts afresh.
    result = run(train + ["--steps", "1", "--seed", "7", "--overwrite"])
    moved = [n for n in os.listdir(WORK) if n.startswith("run_used.replaced-")]
    check(len(moved) == 1, f"expected the old run moved aside, found {moved}")
    check(f"moved the previous contents of {run_dir} to {os.path.join(WORK, moved[0])}" in result.stderr,
          f"the log does not say where the old run went:\n{result.stderr}")
    for name, content in before.items():
        check(open(os.path.join(WORK, moved[0], name), "rb").read() == content, f"{name} changed when moved")
    check(checkpoint_steps(run_dir) == [1], f"the new run's checkpoints: {checkpoint_steps(run_dir)}")


@case
def options_that_are_not_finite_or_out_of_range():
    train = [ARGS.cyclegan_dist, "--data", "synthetic", "--run-dir", os.path.join(WORK, "run_bad"), "--steps", "1"]
    for flag, value, needle in [("--lr-d", "inf", "finite"), ("--lr-g", "nan", "finite"),
                                ("--lr-g", "1e30", "(0, 1]"), ("--lambda-cycle", "1e400", "expected a number"),
                                ("--bucket-mb", "1e308", "(0, 4096]"), ("--image-size", "100000", "at most 8192"),
                                ("--synthetic-images", "1000000", "GiB")]:
        extra = ["--image-size", "512"] if flag == "--synthetic-images" else []
        result = run(train + extra + [flag, value], expect=2)
        one_error_line(result, flag, needle)
        check("1.79" not in result.stderr, f"{flag} {value}: {result.stderr}")
    check(not os.path.exists(os.path.join(WORK, "run_bad")), "a refused command line wrote a run directory")
    result = run(train + ["--threads", "100000", "--synthetic-images", "8", "--batch-size", "2"])
    check(f"--threads 100000 is more than this node's {os.cpu_count()} cores: using {os.cpu_count()}" in result.stderr,
          f"no cap warning for --threads 100000:\n{result.stderr}")


def stopped_step(stderr):
    """The step of 'stopped on request at step N of M', or None."""
    for line in stderr.splitlines():
        if "stopped on request at step " in line:
            return int(line.split("stopped on request at step ")[1].split()[0])
    return None


def resumes_where_it_stopped(train, run_dir, total):
    """The next run with --resume auto continues after the newest checkpoint (or from 0)."""
    steps = checkpoint_steps(run_dir) if os.path.isdir(os.path.join(run_dir, "checkpoints")) else []
    result = run(train + ["--resume", "auto", "--steps", str(total)])
    if steps:
        check(f"at step {max(steps)}" in result.stderr and "resumed from" in result.stderr,
              f"did not resume at step {max(steps)}:\n{result.stderr[-2000:]}")
    else:
        check("starting from step 0" in result.stderr, f"expected a fresh start:\n{result.stderr[-2000:]}")
    check(f"finished {total} steps" in result.stderr, f"the resumed run did not finish:\n{result.stderr[-2000:]}")


@case
def a_stop_signal_in_each_phase_checkpoints_and_exits_75():
    data = os.path.join(WORK, "demo_sig")
    run([ARGS.cyclegan_data, "demo", "--output", data, "--sizes", "32", "--train-images", "16", "--test-images", "4"])
    for phase, signal_name, extra in [("start-up", "TERM", []), ("checkpoint", "USR1", []),
                                      ("evaluation", "INT", ["--eval-every", "2", "--fid-images", "0"])]:
        run_dir = os.path.join(WORK, f"run_sig_{phase}")
        train = [ARGS.cyclegan_dist, "--data", f"{data}/32x32", "--batch-size", "2", "--threads", "1",
                 "--run-dir", run_dir, "--checkpoint-every", "2", "--sample-every", "0", "--tensorboard", "false",
                 "--loader-threads", "1"] + extra
        env = dict(os.environ, CYCLEGAN_TEST_SIGNAL=f"{phase}:{signal_name}")
        result = subprocess.run(train + ["--steps", "6"], capture_output=True, text=True, env=env, timeout=300)
        check(result.returncode == 75, f"{phase}: exit {result.returncode}, expected 75:\n{result.stderr[-2000:]}")
        at = stopped_step(result.stderr)
        check(at is not None, f"{phase}: no 'stopped on request' line:\n{result.stderr[-2000:]}")
        expected = {"start-up": (0, 1), "checkpoint": (2,), "evaluation": (2,)}[phase]
        check(at in expected, f"{phase}: stopped at step {at}, expected one of {expected}")
        check(leftovers(run_dir) == [], f"{phase}: temporaries left: {leftovers(run_dir)}")
        if at > 0:
            check(max(checkpoint_steps(run_dir)) == at, f"{phase}: no checkpoint of step {at}")
        resumes_where_it_stopped(train, run_dir, 4)


@case
def stop_signals_under_mpirun_np_2():
    launcher = os.path.join(ARGS.repo, "launch", "mpirun.sh")
    hosts = os.path.join(WORK, "hosts")
    with open(hosts, "w") as f:
        f.write("localhost slots=2\n")
    env = dict(os.environ, CYCLEGAN_BIN=ARGS.cyclegan_dist, METRICS_PORT="0")
    for when in ["start-up", "first-collective", "mid-run"]:
        run_dir = os.path.join(WORK, f"run_mpi_{when}")
        flags = ["--data", "synthetic", "--synthetic-images", "16", "--batch-size", "2", "--run-dir", run_dir,
                 "--sample-every", "0", "--tensorboard", "false", "--log-every", "1", "--checkpoint-every", "1000"]
        cmd = [launcher, "--hostfile", hosts, "--ranks-per-node", "2", "--cores-per-rank", "1", "--"] + flags
        case_env = dict(env, CYCLEGAN_TEST_SIGNAL="first-collective:TERM") if when == "first-collective" else env
        pause = os.path.join(WORK, f"pause_mpi_{when}")
        if when == "start-up":
            case_env = dict(case_env, CYCLEGAN_TEST_PAUSE=f"start-up:{pause}")
        proc = subprocess.Popen(cmd + ["--steps", "100000"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, env=case_env)
        if when == "start-up":
            wait_for_pause(pause, count=2, proc=proc)  # both ranks are in their start-up
            proc.send_signal(signal.SIGTERM)
        elif when == "mid-run":
            log = os.path.join(run_dir, "train.log")
            deadline = time.time() + 180
            while time.time() < deadline and proc.poll() is None:
                if os.path.exists(log) and "step 3/" in open(log).read():
                    break
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=300)
        check(proc.returncode == 75, f"mpirun -np 2, stop at {when}: exit {proc.returncode}, expected 75:\n{stderr[-3000:]}")
        if when == "mid-run":
            at = stopped_step(stderr)
            check(at is not None and at >= 3, f"mid-run: stopped at step {at}")
        if os.path.isdir(run_dir):
            check(leftovers(run_dir) == [], f"{when}: temporaries left: {leftovers(run_dir)}")
        resume = [launcher, "--hostfile", hosts, "--ranks-per-node", "2", "--cores-per-rank", "1", "--"] + flags
        steps = checkpoint_steps(run_dir) if os.path.isdir(os.path.join(run_dir, "checkpoints")) else []
        result = subprocess.run(resume + ["--resume", "auto", "--steps", str(max(steps + [0]) + 2)],
                                capture_output=True, text=True, env=env, timeout=300)
        check(result.returncode == 0, f"{when}: the resumed job exited {result.returncode}:\n{result.stderr[-2000:]}")
        check(f"finished {max(steps + [0]) + 2} steps" in result.stderr, f"{when}: the resumed job did not finish")


@case
def a_loss_made_non_finite_mid_run():
    run_dir = os.path.join(WORK, "run_nan")
    train = [ARGS.cyclegan_dist, "--data", "synthetic", "--synthetic-images", "16", "--batch-size", "2",
             "--threads", "1", "--run-dir", run_dir, "--sample-every", "0", "--tensorboard", "false",
             "--checkpoint-every", "2", "--log-every", "1"]
    # Default --on-nonfinite stop: three dropped steps in a row end the run.
    env = dict(os.environ, CYCLEGAN_TEST_NONFINITE="3,4,5")
    result = subprocess.run(train + ["--steps", "8"], capture_output=True, text=True, env=env, timeout=300)
    check(result.returncode == 1, f"non-finite steps 3-5: exit {result.returncode}, expected 1:\n{result.stderr[-2000:]}")
    one_error_line(result, "step 5", "3 step(s) in a row", "D_B nan", "--resume auto")
    for step in (3, 4):
        check(f"step {step}: non-finite loss or gradients (D_B nan); the update of D_B was dropped" in result.stderr,
              f"no warning for step {step}:\n{result.stderr[-2000:]}")
    check(checkpoint_steps(run_dir) == [2, 4], f"checkpoints: {checkpoint_steps(run_dir)}")
    # The weights never took a non-finite update: the run goes on from its last checkpoint.
    result = run(train + ["--steps", "6", "--resume", "auto"])
    check("resumed from" in result.stderr and "at step 4" in result.stderr, result.stderr[-2000:])
    check(not re.search(r"\b(nan|inf)\b", result.stderr), f"non-finite values after the resume:\n{result.stderr[-2000:]}")
    shutil.rmtree(run_dir)
    # --on-nonfinite skip: dropped and counted, training goes on.
    env = dict(os.environ, CYCLEGAN_TEST_NONFINITE="2,3")
    result = subprocess.run(train + ["--steps", "5", "--on-nonfinite", "skip"], capture_output=True, text=True,
                            env=env, timeout=300)
    check(result.returncode == 0, f"--on-nonfinite skip: exit {result.returncode}:\n{result.stderr[-2000:]}")
    check("2 so far; --on-nonfinite skip" in result.stderr, f"the second skip is not counted:\n{result.stderr[-2000:]}")
    check("finished 5 steps" in result.stderr, result.stderr[-2000:])
    shutil.rmtree(run_dir)
    # One rank's loss: every rank drops the same update, the replicas stay equal.
    launcher = os.path.join(ARGS.repo, "launch", "mpirun.sh")
    hosts = os.path.join(WORK, "hosts_nan")
    with open(hosts, "w") as f:
        f.write("localhost slots=2\n")
    env = dict(os.environ, CYCLEGAN_BIN=ARGS.cyclegan_dist, METRICS_PORT="0", CYCLEGAN_TEST_NONFINITE="2@1")
    result = subprocess.run([launcher, "--hostfile", hosts, "--ranks-per-node", "2", "--cores-per-rank", "1", "--"]
                            + train[1:] + ["--steps", "4", "--on-nonfinite", "skip", "--replica-check-every", "1"],
                            capture_output=True, text=True, env=env, timeout=300)
    check(result.returncode == 0, f"mpirun -np 2, rank 1's loss NaN at step 2: exit {result.returncode}:\n"
          f"{result.stderr[-3000:]}")
    check("step 2: non-finite loss or gradients (gradients only" in result.stderr,
          f"rank 0 did not report the dropped step:\n{result.stderr[-2000:]}")
    check("finished 4 steps" in result.stderr, result.stderr[-2000:])


@case
def ctrl_c_checkpoints_and_a_second_one_exits_at_once():
    run_dir = os.path.join(WORK, "run_int")
    train = [ARGS.cyclegan_dist, "--data", "synthetic", "--synthetic-images", "16", "--batch-size", "2",
             "--threads", "1", "--run-dir", run_dir, "--steps", "100000", "--log-every", "1",
             "--tensorboard", "false"]

    def started(extra=(), env=None):
        proc = subprocess.Popen(train + list(extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=env)
        log = os.path.join(run_dir, "train.log")
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(log) and "step 3/" in open(log).read():
                return proc
            time.sleep(0.1)
        check(False, "the run did not reach step 3")

    proc = started()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    check(proc.returncode == 75, f"Ctrl-C: exit {proc.returncode}, expected 75:\n{stderr[-2000:]}")
    check("stop requested (signal 2)" in stderr, f"no stop line after Ctrl-C:\n{stderr[-2000:]}")
    checkpoints = [n for n in os.listdir(os.path.join(run_dir, "checkpoints")) if n.endswith(".pt")]
    check(len(checkpoints) >= 1, "Ctrl-C left no checkpoint")
    check(leftovers(run_dir) == [], f"temporaries left: {leftovers(run_dir)}")
    shutil.rmtree(run_dir)
    # The first Ctrl-C's checkpoint waits at the hook; the second press comes while it is
    # being written.
    pause = os.path.join(WORK, "pause_int")
    proc = started(env=dict(os.environ, CYCLEGAN_TEST_PAUSE=f"checkpoint:{pause}"),
                   extra=["--checkpoint-every", "0"])
    proc.send_signal(signal.SIGINT)
    wait_for_pause(pause, proc=proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    check(proc.returncode == 130, f"a second Ctrl-C: exit {proc.returncode}, expected 130 at once")
    for marker in pause_files(pause):  # it ended inside the hook
        os.remove(marker)


if __name__ == "__main__":
    ARGS = WORK = None
    run_suite(CASES, sys.modules[__name__], "cg_faults_")
