#pragma once
// The checkerboard measure: how much a set of images peaks at the frequencies of a
// generator's upsampling period p, where the artefacts of strided transposed convolutions
// live (Odena, Dumoulin and Olah 2016), relative to real images.
//
// Per image: its luminance Y (BT.601 for colour, the channel itself for gray), cropped to
// H x W = the largest multiples of p from the top left, mean removed; its power spectrum
// P(u, v) = |DFT(Y)|^2 divided by its total over (u, v) != (0, 0) (so every image weighs
// the same). The period-p bins are b = (k H / p, l W / p) for k, l in [0, p), (0, 0)
// excluded. For a set S of images and each bin b:
//   E_S(b) = mean over S of P(b),   N_S(b) = mean over S of the mean of P at the 8 bins
//   around b (circularly; none of them a period bin since H, W >= 2p),
//   peak_S(b) = E_S(b) / N_S(b)     (about 1 where the spectrum is smooth, as in photographs)
// and the measure of translated images T against real images R of the target domain is
//   checkerboard(T, R) = mean over the p^2 - 1 bins b of peak_T(b) / peak_R(b),
// 1.0 for images like the real ones, far above 1 for a grid of period p, 2 or any divisor of
// p (a spike at its bins). Comparing each bin with its neighbours, not with the whole
// spectrum, keeps the lowest period frequencies (1/p cycles per pixel, where photographs
// hold much of their energy) from drowning the high ones (a period-2 grid is at 1/2).
#include <torch/torch.h>

#include <cstdint>

namespace cg::eval {

/// images: (N, C, H, W) float, C 1 or 3, H and W >= 2 * period, any value range; period
/// >= 2 -> (N, 2, period^2 - 1) float64 on the CPU: per image, P at each period bin (row 0)
/// and the mean of P at its 8 neighbours (row 1), P normalized as defined above (all 0 for a
/// constant image). Bins in row-major order of (k, l), (0, 0) left out. Sum it over the
/// images of a set (and across processes) to get E_S and N_S times the set's size.
torch::Tensor checkerboard_spectra(const torch::Tensor& images, int64_t period);

/// sums: (2, bins) float64, the spectra of a set summed over its images -> the mean over
/// the bins of peak_S(b) (NaN when a neighbourhood holds no energy: constant images).
double checkerboard_peak(const torch::Tensor& sums);

/// translated, real: (2, bins) sums of checkerboard_spectra over each set -> the measure
/// checkerboard(T, R) defined above (NaN when either set has no energy at some bin's
/// neighbourhood).
double checkerboard_measure(const torch::Tensor& translated, const torch::Tensor& real);

}  // namespace cg::eval
