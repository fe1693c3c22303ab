#!/usr/bin/env python3
"""Prints one row of the demo-quality table from a cyclegan_translate --eval report.

Usage: demo_quality.py REPORT.json TRANSLATED_PNG_DIR DATA_DIR LABEL WALL_SECONDS

Besides the report's numbers it computes the checkerboard measure of eval/checkerboard.h at
period 2 (the stride of the generator's last upsampling: the finest grid, the one a person
sees) from the translated PNGs and the real test B images, because at the generator's
period (8 for the seed U-Net) the measure's bins on 32x32 images include the lowest
frequencies, where photographs keep most of their energy, and a visible grid moves it little.
"""
import glob
import json
import sys

import h5py
import numpy as np
from PIL import Image


def luma(images):  # (N, H, W, C) uint8 -> (N, H, W) float64
    x = images.astype(np.float64) / 255.0
    if x.shape[-1] == 1:
        return x[..., 0]
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def fractions(images, period):
    y = luma(images)
    h, w = (y.shape[1] // period) * period, (y.shape[2] // period) * period
    y = y[:, :h, :w]
    y = y - y.mean(axis=(1, 2), keepdims=True)
    p = np.abs(np.fft.fft2(y)) ** 2
    total = p.sum(axis=(1, 2)) - p[:, 0, 0]
    bins = p[:, :: h // period, :: w // period].sum(axis=(1, 2)) - p[:, 0, 0]
    return np.where(total > 0, bins / np.maximum(total, 1e-30), 0.0)


def main():
    report_path, png_dir, data_dir, label, wall = sys.argv[1:6]
    r = json.load(open(report_path))
    real = h5py.File(glob.glob(f"{data_dir}/test_B_*.h5")[0], "r")["images"][()]
    pngs = sorted(glob.glob(f"{png_dir}/*.png"))
    translated = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in pngs])
    c2 = fractions(translated, 2).mean() / fractions(real, 2).mean()
    fid = r.get("fid")
    na = {"fid": float("nan"), "kid": float("nan")}
    if fid is None:  # --fid-images 0
        fid = {"AtoB": na, "baseline_AtoB": na, "floor_B": na}
    row = [
        label,
        str(r["step"]),
        f"{float(wall):.0f}",
        f"{r['checkerboard']['AtoB']['translated']:.2f}",
        f"{c2:.2f}",
        f"{fid['AtoB']['fid']:.0f} / {fid['baseline_AtoB']['fid']:.0f} / {fid['floor_B']['fid']:.0f}",
        f"{fid['AtoB']['kid']:.3f} / {fid['baseline_AtoB']['kid']:.3f}",
        f"{r['colorfulness_translated']:.0f} / {r['colorfulness_real']:.0f}"
        f" ({100 * (r['colorfulness_translated'] / r['colorfulness_real'] - 1):+.0f}%)",
        f"{r['translation_psnr_db']:.1f} / {r['colorized_psnr_db']:.1f} / {r['baseline_psnr_db']:.1f}",
    ]
    print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
