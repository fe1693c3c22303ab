#!/usr/bin/env python3
"""cyclegan_translate over a folder across ranks (issue 29):

  - `mpirun -np 3 cyclegan_translate --input FOLDER` over 50 images in nested sub-folders, of
    three sizes (one not a multiple of the generator's stride), gray and colour, writes the
    same files, bit for bit, as one process, with the input's sub-folder layout and stems;
  - a run killed midway (one rank SIGKILLs itself after its second written image; mpirun
    ends the others) leaves only complete outputs; the rerun writes only the missing ones
    (the finished ones keep their inode) plus one that was damaged on purpose, and ends
    with the same files as the one-process run;
  - every run reports its count and rate ("N written, M already done ... images/s");
  - an output folder inside the input folder is refused before any work.
"""
import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import check, run  # noqa: E402

ARGS = None


def outputs(folder):
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(found)


def mpirun(ranks, cmd, expect=0, env=None):
    launcher = ["mpirun", "-np", str(ranks), "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
                "-x", "OMP_NUM_THREADS=1"]
    for name in (env or {}):
        launcher += ["-x", name]
    return run(launcher + cmd, expect=expect, env=dict(os.environ, **(env or {})), timeout=600)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--cyclegan-dist", required=True)
    parser.add_argument("--translate", required=True)
    ARGS = parser.parse_args()
    work = tempfile.mkdtemp(prefix="cyclegan_translate_ranks_")
    run_dir = os.path.join(work, "run")
    run([ARGS.cyclegan_dist, "--preset", "cifar-colorize", "--data", "synthetic", "--synthetic-images", "16",
         "--batch-size", "4", "--steps", "2", "--run-dir", run_dir, "--sample-every", "0", "--threads", "1"])

    # 50 images: sub-folders two deep, sizes 32x32, 48x40 and 37x45 (not a multiple of 8),
    # colour and gray (the generator takes gray: colour inputs are converted).
    photos = os.path.join(work, "photos")
    rng = np.random.default_rng(29)
    sizes = [(32, 32), (48, 40), (37, 45)]
    for i in range(50):
        sub = ["", "day", "day/noon", "night"][i % 4]
        height, width = sizes[(i // 7) % 3]
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        picture = Image.fromarray(pixels) if i % 5 else Image.fromarray(pixels[:, :, 0])
        os.makedirs(os.path.join(photos, sub), exist_ok=True)
        picture.save(os.path.join(photos, sub, f"img_{i:03d}." + ("png" if i % 3 else "jpg")))
    expected = sorted(os.path.join(["", "day", "day/noon", "night"][i % 4], f"img_{i:03d}.png").lstrip("/")
                      for i in range(50))
    translate = [ARGS.translate, "--checkpoint", run_dir, "--input", photos, "--no-progress",
                 "--batch-size", "4"]

    one = os.path.join(work, "one")
    result = run(translate + ["--output", one])
    check(outputs(one) == expected, f"one process: outputs {outputs(one)[:6]}... expected {expected[:6]}...")
    check("50 written, 0 already done" in result.stderr, f"no count in the report:\n{result.stderr[-1500:]}")
    check("images/s" in result.stderr, f"no rate in the report:\n{result.stderr[-1500:]}")

    three = os.path.join(work, "three")
    result = mpirun(3, translate + ["--output", three])
    check(outputs(three) == expected, f"3 ranks: outputs differ in names: {outputs(three)[:6]}...")
    _, mismatch, errors = filecmp.cmpfiles(one, three, expected, shallow=False)
    check(not mismatch and not errors, f"3 ranks wrote other bytes than one process: {mismatch + errors}")
    check("50 written, 0 already done" in result.stderr, f"3 ranks: no total count:\n{result.stderr[-1500:]}")
    for name in expected:
        with Image.open(os.path.join(three, name)) as im:
            with Image.open(os.path.join(photos, name[:-4] + (".png" if os.path.exists(os.path.join(photos, name)) else ".jpg"))) as src:
                check(im.size == src.size, f"{name}: {im.size}, input {src.size}")

    # Killed midway: rank 1 SIGKILLs itself after writing its second image.
    killed = os.path.join(work, "killed")
    result = mpirun(3, translate + ["--output", killed], expect=None,
                    env={"CYCLEGAN_TEST_TRANSLATE_KILL": "1@2"})
    check(result.returncode != 0, "the killed run exited 0")
    done = outputs(killed)
    finished = [n for n in done if n.endswith(".png") and not os.path.basename(n).startswith(".")]
    check(0 < len(finished) < 50, f"the killed run wrote {len(finished)} of 50 outputs")
    for name in finished:
        check(filecmp.cmp(os.path.join(one, name), os.path.join(killed, name), shallow=False),
              f"{name} of the killed run is not complete")
    inodes = {n: os.stat(os.path.join(killed, n)).st_ino for n in finished}
    damaged = finished[0]
    with open(os.path.join(killed, damaged), "r+b") as f:
        f.truncate(os.path.getsize(os.path.join(killed, damaged)) - 10)
    result = mpirun(3, translate + ["--output", killed])
    missing = 50 - len(finished) + 1
    check(f"{missing} written, {len(finished) - 1} already done" in result.stderr,
          f"the rerun should write {missing} and skip {len(finished) - 1}:\n{result.stderr[-1500:]}")
    for name in finished:
        if name != damaged:
            check(os.stat(os.path.join(killed, name)).st_ino == inodes[name], f"{name} was written again")
    check(os.stat(os.path.join(killed, damaged)).st_ino != inodes[damaged], "the damaged output was not rewritten")
    _, mismatch, errors = filecmp.cmpfiles(one, killed, expected, shallow=False)
    check(not mismatch and not errors, f"after the rerun the outputs differ from one process: {mismatch + errors}")

    # An output folder inside the input is refused before any work.
    result = run(translate + ["--output", os.path.join(photos, "out")], expect=2)
    check("lies inside --input" in result.stderr, result.stderr[-1000:])
    check(not os.path.exists(os.path.join(photos, "out")), "the refused output folder was created")
    shutil.rmtree(work)
    print("translate across ranks: all checks passed")


if __name__ == "__main__":
    main()
