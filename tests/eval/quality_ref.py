"""Independent numpy reference for src/eval/image_quality: PSNR, SSIM (Wang et al. 2004,
Gaussian 11x11 window, sigma 1.5, K1 0.01, K2 0.03, data range 1, valid positions only),
mean absolute error and colorfulness (Hasler and Suesstrunk 2003) of fixed seeded images.
Writes the images and the values with torch.save for the C++ test to load.

  python quality_ref.py OUT.pt
"""
import os
import sys

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view


def psnr(got, want):
    return 10 * np.log10(1.0 / np.mean((got - want) ** 2))


def ssim(got, want):
    x1 = np.arange(11) - 5.0
    g = np.exp(-x1 ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g)
    w /= w.sum()

    def local_mean(img):  # img (H, W) -> weighted mean of every whole 11x11 window
        windows = sliding_window_view(img, (11, 11))
        return np.einsum("ijkl,kl->ij", windows, w)

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    maps = []
    for n in range(got.shape[0]):
        for c in range(got.shape[1]):
            x, y = got[n, c], want[n, c]
            mx, my = local_mean(x), local_mean(y)
            vx = local_mean(x * x) - mx ** 2
            vy = local_mean(y * y) - my ** 2
            cxy = local_mean(x * y) - mx * my
            maps.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    return float(np.mean(maps))


def colorfulness(rgb):
    scores = []
    for image in rgb * 255.0:
        r, g, b = image[0].ravel(), image[1].ravel(), image[2].ravel()
        rg, yb = r - g, 0.5 * (r + g) - b
        scores.append(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
    return float(np.mean(scores))


def main():
    rng = np.random.default_rng(20261128)
    # Smooth "photographs" (low-frequency noise, upsampled) and a degraded copy of them.
    coarse = rng.random((3, 3, 6, 7))
    want = np.clip(np.kron(coarse, np.ones((5, 4))) + 0.05 * rng.standard_normal((3, 3, 30, 28)), 0, 1)
    got = np.clip(0.8 * want + 0.1 + 0.08 * rng.standard_normal(want.shape), 0, 1)
    gray = np.repeat(want.mean(axis=1, keepdims=True), 3, axis=1)
    values = {
        "got": torch.tensor(got),
        "want": torch.tensor(want),
        "gray": torch.tensor(gray),
        "psnr": torch.tensor(psnr(got, want), dtype=torch.float64),
        "ssim": torch.tensor(ssim(got, want), dtype=torch.float64),
        "ssim_gray": torch.tensor(ssim(gray, want), dtype=torch.float64),
        "mae": torch.tensor(float(np.mean(np.abs(got - want))), dtype=torch.float64),
        "colorfulness_want": torch.tensor(colorfulness(want), dtype=torch.float64),
        "colorfulness_got": torch.tensor(colorfulness(got), dtype=torch.float64),
    }
    os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
    torch.save(values, sys.argv[1])
    print({k: float(v) for k, v in values.items() if v.dim() == 0})


if __name__ == "__main__":
    main()
