"""Helpers shared by the fault-injection suites (faults_e2e.py, trust_e2e.py), on top of
../e2e_util.py (its check, run and skip are re-exported for the suites): the one-line error
check, leftovers of killed writers, small tmpfs mounts filled to capacity, generated photo
folders, data set and checkpoint verification, and the root/tmpfs precondition."""
import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import check, run, skip  # noqa: E402,F401


def one_error_line(result, *needles):
    """The run printed exactly one line on stderr that names every needle."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    check(len(errors) == 1, f"expected one error line, got:\n{result.stderr}")
    for needle in needles:
        check(needle in errors[0], f"the error does not say '{needle}': {errors[0]}")
    check("Success" not in errors[0] and "errno" not in errors[0] and "HDF5" not in errors[0],
          f"the error shows a library's internals: {errors[0]}")


def leftovers(folder):
    """Temporary files and staging folders under `folder`."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            if (name.startswith(".") and (".tmp." in name or ".building." in name)) or name.endswith(".tmp"):
                found.append(os.path.join(root, name))
    return found


@contextlib.contextmanager
def tmpfs(kib):
    """A fresh tmpfs of `kib` KiB, unmounted afterwards."""
    point = tempfile.mkdtemp(prefix="cg_fault_fs_")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", point], check=True)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", point], check=False)
        os.rmdir(point)


def fill(folder, leave_kib=0):
    """Fills the file system of `folder`, leaving about `leave_kib` KiB free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize - leave_kib * 1024
    if free > 0:
        with open(os.path.join(folder, "ballast"), "wb") as f:
            f.write(b"\0" * free)


def photos(folder, count=40, size=64, seed=1):
    rng = np.random.default_rng(seed)
    for split, n in [("trainA", count), ("trainB", count), ("testA", 8), ("testB", 8)]:
        os.makedirs(os.path.join(folder, split), exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(folder, split, f"{i:04d}.png"))
    return folder


def verify(cyclegan_data, data_set):
    result = run([cyclegan_data, "verify", data_set])
    check("0 problem(s)" in result.stdout, f"{data_set} does not verify:\n{result.stdout}")


def checkpoint_steps(run_dir):
    """Steps of the numbered checkpoints in run_dir, each checked against its manifest."""
    folder = os.path.join(run_dir, "checkpoints")
    steps = []
    for name in sorted(os.listdir(folder)):
        if not (name.startswith("ckpt_") and name.endswith(".pt")) or name == "ckpt_best.pt":
            continue
        path = os.path.join(folder, name)
        with open(path[:-3] + ".json") as f:
            manifest = json.load(f)
        with open(path, "rb") as f:
            content = f.read()
        check(len(content) == manifest["bytes"] and zlib.crc32(content) == manifest["crc32"],
              f"{path} does not verify against its manifest")
        steps.append(manifest["step"])
    return steps




def require_tmpfs_mounts():
    """Exits 77 (CTest: skipped) with the reason unless this process may mount tmpfs."""
    if os.geteuid() != 0:
        skip("the fault cases mount small tmpfs file systems, which needs root")
    probe = tempfile.mkdtemp(prefix="cg_fault_probe_")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], capture_output=True).returncode != 0:
        os.rmdir(probe)
        skip("mount -t tmpfs is not permitted here")
    subprocess.run(["umount", probe], check=True)
    os.rmdir(probe)


def pause_files(prefix):
    """The files that processes paused by CYCLEGAN_TEST_PAUSE=PHASE:prefix made."""
    folder, stem = os.path.split(prefix)
    return [os.path.join(folder, n) for n in os.listdir(folder) if n.startswith(stem + ".")]


def wait_for_pause(prefix, count=1, proc=None, timeout=300):
    """Waits until `count` processes are paused at the hook (their files exist); fails when
    `proc` ends first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(pause_files(prefix)) >= count:
            return pause_files(prefix)
        if proc is not None and proc.poll() is not None:
            out = proc.stderr.read() if proc.stderr else ""
            check(False, f"the process ended (exit {proc.returncode}) before it paused:\n{out[-3000:]}")
        time.sleep(0.02)
    check(False, f"no process paused at {prefix} within {timeout} s")


def run_suite(cases, suite, prefix):
    """The command line of a fault suite: parses --cyclegan-dist, --cyclegan-data, --translate
    (made absolute), --repo and case names into suite.ARGS, makes suite.WORK (a fresh folder
    named `prefix`...), runs the named cases (all by default) and removes WORK."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cyclegan-dist", required=True)
    parser.add_argument("--cyclegan-data", required=True)
    parser.add_argument("--translate", required=True)
    parser.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    for name in ("cyclegan_dist", "cyclegan_data", "translate"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    unknown = [c for c in args.cases if c not in cases]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {list(cases)}")
    suite.ARGS = args
    require_tmpfs_mounts()
    suite.WORK = tempfile.mkdtemp(prefix=prefix)
    for name in args.cases or list(cases):
        cases[name]()
        print(f"{name}: ok", flush=True)
    shutil.rmtree(suite.WORK)
