"""The second fault round (issue 26) against the real executables: every number
trustworthy, every run directory owned. Each case asserts the exit code, the one-line
message, that nothing was moved, overwritten or left behind, and that the numbers after a
repair equal those of a clean run. Processes are interrupted at known points by the test
hooks (CYCLEGAN_TEST_PAUSE, CYCLEGAN_TEST_SIGNAL), never after a guessed sleep.

  python trust_e2e.py --cyclegan-dist BIN --cyclegan-data BIN --translate BIN [CASE...]

Needs root for `mount -t tmpfs` (CI runs as root); exits 77 (CTest: skipped) otherwise.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_util import (check, checkpoint_steps, fill, leftovers, one_error_line, photos, run_suite,  # noqa: E402
                        run, tmpfs, wait_for_pause)

CASES = {}
SMALL = ["--data", "synthetic", "--synthetic-images", "8", "--batch-size", "2", "--threads", "1",
         "--sample-every", "0", "--tensorboard", "false"]


def case(function):
    CASES[function.__name__] = function
    return function


def demo_set():
    """A small demo data set (16 training, 4 test images per domain, 32x32), made once."""
    out = os.path.join(WORK, "demo")
    if not os.path.isdir(out):
        run([ARGS.cyclegan_data, "demo", "--output", out, "--sizes", "32", "--train-images", "16",
             "--test-images", "4"])
    return os.path.join(out, "32x32")


def fid_of(run_dir, step):
    with open(os.path.join(run_dir, "eval", f"step_{step}.json")) as f:
        return json.load(f)["fid"]


def same_fid(got, want, what):
    for key in ("AtoB", "BtoA", "baseline_AtoB", "baseline_BtoA", "floor_A", "floor_B"):
        for score in ("fid", "kid"):
            check(abs(got[key][score] - want[key][score]) <= 1e-9,
                  f"{what}: {key} {score} {got[key][score]}, the clean run's {want[key][score]}")


def snapshot(folder):
    """Every file under `folder` with its bytes."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


