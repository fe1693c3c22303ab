#!/usr/bin/env python3
"""How a colorizer spreads its colour over the test photographs (issue 27).

Usage: colorfulness_spread.py RUN_DIR DATA_DIR [RUN_DIR DATA_DIR ...]
(with the project's Python: "$CYCLEGAN_VENV/bin/python", see scripts/env.sh; or through
bench/colorfulness_trajectory.sh, which runs it after each training run)

For each run it colorizes DATA_DIR's gray test split with `cyclegan_translate --keep-luma`
(the run's newest checkpoint) and prints the per-image colorfulness (Hasler and Suesstrunk's
M3 on 0-255 values, as src/eval/image_quality.cpp) of the colorizations and of the real
colour test photographs: the mean (what `--eval` reports), the 10/25/50/75/90th
percentiles, the share of nearly gray images (below 20) and the correlation between the
two over the paired test split (image i of test A is image i of test B in gray). A model
that paints every photograph with about the same amount of colour shows a narrow spread and
a low correlation, and its mean then depends on how many gray photographs the set holds.
Set CYCLEGAN_BUILD for another build folder than build/.
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from colorize_bound import load  # bench/: a domain's split as its manifest lists it

GRAY_BELOW = 20.0


def colorfulness(images):  # (N, H, W, 3) uint8 -> (N,) float64
    x = images.astype(np.float64)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    spread = np.sqrt(rg.var(axis=(1, 2)) + yb.var(axis=(1, 2)))
    shift = np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)
    return spread + 0.3 * shift


def real_test_b(data_dir):  # -> (N, H, W, 3) uint8, the shards the manifest lists
    return (load(data_dir, "B", "test") * 255).round().byte().permute(0, 2, 3, 1).numpy()


def colorized(run_dir, data_dir, out_dir):
    build = os.environ.get("CYCLEGAN_BUILD",
                           os.path.join(os.path.dirname(__file__), "..", "build"))
    done = subprocess.run([os.path.join(build, "cyclegan_translate"), "--checkpoint", run_dir,
                           "--input", data_dir, "--output", out_dir, "--keep-luma",
                           "--no-progress"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{run_dir}: cyclegan_translate failed:\n{done.stderr}")
    pngs = sorted(glob.glob(os.path.join(out_dir, "*.png")))
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in pngs])


def describe(name, c):
    pct = " ".join(f"{v:5.1f}" for v in np.percentile(c, [10, 25, 50, 75, 90]))
    gray = 100.0 * np.mean(c < GRAY_BELOW)
    return f"  {name:10s} mean {c.mean():5.1f}  p10-p90 {pct}  gray {gray:3.0f} %"


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        sys.exit(__doc__)
    for run_dir, data_dir in zip(argv[0::2], argv[1::2]):
        real = colorfulness(real_test_b(data_dir))
        with tempfile.TemporaryDirectory() as out_dir:
            ours = colorfulness(colorized(run_dir, data_dir, out_dir))
        if len(ours) != len(real):
            sys.exit(f"{run_dir}: {len(ours)} colorizations for {len(real)} test photographs")
        corr = np.corrcoef(ours, real)[0, 1]
        print(f"{run_dir} on {data_dir}:")
        print(f"  translated / real {ours.mean() / real.mean() - 1:+.0%}, per-image correlation"
              f" {corr:+.2f}")
        print(describe("translated", ours))
        print(describe("real", real))


if __name__ == "__main__":
    main(sys.argv[1:])
