#!/usr/bin/env python3
"""Images per second of `cyclegan_data folder` on a folder of photographs, for one or more
builds of the tool, in interleaved rounds (A B A B ...) so that drift in the machine's load
hits every build alike.

    bench/folder_bench.py [--images 300] [--rounds 3] [--threads 2] [--cpus 0,1] TOOL...

The folder is made once under --work (default /tmp/cyclegan_folder_bench): --images crops of
mate-backgrounds' nature photographs at 256..640 pixels a side (JPEG quality 90, every
tenth a PNG), half in trainA/ and half in trainB/, seeded. Each run converts it with
`--size 256` (training images stored at 286x286) pinned to --cpus; the time is the wall
time of the whole command, writing the HDF5 shards included. Prints the median and the
range of images/s for each TOOL.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

from PIL import Image

PHOTOS = "/usr/share/backgrounds/mate/nature"


def make_folder(root, count, seed):
    stamp = os.path.join(root, f".made_{count}_{seed}")
    if os.path.exists(stamp):
        return
    shutil.rmtree(root, ignore_errors=True)
    photos = [Image.open(os.path.join(PHOTOS, f)).convert("RGB")
              for f in sorted(os.listdir(PHOTOS)) if f.lower().endswith(".jpg")]
    rng = random.Random(seed)
    for i in range(count):
        split = "trainA" if i % 2 == 0 else "trainB"
        os.makedirs(os.path.join(root, split), exist_ok=True)
        photo = photos[rng.randrange(len(photos))]
        w, h = rng.randint(256, 640), rng.randint(256, 640)
        scale = rng.uniform(max(w / photo.width, h / photo.height), 1.0)
        crop_w, crop_h = int(w / scale), int(h / scale)
        x, y = rng.randint(0, photo.width - crop_w), rng.randint(0, photo.height - crop_h)
        image = photo.crop((x, y, x + crop_w, y + crop_h)).resize((w, h), Image.BICUBIC)
        name = os.path.join(root, split, f"{i:04d}")
        if i % 10 == 9:
            image.save(name + ".png")
        else:
            image.save(name + ".jpg", quality=90)
    open(stamp, "w").close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tools", nargs="+", help="cyclegan_data executables to compare")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cpus", default="0,1", help="taskset CPU list")
    parser.add_argument("--work", default="/tmp/cyclegan_folder_bench")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    folder = os.path.join(args.work, "photos")
    make_folder(folder, args.images, args.seed)
    rates = {tool: [] for tool in args.tools}
    for r in range(args.rounds):
        for tool in args.tools:
            out = os.path.join(args.work, "out")
            shutil.rmtree(out, ignore_errors=True)
            command = ["taskset", "-c", args.cpus, tool, "folder", "--input", folder, "--output", out,
                       "--size", "256", "--threads", str(args.threads), "--no-progress"]
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            rates[tool].append(args.images / seconds)
            print(f"round {r + 1} {tool}: {seconds:.2f} s, {rates[tool][-1]:.1f} images/s",
                  file=sys.stderr)
    shutil.rmtree(os.path.join(args.work, "out"), ignore_errors=True)
    for tool, values in rates.items():
        print(f"{tool}: median {statistics.median(values):.1f} images/s "
              f"(min {min(values):.1f}, max {max(values):.1f}, {len(values)} rounds, "
              f"{args.images} images, {args.threads} threads on CPUs {args.cpus})")


if __name__ == "__main__":
    main()