@case
def a_damaged_fid_cache_is_recomputed_not_used():
    data = demo_set()
    train = [ARGS.cyclegan_dist, "--data", data, "--batch-size", "2", "--threads", "1", "--steps", "2",
             "--eval-every", "2", "--fid-images", "4", "--sample-every", "0", "--tensorboard", "false"]
    shutil.rmtree(os.path.join(data, "fid_cache"), ignore_errors=True)
    clean_dir = os.path.join(WORK, "run_fid_clean")
    run(train + ["--run-dir", clean_dir])
    clean = fid_of(clean_dir, 2)
    cache = os.path.join(data, "fid_cache")
    entries = sorted(os.path.join(cache, n) for n in os.listdir(cache) if n.endswith(".pt"))
    # Test B, test A, train B, train A, and test B in gray (the B -> A baseline's input).
    check(len(entries) == 5, f"expected 5 cache entries, found {entries}")
    # 8 KiB of zeros inside every entry.
    for entry in entries:
        size = os.path.getsize(entry)
        with open(entry, "r+b") as f:
            f.seek(size // 2 - 4096)
            f.write(b"\0" * 8192)
    zeroed_dir = os.path.join(WORK, "run_fid_zeroed")
    result = run(train + ["--run-dir", zeroed_dir])
    for entry in entries:
        check(f"FID cache {entry} is damaged" in result.stderr, f"no warning names {entry}:\n{result.stderr[-3000:]}")
    same_fid(fid_of(zeroed_dir, 2), clean, "after zeroed cache entries")
    # Random bytes over one whole entry.
    b_test = [e for e in entries if os.path.basename(e).startswith("B_test_")][0]
    with open(b_test, "r+b") as f:
        f.write(np.random.default_rng(3).integers(0, 256, os.path.getsize(b_test), dtype=np.uint8).tobytes())
    noise_dir = os.path.join(WORK, "run_fid_noise")
    result = run(train + ["--run-dir", noise_dir])
    check(result.stderr.count("is damaged") == 1 and b_test in result.stderr,
          f"expected one warning naming {b_test}:\n{result.stderr[-3000:]}")
    same_fid(fid_of(noise_dir, 2), clean, "after a random cache entry")
    # The repaired cache gives the clean numbers to translate --eval as well, without a warning.
    report = os.path.join(WORK, "fid_report.json")
    result = run([ARGS.translate, "--checkpoint", clean_dir, "--eval", "--input", data, "--fid-images", "4",
                  "--output", report])
    check("damaged" not in result.stderr, f"the repaired cache is still reported damaged:\n{result.stderr}")
    with open(report) as f:
        same_fid(json.load(f)["fid"], clean, "translate --eval on the repaired cache")


def lock_holder_error(result, pid):
    one_error_line(result, "is in use by another cyclegan_dist", f"pid {pid}", "started")


@case
def one_run_directory_one_process():
    run_dir = os.path.join(WORK, "run_locked")
    pause = os.path.join(WORK, "pause_lock")
    train = [ARGS.cyclegan_dist] + SMALL + ["--run-dir", run_dir, "--checkpoint-every", "2"]
    env = dict(os.environ, CYCLEGAN_TEST_PAUSE=f"checkpoint:{pause}")
    first = subprocess.Popen(train + ["--steps", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=env)
    marker = wait_for_pause(pause, proc=first)[0]  # the first run writes its step-2 checkpoint
    before = snapshot(run_dir)
    for extra in (["--steps", "4", "--seed", "7"], ["--steps", "6", "--resume", "auto"],
                  ["--steps", "4", "--seed", "7", "--overwrite"]):
        result = run(train + extra, expect=2)
        lock_holder_error(result, first.pid)
    check(snapshot(run_dir) == before, "a refused process changed the run directory")
    check(not [n for n in os.listdir(WORK) if n.startswith("run_locked.replaced-")], "a refused --overwrite moved it")
    os.remove(marker)
    _, stderr = first.communicate(timeout=300)
    check(first.returncode == 0, f"the first run exited {first.returncode}:\n{stderr[-3000:]}")
    check(checkpoint_steps(run_dir) == [2, 4], f"the first run's checkpoints: {checkpoint_steps(run_dir)}")
    with open(os.path.join(run_dir, "train.log")) as f:
        log = f.read()
    check("in use by another" not in log, "a refused process wrote into train.log")
    # A SIGKILL'ed holder leaves no stale lock.
    killed = subprocess.Popen(train + ["--steps", "8", "--resume", "auto"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    stale = wait_for_pause(pause, proc=killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    for marker in stale:
        os.remove(marker)
    result = run(train + ["--steps", "8", "--resume", "auto"])
    check("finished 8 steps" in result.stderr, f"the run after a SIGKILL did not finish:\n{result.stderr[-2000:]}")
    check(leftovers(run_dir) == [], f"temporaries left: {leftovers(run_dir)}")
    # Under mpirun, rank 0 holds it.
    launcher = os.path.join(ARGS.repo, "launch", "mpirun.sh")
    hosts = os.path.join(WORK, "hosts_lock")
    with open(hosts, "w") as f:
        f.write("localhost slots=2\n")
    mpi_dir = os.path.join(WORK, "run_locked_mpi")
    pause = os.path.join(WORK, "pause_lock_mpi")
    mpi_env = dict(os.environ, CYCLEGAN_BIN=ARGS.cyclegan_dist, METRICS_PORT="0",
                   CYCLEGAN_TEST_PAUSE=f"checkpoint:{pause}")
    job = subprocess.Popen([launcher, "--hostfile", hosts, "--ranks-per-node", "2", "--cores-per-rank", "1", "--"]
                           + ["--data", "synthetic", "--synthetic-images", "8", "--batch-size", "2",
                              "--sample-every", "0", "--tensorboard", "false", "--run-dir", mpi_dir,
                              "--checkpoint-every", "2", "--steps", "2"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=mpi_env)
    markers = wait_for_pause(pause, count=1, proc=job)
    result = run([ARGS.cyclegan_dist] + SMALL + ["--run-dir", mpi_dir, "--steps", "2", "--seed", "7"], expect=2)
    one_error_line(result, "is in use by another cyclegan_dist")
    for m in markers:
        os.remove(m)
    _, stderr = job.communicate(timeout=300)
    check(job.returncode == 0, f"the mpirun job exited {job.returncode}:\n{stderr[-3000:]}")
    check(checkpoint_steps(mpi_dir) == [2], f"the mpirun job's checkpoints: {checkpoint_steps(mpi_dir)}")


@case
def translate_eval_writes_only_where_it_is_told():
    data = demo_set()
    run_dir = os.path.join(WORK, "run_eval_out")
    run([ARGS.cyclegan_dist, "--data", data, "--batch-size", "2", "--threads", "1", "--steps", "1", "--eval-every",
         "1", "--fid-images", "0", "--sample-every", "0", "--tensorboard", "false", "--run-dir", run_dir])
    before = snapshot(run_dir)
    evaluate = [ARGS.translate, "--checkpoint", run_dir, "--eval", "--input", data, "--fid-images", "0"]
    result = run(evaluate)
    check(json.loads(result.stdout)["step"] == 1, f"no report on stdout:\n{result.stdout[:500]}")
    check(snapshot(run_dir) == before, "translate --eval without --output changed the run directory")
    # A bare file name: the working directory.
    result = subprocess.run(evaluate + ["--output", "report.json"], capture_output=True, text=True, cwd=WORK)
    check(result.returncode == 0, f"--output report.json exited {result.returncode}:\n{result.stderr[-2000:]}")
    with open(os.path.join(WORK, "report.json")) as f:
        check(json.load(f)["step"] == 1, "report.json is not the report")
    # Refused before the evaluation: a directory, a missing folder.
    for output, needle in [(WORK, "is a directory"), (os.path.join(WORK, "no", "such", "r.json"), "does not exist")]:
        result = run(evaluate + ["--output", output], expect=2)
        one_error_line(result, "--output", needle)
        check("FID" not in result.stderr and "model:" not in result.stderr,
              f"--output {output} was refused only after loading the model:\n{result.stderr}")


def write_other_torchscript(path):
    """A valid TorchScript file of another network (a 3x3 convolution)."""
    import torch
    torch.jit.save(torch.jit.script(torch.nn.Conv2d(3, 8, 3)), path)


@case
def a_wrong_inception_network_is_refused_before_anything():
    data = demo_set()
    weights = os.environ.get("CYCLEGAN_INCEPTION", os.path.expanduser("~/.cache/cyclegan_dist/fid/inception-2015-12-05.pt"))
    other = os.path.join(WORK, "other_net.pt")
    write_other_torchscript(other)
    noise = os.path.join(WORK, "noise.pt")
    with open(noise, "wb") as f:
        f.write(np.random.default_rng(1).integers(0, 256, 1 << 16, dtype=np.uint8).tobytes())
    truncated = os.path.join(WORK, "truncated.pt")
    with open(weights, "rb") as f, open(truncated, "wb") as out:
        out.write(f.read()[: os.path.getsize(weights) // 2])
    folder = os.path.join(WORK, "a_folder.pt")
    os.makedirs(folder, exist_ok=True)
    cases = [(other, "not the FID Inception network"), (noise, "not a TorchScript module"),
             (truncated, "not a TorchScript module"), (folder, "is a directory"),
             (os.path.join(WORK, "missing.pt"), "no Inception weights at")]
    train = [ARGS.cyclegan_dist, "--data", data, "--batch-size", "2", "--threads", "1", "--steps", "2",
             "--eval-every", "2", "--fid-images", "4", "--sample-every", "0", "--tensorboard", "false"]
    fresh = os.path.join(WORK, "run_inception_fresh")
    used = os.path.join(WORK, "run_inception_used")
    run(train + ["--run-dir", used, "--fid-images", "0"])
    before = snapshot(used)
    for path, needle in cases:
        result = run(train + ["--run-dir", fresh, "--inception", path], expect=2)
        one_error_line(result, "--inception", path, needle)
        check("Traceback" not in result.stderr and "miniz" not in result.stderr.lower(),
              f"--inception {path} shows a library's internals:\n{result.stderr}")
        check(not os.path.exists(fresh), f"--inception {path}: a refused run made its run directory")
        # --overwrite of an existing run: refused before the old run is moved aside.
        result = run(train + ["--run-dir", used, "--inception", path, "--overwrite"], expect=2)
        one_error_line(result, "--inception", needle)
        check(snapshot(used) == before, f"--inception {path} --overwrite changed the old run")
        check(not [n for n in os.listdir(WORK) if n.startswith("run_inception_used.replaced-")],
              f"--inception {path} --overwrite moved the old run aside")
        # The same file given to translate --eval.
        result = run([ARGS.translate, "--checkpoint", used, "--eval", "--input", data, "--fid-images", "4",
                      "--inception", path], expect=2)
        one_error_line(result, "--inception", needle)


@case
def the_best_checkpoint_comes_after_the_regular_one():
    data = demo_set()
    train = [ARGS.cyclegan_dist, "--data", data, "--batch-size", "2", "--threads", "1", "--eval-every", "2",
             "--fid-images", "4", "--checkpoint-every", "2", "--sample-every", "0", "--tensorboard", "false",
             "--resume", "auto"]
    with tmpfs(64 * 1024) as fs:
        probe = f"{fs}/probe"
        run(train + ["--run-dir", probe, "--steps", "2"])
        size = os.path.getsize(os.path.join(probe, "checkpoints", "ckpt_00000002.pt"))
        shutil.rmtree(probe)
        run_dir = f"{fs}/run"
        fill(fs, leave_kib=size * 3 // 2 // 1024)  # room for the regular checkpoint, not the best one too
        result = run(train + ["--run-dir", run_dir, "--steps", "4"], expect=1)
        one_error_line(result, "best checkpoint of step 2 not written", "no space left on device",
                       os.path.join(run_dir, "checkpoints", "ckpt_00000002.pt"), "--resume auto")
        check(checkpoint_steps(run_dir) == [2], f"checkpoints after the failure: {checkpoint_steps(run_dir)}")
        check(leftovers(fs) == [], f"temporaries left: {leftovers(fs)}")
        os.remove(os.path.join(fs, "ballast"))
        result = run(train + ["--run-dir", run_dir, "--steps", "4"])
        check("at step 2" in result.stderr and "resumed from" in result.stderr,
              f"the next run did not resume at step 2:\n{result.stderr[-2000:]}")


def one_line_exit(cmd, code, *needles, cwd=None):
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    check(result.returncode == code, f"{' '.join(cmd)} exited {result.returncode}, expected {code}:\n"
          f"{result.stderr[-2000:]}")
    one_error_line(result, *needles)
    return result


@case
def older_corners_are_closed():
    data = demo_set()
    bad_dir = os.path.join(WORK, "run_corner")
    train = [ARGS.cyclegan_dist] + SMALL + ["--run-dir", bad_dir, "--steps", "2"]
    # Flags that were ignored or reported oddly.
    one_line_exit(train + ["--pushgateway", "notaurl.invalid"], 2, "--pushgateway", "does not resolve")
    one_line_exit(train + ["--resume-other-run"], 2, "--resume-other-run")
    one_line_exit(train + ["--resume", "auto", "--overwrite"], 2, "--overwrite", "--resume")
    result = one_line_exit(train + ["--lr", "0.1"], 2, "--lr")
    check(result.stderr.find("--lr") < result.stderr.find("0.1") or "0.1" not in result.stderr,
          f"the value is named before the flag: {result.stderr}")
    config = os.path.join(WORK, "bad_config.json")
    with open(config, "w") as f:
        json.dump({"lr_g": 5}, f)
    result = one_line_exit(train + ["--config", config], 2, "lr_g", config)
    check("--lr-g" not in result.stderr, f"a config-file value is reported as a flag: {result.stderr}")
    for flag in ("--data", "--run-dir"):
        odd = os.fsdecode(os.path.join(WORK, "odd").encode() + b"\xff")
        cmd = [ARGS.cyclegan_dist] + SMALL + ["--run-dir", bad_dir, "--steps", "2"]
        cmd[cmd.index(flag) + 1] = odd
        one_line_exit(cmd, 2, flag, "UTF-8")
    check(not os.path.exists(bad_dir), "a refused command line made the run directory")
    # A shard that is a directory.
    broken = os.path.join(WORK, "demo_broken")
    shutil.copytree(data, broken)
    with open(os.path.join(broken, "manifest.json")) as f:
        shard = json.load(f)["shards"][0]["file"]
    os.remove(os.path.join(broken, shard))
    os.makedirs(os.path.join(broken, shard))
    one_line_exit([ARGS.cyclegan_dist, "--data", broken, "--steps", "1", "--run-dir", bad_dir, "--threads", "1"], 1,
                  shard, "is a directory")
    check(not os.path.exists(bad_dir), "a data set that cannot be read left a run directory")
    result = subprocess.run([ARGS.cyclegan_data, "verify", broken], capture_output=True, text=True)
    check(result.returncode == 1 and "is a directory" in result.stdout + result.stderr,
          f"verify of a shard that is a directory:\n{result.stdout}{result.stderr}")
    # A resumed run says which steps it trained; the last line names what is there.
    run_dir = os.path.join(WORK, "run_resumed")
    run([ARGS.cyclegan_dist] + SMALL + ["--run-dir", run_dir, "--steps", "4"])
    result = run([ARGS.cyclegan_dist] + SMALL + ["--run-dir", run_dir, "--steps", "6", "--resume", "auto"])
    check("finished 6 steps (2 in this run)" in result.stderr, f"resumed at 4 of 6:\n{result.stderr[-1500:]}")
    last = [line for line in result.stderr.splitlines() if f"run directory {run_dir}:" in line]
    check(len(last) == 1 and "checkpoints/" in last[0] and "samples/" not in last[0],
          f"the last line names what is not there: {last}")
    # Translation: a bad --batch-size; a corrupt image in the middle of a batch.
    one_line_exit([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", os.path.join(WORK, "t"),
                   "--batch-size", "0"], 2, "--batch-size", "at least 1")
    src = photos(os.path.join(WORK, "photos_corrupt"), count=0)
    folder = os.path.join(src, "testA")
    with open(os.path.join(folder, "0003.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really")
    out = os.path.join(WORK, "translated_corrupt")
    result = one_line_exit([ARGS.translate, "--checkpoint", run_dir, "--input", folder, "--output", out,
                            "--batch-size", "4", "--no-progress"], 1, "0003.png", "3 of 8 image(s) were written before it")
    check(sorted(os.listdir(out)) == ["0000.png", "0001.png", "0002.png"],
          f"the images before the corrupt one: {sorted(os.listdir(out))}")


if __name__ == "__main__":
    ARGS = WORK = None
    run_suite(CASES, sys.modules[__name__], "cg_trust_")
