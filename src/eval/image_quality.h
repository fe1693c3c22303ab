#pragma once
// Full-reference image quality (PSNR, SSIM, L1) and the no-reference colorfulness score,
// on batches of images in [0, 1]. Numbers follow the usual definitions so they compare with
// published ones: PSNR over one MSE of the whole set, SSIM as Wang et al. 2004 (skimage's
// structural_similarity with gaussian_weights=True, sigma 1.5, data_range 1), colorfulness
// as Hasler and Suesstrunk 2003 (M3, on 0-255 values).
#include <torch/torch.h>

namespace cg::eval {

/// got, want: (N, C, H, W) float in [0, 1], same shape -> 10 log10(1 / MSE) in dB, one MSE
/// over every pixel of every image (infinity when equal).
double psnr(const torch::Tensor& got, const torch::Tensor& want);

/// got, want: (N, C, H, W) float in [0, 1], H and W >= 11 -> mean SSIM over the positions
/// where the 11x11 Gaussian window (sigma 1.5) fits whole, the channels and the images;
/// K1 = 0.01, K2 = 0.03, population (not sample) covariances.
double ssim(const torch::Tensor& got, const torch::Tensor& want);

/// got, want: same shape, float in [0, 1] -> mean squared difference (psnr's MSE).
double mean_squared_error(const torch::Tensor& got, const torch::Tensor& want);

/// got, want: same shape, float in [0, 1] -> mean absolute difference.
double mean_abs_error(const torch::Tensor& got, const torch::Tensor& want);

/// rgb: (N, 3, H, W) float in [0, 1] -> mean over images of
/// sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2), rg = R - G,
/// yb = (R + G) / 2 - B on 0-255 values. 0 for gray images; about 20-60 for photographs.
double colorfulness(const torch::Tensor& rgb);

}  // namespace cg::eval
